"""Quotes (rules CHG-2, DOC-2, DOC-3): numbered, valid until a date, a real PDF whose every
amount equals the stored quote, Accept while valid and unchanged, never changed after."""
import datetime as dt
import io
import re
from decimal import Decimal

import peewee as pw
import pytest
from pypdf import PdfReader

from portal.catalogue import Prices, add_price_version
from portal.models import (ChangeOrder, Delivery, ImmutableQuote, PendingChange, Plan, Quote,
                           QuoteLine, Subscription)
from support.changes import (ATELIER, DEMO_TODAY, NORTHWIND, Wizard, add_card, charges_for, csrf,
                             subscription_of)

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)  # the wizard prices as of the demo day

AMOUNT = re.compile(r"\$[\d,]+\.\d\d")


@pytest.fixture
def wizard(client):
    return Wizard(client)


def quote_for(client, auth, app, wizard, who=ATELIER, account="Atelier Space",
              plan="business", reason="", **values):
    """Walk the wizard to a review and press Get a quote; return (quote id, response)."""
    with app.app_context():
        sid = subscription_of(account, plan).id
    auth.login(as_=who)
    form = wizard.review_form(wizard.to_review(sid, reason=reason, **values))
    response = wizard.quote(sid, form)
    with app.app_context():
        return Quote.select().order_by(Quote.id.desc()).first().id, response, form, sid


def upgrade_quote(client, auth, app, wizard):
    return quote_for(client, auth, app, wizard, plan="business", interval="annual",
                     quantity=7, addon_quantity=3)


def pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_doc2_get_a_quote_is_numbered_valid_until_and_issued_once(client, auth, app, wizard):
    qid, response, form, sid = upgrade_quote(client, auth, app, wizard)
    assert response.status_code == 303 and f"#quote-{qid}" in response.headers["Location"]
    again = wizard.quote(sid, form)  # the double-click
    assert again.status_code == 303
    with app.app_context():
        assert Quote.select().count() == 1
        quote = Quote.get_by_id(qid)
        assert re.fullmatch(r"Q-2026-\d{5}", quote.number)
        assert quote.created_on == dt.date(2026, 11, 23)
        assert quote.valid_until == dt.date(2026, 12, 23)  # 30 days, inside the year
        assert quote.recurring_after == Decimal("3888.00")  # 7 x 486 + 3 x 162
        # (3888 - 2754) x 343 / 365 days left = 1065.649..., half-up to the cent
        assert quote.due_now == Decimal(form["due_now"]) == Decimal("1065.65")
        lines = list(quote.lines.order_by(QuoteLine.position))
        assert [(ln.quantity, ln.unit_price, ln.amount) for ln in lines] == [
            (7, Decimal("486.00"), Decimal("3402.00")), (3, Decimal("162.00"), Decimal("486.00"))]
        assert sum(ln.amount for ln in lines) == quote.recurring_after
        assert Delivery.select().where(Delivery.kind == "quote_ready").count() >= 1
    page = client.get("/admin/subscription/quotes").get_data(as_text=True)
    assert f'data-quote="{quote.number}"' in page and 'data-status="open"' in page
    assert "Accept" in page and f"/admin/subscription/quotes/{qid}.pdf" in page


def test_doc3_every_amount_on_the_quote_pdf_equals_the_stored_quote(client, auth, app, wizard):
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    text = pdf_text(client.get(f"/admin/subscription/quotes/{qid}.pdf"))
    with app.app_context():
        quote = Quote.get_by_id(qid)
        stored = [quote.recurring_before, quote.recurring_after, quote.due_now]
        for line in quote.lines:
            stored += [line.unit_price, line.amount]
            assert line.description in text
        number, valid_until = quote.number, quote.valid_until
    printed = {Decimal(a[1:].replace(",", "")) for a in AMOUNT.findall(text)}
    assert printed == set(stored)
    for amount in stored:
        assert f"${amount:,.2f}" in text
    assert number in text and valid_until.strftime("%b %-d, %Y") in text
    assert "Atelier Architects" in text and "343 of 365 days" in text  # its legal name (BIL-1)


