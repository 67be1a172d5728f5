"""Invoices, receipts and credit notes as pages and PDFs (DOC-1, DOC-3), the operators'
console (filters, a period's zip, credit notes, manual payments), pay now and the
past-due banner."""
import datetime as dt
import io
import re
import zipfile

import pytest
from pypdf import PdfReader

from portal.models import Account, CreditNote, Invoice, Receipt
from support.billing import (DEC1, account, add_card, cards_for_demo, invoices_of, lines_of,
                             pdf_text, run, usd)

D = dt.date


@pytest.fixture
def billed(app):
    """The demo billed on 1 December 2026 (every account with a fake card)."""
    with app.app_context():
        cards_for_demo()
        run(app, DEC1)
    return app


def northwind_invoice(app):
    """Northwind's first invoice (its location plan)."""
    with app.app_context():
        return invoices_of(account("Northwind Retail"))[0]


def assert_pdf_matches(text, invoice, lines):
    """DOC-3: every number, line and amount printed equals the stored one."""
    assert invoice.number in text
    for line in lines:
        assert line.description in text
        row = f"{line.quantity} × {usd(line.unit_price)} {usd(line.amount)}"  # one row
        assert row in text, row
    assert f"Total {usd(invoice.total)}" in text
    amounts = re.findall(r"-?\$[\d,]+\.\d\d", text)
    stored = {usd(x.amount) for x in lines} | {usd(x.unit_price) for x in lines} | {
        usd(invoice.total)}
    return set(amounts) - stored  # amounts printed that are not an invoice figure


def test_doc1_admin_lists_invoices_and_downloads_each_pdf_at_once(billed, client, auth):
    auth.login(as_="admin@northwind.example")
    page = client.get("/admin/invoices")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with billed.app_context():
        mine = invoices_of(account("Northwind Retail"))
        theirs = invoices_of(account("Corner Bakeries"))
        lines = {i.id: lines_of(i) for i in mine}
        receipts = {i.id: Receipt.get(Receipt.invoice == i.id) for i in mine}
    assert 'href="/admin/invoices" class="active"' in html  # the Invoices tab
    for invoice in mine:
        assert f'data-invoice="{invoice.number}"' in html
        response = client.get(f"/documents/invoice/{invoice.id}.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert f'filename="{invoice.number}.pdf"' in response.headers["Content-Disposition"]
        assert assert_pdf_matches(pdf_text(response.data), invoice, lines[invoice.id]) == set()
        receipt = receipts[invoice.id]
        text = pdf_text(client.get(f"/documents/receipt/{receipt.id}.pdf").data)
        assert receipt.number in text and f"Paid in full: {usd(receipt.amount)}" in text
        assert f"For invoice {invoice.number}" in text and f"total {usd(invoice.total)}" in text
        assert receipt.method in text and receipt.reference in text
        printed = set(re.findall(r"-?\$[\d,]+\.\d\d", text))
        assert printed == {usd(receipt.amount), usd(invoice.total)}  # DOC-3: stored amounts
    for invoice in theirs:
        assert invoice.number not in html
        # Another account's document: 404, as if it did not exist.
        assert client.get(f"/documents/invoice/{invoice.id}.pdf").status_code == 404


def test_members_and_strangers_cannot_download(billed, client, auth):
    invoice = northwind_invoice(billed)
    assert client.get(f"/documents/invoice/{invoice.id}.pdf").status_code == 302  # to login
    auth.login(as_="member@northwind.example")
    assert client.get(f"/documents/invoice/{invoice.id}.pdf").status_code == 403
    assert client.get("/admin/invoices").status_code == 403
    assert client.get("/operator/documents").status_code == 403
    assert client.get("/documents/invoice/99999.pdf").status_code == 404


def test_pdfs_carry_the_deployment_branding(make_app, tmp_path, auth_for):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (160, 40), (36, 87, 197)).save(logo)
    app = make_app(PRODUCT_NAME="Acme Analytics", BILLING_ADDRESS="Acme Ltd\\n9 Ledger Lane",
                   LOGO_PATH=str(logo))
    with app.app_context():
        cards_for_demo()
        run(app, DEC1)
        invoice = invoices_of(account("Corner Bakeries"))[0]
    client = app.test_client()
    auth_for(client).login(as_="operator@example.com")
    data = client.get(f"/documents/invoice/{invoice.id}.pdf").data
    text = pdf_text(data)
    assert "Acme Ltd" in text and "9 Ledger Lane" in text
    assert "success@portal.test" in text  # the support address
    images = PdfReader(io.BytesIO(data)).pages[0].images
    assert [image.image.size for image in images] == [(160, 40)]  # the logo is drawn
    assert "Corner Bakeries SARL" in text  # the customer's billing address


def operator(client, auth):
    auth.login(as_="operator@example.com")
    return client


def test_operator_filters_by_account_period_and_status(billed, client, auth):
    operator(client, auth)
    with billed.app_context():
        corner = account("Corner Bakeries")
        run(billed, D(2027, 1, 1))
        all_numbers = [i.number for i in Invoice.select()]
        corner_numbers = [i.number for i in invoices_of(corner)]
        december = [i.number for i in Invoice.select().where(Invoice.issued_on == DEC1)]
    html = client.get("/operator/documents").get_data(as_text=True)
    assert all(f'data-invoice="{n}"' in html for n in all_numbers)
    html = client.get(f"/operator/documents?account={corner.id}").get_data(as_text=True)
    assert sorted(re.findall(r'data-invoice="([^"]+)"', html)) == sorted(corner_numbers)
    html = client.get("/operator/documents?period=2026-12").get_data(as_text=True)
    assert sorted(re.findall(r'data-invoice="([^"]+)"', html)) == sorted(december)
    html = client.get("/operator/documents?status=held").get_data(as_text=True)
    assert "data-invoice=" not in html and "No invoice matches" in html
    # htmx gets the table alone; a bad period is refused next to its field.
    partial = client.get("/operator/documents?period=2026-12", headers={"HX-Request": "true"})
    assert partial.get_data(as_text=True).lstrip().startswith('<div id="documents-table">')
    bad = client.get("/operator/documents?period=12-2026")
    assert bad.status_code == 400
    assert 'id="period-error"' in bad.get_data(as_text=True)


def test_operator_downloads_a_periods_documents_as_one_zip(billed, client, auth):
    operator(client, auth)
    with billed.app_context():
        december = {i.number: i for i in Invoice.select().where(Invoice.issued_on == DEC1)}
        receipts = {r.number for r in Receipt.select()}
        lines = {i.number: lines_of(i) for i in december.values()}
    response = client.get("/operator/documents.zip?period=2026-12")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "private, no-store"  # issue #13 item 15
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert names == ({f"invoices/{n}.pdf" for n in december}
                     | {f"receipts/{n}.pdf" for n in receipts})
    for number, invoice in december.items():
        text = pdf_text(archive.read(f"invoices/{number}.pdf"))
        assert assert_pdf_matches(text, invoice, lines[number]) == set()
    # No period: refused with a message, back to the list.
    refused = client.get("/operator/documents.zip", follow_redirects=True)
    assert "Choose a period" in refused.get_data(as_text=True)
    empty = client.get("/operator/documents.zip?period=2030-01", follow_redirects=True)
    assert "No document in 2030-01" in empty.get_data(as_text=True)


def test_operator_issues_a_credit_note_on_a_paid_invoice(billed, client, auth):
    operator(client, auth)
    invoice = northwind_invoice(billed)
    url = f"/operator/invoices/{invoice.id}"
    page = client.get(url).get_data(as_text=True)
    assert invoice.number in page and "Issue a credit note" in page
    token = auth.csrf_token(url)
    for data, message in (({"amount": "0", "reason": "x"}, "More than zero"),
                          ({"amount": "abc", "reason": "x"}, "Not a valid decimal"),
                          ({"amount": "10.00", "reason": ""}, "Say why"),
                          ({"amount": str(invoice.total + 1), "reason": "x"}, "At most")):
        response = client.post(f"{url}/credit-notes", data={**data, "csrf_token": token})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True), message
    with billed.app_context():
        assert CreditNote.select().count() == 0
    assert client.post(f"{url}/credit-notes", data={"amount": "10.00",
                                                    "reason": "x"}).status_code == 400  # CSRF
    response = client.post(f"{url}/credit-notes", data={
        "amount": "43.00", "reason": "Shop closed for works", "csrf_token": token},
        follow_redirects=True)
    assert "Credit note CN-000001 issued" in response.get_data(as_text=True)
    with billed.app_context():
        note = CreditNote.get()
        assert str(note.amount) == "43.00"
        assert Invoice.get_by_id(invoice.id).total == invoice.total  # the invoice never changes
    text = pdf_text(client.get(f"/documents/credit_note/{note.id}.pdf").data)
    assert "CN-000001" in text and invoice.number in text and "Shop closed for works" in text
    assert f"-{usd(note.amount)}" in text and usd(invoice.total) in text
    # On a paid invoice the credit goes onto the next one.
    with billed.app_context():
        run(billed, D(2027, 1, 1))
        january = [i for i in invoices_of(account("Northwind Retail"))
                   if i.subscription_id == invoice.subscription_id][-1]
        credit = [x for x in lines_of(january) if x.kind == "credit"]
        assert [x.amount for x in credit] == [-note.amount]
        assert january.total == invoice.total - note.amount