def test_operator_downloads_any_quote_pdf_others_cannot(client, auth, app, wizard):
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    auth.logout()
    auth.login(as_="operator@example.com")
    pdf = client.get(f"/admin/subscription/quotes/{qid}.pdf")
    assert pdf.status_code == 200 and pdf.headers["Cache-Control"] == "private, no-store"
    auth.logout()
    auth.login(as_=NORTHWIND)  # another account's admin
    assert client.get(f"/admin/subscription/quotes/{qid}.pdf").status_code == 404
    assert client.post(f"/admin/subscription/quotes/{qid}/accept",
                       data={"csrf_token": csrf(client)}).status_code == 404
    auth.logout()
    auth.login(as_="ben@atelier.example")  # a member of the same account
    assert client.get(f"/admin/subscription/quotes/{qid}.pdf").status_code == 403
    auth.logout()
    assert client.get(f"/admin/subscription/quotes/{qid}.pdf").status_code == 302
    assert client.get("/admin/subscription/quotes/999999.pdf").status_code == 302


def test_chg2_accepting_places_the_quoted_order_once(client, auth, app, wizard):
    with app.app_context():
        add_card("Atelier Space")
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    accept = f"/admin/subscription/quotes/{qid}/accept"
    response = client.post(accept, data={"csrf_token": csrf(client)})
    assert response.status_code == 303 and "/orders/" in response.headers["Location"]
    again = client.post(accept, data={"csrf_token": csrf(client)})
    assert again.headers["Location"] == response.headers["Location"]
    with app.app_context():
        quote = Quote.get_by_id(qid)
        order = ChangeOrder.get()
        assert quote.accepted_at is not None and order.quote_id == qid
        assert ChangeOrder.select().count() == 1 and order.status == "placed"
        assert order.due_now == quote.due_now
        assert [c.amount for c in charges_for(order.charge_key)] == [quote.due_now]
        sub = subscription_of("Atelier Space", "business")
        assert (sub.quantity, sub.addon_quantity) == (7, 3)
    page = client.get("/admin/subscription/quotes").get_data(as_text=True)
    assert 'data-status="accepted"' in page
    text = pdf_text(client.get(f"/admin/subscription/quotes/{qid}.pdf"))
    assert "Accepted on" in text


def test_chg4_accepting_a_downgrade_quote_reduces_seats_then(client, auth, app, wizard):
    qid, *_ = quote_for(client, auth, app, wizard, reason="price", plan="business",
                        interval="annual", quantity=4, addon_quantity=2)
    with app.app_context():
        assert subscription_of("Atelier Space", "business").quantity == 5
        assert Quote.get_by_id(qid).survey_id is not None
    client.post(f"/admin/subscription/quotes/{qid}/accept", data={"csrf_token": csrf(client)})
    with app.app_context():
        assert subscription_of("Atelier Space", "business").quantity == 4
        assert ChangeOrder.get().survey_id == Quote.get_by_id(qid).survey_id


def refused(client, app, qid):
    """Accept ``qid``, expecting a 409 refusal that writes nothing; the page's text."""
    with app.app_context():
        before = (ChangeOrder.select().count(), PendingChange.select().count())
    response = client.post(f"/admin/subscription/quotes/{qid}/accept",
                           data={"csrf_token": csrf(client)})
    with app.app_context():
        after = (ChangeOrder.select().count(), PendingChange.select().count())
        assert Quote.get_by_id(qid).accepted_at is None
    assert response.status_code == 409 and after == before
    return response.get_data(as_text=True)


def test_expired_quote_is_refused_with_the_reason(client, auth, app, wizard):
    with app.app_context():
        add_card("Atelier Space")
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    app.config["TODAY"] = dt.date(2026, 12, 24)  # the day after "valid until"
    page = refused(client, app, qid)
    assert "expired on Dec 23, 2026" in page
    assert 'data-status="expired"' in page


def test_quote_refused_when_the_subscription_changed_since(client, auth, app, wizard):
    with app.app_context():
        add_card("Atelier Space")
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    with app.app_context():
        Subscription.update(quantity=6).where(
            Subscription.id == subscription_of("Atelier Space", "business").id).execute()
    page = refused(client, app, qid)
    assert "changed since quote" in page and 'data-status="changed"' in page