def test_credit_note_in_full_on_an_unpaid_invoice_ends_its_dunning(app, client, auth):
    with app.app_context():
        run(app, DEC1)  # no cards: every invoice goes into dunning
        corner = account("Corner Bakeries")
        [invoice] = invoices_of(corner)
        Account.update(status="past_due").where(Account.id == corner.id).execute()
        Invoice.update(next_attempt_on=None).where(Invoice.id == invoice.id).execute()
    operator(client, auth)
    url = f"/operator/invoices/{invoice.id}"
    token = auth.csrf_token(url)
    client.post(f"{url}/credit-notes", data={"amount": str(invoice.total), "reason": "Waived",
                                             "csrf_token": token})
    with app.app_context():
        assert Invoice.get_by_id(invoice.id).status == "credited"
        assert Account.get_by_id(corner.id).status == "active"


@pytest.mark.parametrize("amount, issued", [("0.01", True), ("0.00", False), ("0", False),
                                             ("-0.01", False)])
def test_credit_note_of_one_cent_is_accepted_zero_refused(billed, client, auth, amount, issued):
    # Issue #13 item 8: the lower bound was the float 0.01, and Decimal("0.01") < 0.01.
    invoice = northwind_invoice(billed)
    operator(client, auth)
    url = f"/operator/invoices/{invoice.id}"
    response = client.post(f"{url}/credit-notes", data={
        "amount": amount, "reason": "Rounding", "csrf_token": auth.csrf_token(url)})
    with billed.app_context():
        notes = [str(n.amount) for n in CreditNote.select()]
    if issued:
        assert response.status_code == 302 and notes == ["0.01"]
    else:
        assert response.status_code == 400 and notes == []
        assert "More than zero, please." in response.get_data(as_text=True)


def test_operator_marks_a_transfer_paid(app, client, auth):
    with app.app_context():
        corner = account("Corner Bakeries")
        add_card(corner, gateway="manual", token="manual-1", brand="", last4="")
        run(app, DEC1)
        [invoice] = invoices_of(corner)
    operator(client, auth)
    url = f"/operator/invoices/{invoice.id}"
    token = auth.csrf_token(url)
    missing = client.post(f"{url}/mark-paid", data={"reference": "", "csrf_token": token})
    assert missing.status_code == 400 and "Give the reference" in missing.get_data(as_text=True)
    done = client.post(f"{url}/mark-paid", data={"reference": "SEPA 123", "csrf_token": token},
                       follow_redirects=True)
    assert "receipt RCT-000001 issued" in done.get_data(as_text=True)
    with app.app_context():
        receipt = Receipt.get(Receipt.invoice == invoice.id)
        assert receipt.amount == invoice.total and receipt.reference == "SEPA 123"
    again = client.post(f"{url}/mark-paid", data={"reference": "SEPA 123", "csrf_token": token})
    assert again.status_code == 400 and "nothing left to collect" in again.get_data(as_text=True)


def make_past_due(app, name="Corner Bakeries"):
    with app.app_context():
        acct = account(name)
        run(app, DEC1)  # no card: payment failed
        for day in (D(2026, 12, 4), D(2026, 12, 9), D(2026, 12, 16)):
            run(app, day)
        assert Account.get_by_id(acct.id).status == "past_due"
        return acct


def test_past_due_banner_update_card_and_pay_now(app, client, auth):
    corner = make_past_due(app)
    auth.login(as_="admin@corner.example")
    page = client.get("/subscription/").get_data(as_text=True)
    assert 'data-testid="past-due-banner"' in page
    assert "Update card" in page and 'href="/admin/cards/"' in page and "Pay now" in page
    # Past-due admins keep their invoices and their cards.
    assert client.get("/admin/invoices").status_code == 200
    assert client.get("/admin/cards/").status_code == 200
    with app.app_context():
        [invoice] = invoices_of(corner)
        assert client.get(f"/documents/invoice/{invoice.id}.pdf").status_code == 200
        add_card(corner)
    # The invoices page offers one Pay (the one that says the amount and the card), not
    # the banner's too.
    invoices_page = client.get("/admin/invoices").get_data(as_text=True)
    assert 'data-testid="past-due-banner"' in invoices_page
    assert invoices_page.count('action="/admin/invoices/pay"') == 1
    token = auth.csrf_token("/admin/invoices")
    assert client.post("/admin/invoices/pay").status_code == 400  # CSRF
    response = client.post("/admin/invoices/pay", data={"csrf_token": token},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Thank you: 1 invoice paid. Your receipt is below." in html
    assert 'data-testid="past-due-banner"' not in html
    # A second press (double submit) charges nothing more.
    again = client.post("/admin/invoices/pay", data={"csrf_token": token}, follow_redirects=True)
    assert "Nothing to pay now" in again.get_data(as_text=True)
    with app.app_context():
        assert Account.get_by_id(corner.id).status == "active"
        [charge] = [c for c in Invoice.get_by_id(invoice.id).charges]
        assert charge.status == "approved"


def test_invoices_page_says_what_pay_now_charges_and_to_which_card(app, client, auth):
    """Issue #17: the amount due and the card before the button; without a usable card,
    a way to add one (back to the invoices) instead of a Pay now that cannot work."""
    corner = make_past_due(app)
    auth.login(as_="admin@corner.example")
    page = client.get("/admin/invoices").get_data(as_text=True)
    alert = re.search(r'data-testid="unpaid"(.*?)</div>', page, re.S).group(1)
    with app.app_context():
        [invoice] = invoices_of(corner)
        due = f"${invoice.total:,.2f}"
    assert "1 invoice is not paid yet." in alert and f"{due} is due" in alert
    assert 'data-action="pay-now"' not in alert
    assert 'href="/admin/cards/new?next=/admin/invoices"' in alert
    assert 'href="#pay" data-action="pay-link"' in page
    with app.app_context():
        add_card(corner)
    page = client.get("/admin/invoices").get_data(as_text=True)
    alert = re.search(r'data-testid="unpaid"(.*?)</div>', page, re.S).group(1)
    assert f"Pay now charges {due} to Visa" in alert and f"Pay {due} now" in alert


def test_members_see_the_banner_without_the_buttons(app, client, auth):
    make_past_due(app, "Northwind Retail")
    auth.login(as_="member@northwind.example")
    page = client.get("/subscription/").get_data(as_text=True)
    assert 'data-testid="past-due-banner"' in page and "ask an admin" in page
    assert "Pay now" not in page
    assert client.post("/admin/invoices/pay",
                       data={"csrf_token": auth.csrf_token("/subscription/")}).status_code == 403


def test_billing_run_command(runner, app):
    with app.app_context():
        cards_for_demo()
    result = runner.invoke(args=["billing", "run", "--date", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "Billing run for 2026-12-01: 3 invoice(s) issued; 3 paid" in result.output
    again = runner.invoke(args=["billing", "run", "--date", "2026-12-01"])
    assert "0 invoice(s) issued" in again.output
    bad = runner.invoke(args=["billing", "run", "--date", "1 Dec"])
    assert bad.exit_code == 2 and "'1 Dec' does not match the format" in bad.output


def test_daily_huey_task_runs_the_billing_run(app):
    from portal import jobs

    with app.app_context():
        cards_for_demo()
        summary = jobs.daily_billing_run.call_local()
    assert summary.startswith(f"Billing run for {dt.date.today().isoformat()}")
    # Once a day, at 02:05 (huey's scheduler asks the task whether it is due).
    task = jobs.daily_billing_run.s()
    assert task.validate_datetime(dt.datetime(2026, 12, 1, 2, 5))
    assert not task.validate_datetime(dt.datetime(2026, 12, 1, 3, 5))