def test_quote_refused_when_prices_changed_since(client, auth, app, wizard):
    with app.app_context():
        add_card("Atelier Space")
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    with app.app_context():
        business = Plan.get(Plan.code == "business")  # CAT-2: a new price version
        add_price_version(business, Prices("USD", Decimal("45.00"), Decimal("500.00"),
                                           Decimal("15.00"), Decimal("162.00")),
                          existing_from=None)
    assert "changed since quote" in refused(client, app, qid)


def test_declined_acceptance_leaves_the_quote_open(client, auth, app, wizard):
    with app.app_context():
        add_card("Atelier Space")
    # 5 more Business users for 343/365 of the year: $2,283.53, in the fake's decline band
    qid, *_ = quote_for(client, auth, app, wizard, plan="business", interval="annual",
                        quantity=10, addon_quantity=2)
    response = client.post(f"/admin/subscription/quotes/{qid}/accept",
                           data={"csrf_token": csrf(client)}, follow_redirects=True)
    assert 'data-status="declined"' in response.get_data(as_text=True)
    with app.app_context():
        assert Quote.get_by_id(qid).accepted_at is None
        assert subscription_of("Atelier Space", "business").quantity == 5
    client.post(f"/admin/subscription/quotes/{qid}/accept", data={"csrf_token": csrf(client)})
    with app.app_context():  # a second attempt is a new order, declined again
        review_key = Quote.get_by_id(qid).review_key
        assert [o.review_key for o in ChangeOrder.select().order_by(ChangeOrder.id)] == [
            f"quote-{qid}-1-{review_key}", f"quote-{qid}-2-{review_key}"]


def test_doc2_accepted_quote_never_changes(client, auth, app, wizard):
    with app.app_context():
        add_card("Atelier Space")
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    client.post(f"/admin/subscription/quotes/{qid}/accept", data={"csrf_token": csrf(client)})
    with app.app_context():
        quote = Quote.get_by_id(qid)
        line = quote.lines.first()
        quote.due_now = Decimal("1.00")
        with pytest.raises(ImmutableQuote):
            quote.save()
        with pytest.raises(ImmutableQuote):
            line.save()
        with pytest.raises(ImmutableQuote):
            quote.delete_instance()
        # and below the model, in the database itself
        for query in (Quote.update(due_now=Decimal("1.00")).where(Quote.id == qid),
                      QuoteLine.update(amount=Decimal("1.00")).where(QuoteLine.quote == qid),
                      QuoteLine.delete().where(QuoteLine.quote == qid),
                      Quote.delete().where(Quote.id == qid)):
            with pytest.raises(pw.DatabaseError):
                query.execute()
        with pytest.raises(pw.DatabaseError):
            QuoteLine.insert(quote=qid, position=9, description="x", quantity=1,
                             unit_price=Decimal("1.00"), amount=Decimal("1.00")).execute()
        again = Quote.get_by_id(qid)
        assert again.due_now != Decimal("1.00") and again.lines.count() == 2


def test_an_open_quote_may_still_be_tidied(app_ctx):
    """Only acceptance freezes a quote: an open one is an ordinary row."""
    sub = subscription_of("Atelier Space", "business")
    quote = Quote.create(account=sub.account_id, subscription=sub, number="Q-T", review_key="t",
                         account_name="A", change="upgrade", plan=sub.plan_id,
                         interval="annual", quantity=6, recurring_before=Decimal("1"),
                         recurring_after=Decimal("2"), effective_on=dt.date(2026, 11, 23),
                         created_on=dt.date(2026, 11, 23), valid_until=dt.date(2026, 12, 1),
                         fingerprint="x")
    quote.valid_until = dt.date(2026, 11, 30)
    quote.save()
    assert quote.delete_instance() == 1


def test_another_accounts_or_unknown_quote_is_404(client, auth, app, wizard):
    qid, *_ = upgrade_quote(client, auth, app, wizard)
    auth.logout()
    auth.login(as_=NORTHWIND)
    page = client.get("/admin/subscription/quotes").get_data(as_text=True)
    assert "Q-2026" not in page
    for path in (f"/quotes/{qid}/accept", "/quotes/999999/accept"):
        assert client.post("/admin/subscription" + path,
                           data={"csrf_token": csrf(client)}).status_code == 404
