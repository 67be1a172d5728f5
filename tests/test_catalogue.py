"""The plan catalogue (rules CAT-1..CAT-3, ONB-1): a currency per account, prices per
currency and versioned, retired plans, and the catalogue as a file (apply, dry run,
export). The billing run, the estimates (SUB-4), the pages and the PDFs read the same
price version."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from portal import demo
from portal.accounts import passwords
from portal.billing import pricing, renewals
from portal.billing.catalogue import latest_price
from portal.catalogue import CatalogueError, Prices, files, retire, start_subscription
from portal.models import (Account, AuditEvent, Membership, Plan, PriceVersion, Subscription,
                           User)
from support.billing import (DEC1, account, add_card, invoices_of, lines_of, pdf_text, run,
                             sub_of)
from support.database import DEMO_TODAY

D = dt.date
JAN1, FEB1 = D(2027, 1, 1), D(2027, 2, 1)


def eur_account(name="Boulangerie Euro", email="admin@euro.example", language="en"):
    """An account billed in euros with an admin (the demo password) and a card, on the team
    plan since 1 November, so its next payment is 1 December."""
    acct = Account.create(name=name, address_line1="1 rue du Pain", city="Paris",
                          currency="EUR", language=language)
    user = User(email=email, name="Eva")
    passwords.set_password(user, demo.PASSWORD)
    user.save()
    Membership.create(user=user, account=acct, role="admin")
    add_card(acct)
    sub = start_subscription(acct, Plan.get(Plan.code == "team"), interval="monthly",
                             quantity=user_count(acct), start=D(2026, 11, 1))
    return acct, sub


def user_count(acct) -> int:
    return Membership.select().where(Membership.account == acct.id, Membership.active).count()


def estimate(sub) -> renewals.NextCharge:
    """What the pages and the API say the next payment date bills (rule SUB-4)."""
    sub = Subscription.get_by_id(sub.id)
    usage = pricing.account_usage(sub.account_id)
    return renewals.next_charges([sub], usage)[sub.id]


def change_price(code, currency, monthly, **rule):
    """Apply the demo catalogue with one plan's monthly price changed, ``rule`` saying how
    it reaches existing subscriptions (existing_from / notice_days / grandfathered)."""
    text = demo.CATALOGUE.read_text(encoding="utf-8")
    marker = f'code = "{code}"'
    head, tail = text.split(marker, 1)
    block = f"[plans.prices.{currency}]\n"
    before, after = tail.split(block, 1)
    old_line = after.split("\n", 1)[0]
    extra = "".join(f"{k} = {v}\n" for k, v in rule.items())
    after = after.replace(old_line, f'monthly = "{monthly}"\n{extra}'.rstrip("\n"), 1)
    return files.apply(files.parse(head + marker + before + block + after, today=DEMO_TODAY))


# --- CAT-1: an account bills in its currency ---------------------------------------------

def test_cat1_eur_account_is_priced_billed_and_shown_in_euros(app, client, auth):
    with app.app_context():
        acct, sub = eur_account()
        assert sub.price_version.currency == "EUR" and sub.price_version.monthly_price == \
            Decimal("23.00")
        assert estimate(sub).total == Decimal("23.00") and estimate(sub).currency == "EUR"
        run(app, DEC1)
        [invoice] = invoices_of(acct)
        [line] = lines_of(invoice)
        assert invoice.currency == "EUR" and line.unit_price == Decimal("23.00")
        invoice_id = invoice.id
    auth.login(as_="admin@euro.example")
    page = client.get("/subscription/active").get_data(as_text=True)
    assert 'data-currency="EUR"' in page and "€23.00" in page and "$" not in page
    text = pdf_text(client.get(f"/documents/invoice/{invoice_id}.pdf").data)
    assert "€23.00" in text and "$" not in text


def test_cat1_operator_pages_and_mail_show_an_eur_invoice_in_euros(app, client, auth):
    from portal.models import Delivery

    with app.app_context():
        acct, _sub = eur_account()
        run(app, DEC1)
        [invoice] = invoices_of(acct)
        mails = [json.loads(d.payload) for d in Delivery.select().where(
            Delivery.account == acct.id)]
    assert mails and all("€23.00" in m["text"] and "$" not in m["text"] + m["html"]
                         for m in mails), [m["text"] for m in mails]
    auth.login(as_="operator@example.com")
    page = client.get(f"/operator/invoices/{invoice.id}").get_data(as_text=True)
    assert "€23.00" in page and "$23.00" not in page
    listing = client.get("/operator/documents").get_data(as_text=True)
    assert "€23.00" in listing


def test_cat1_amounts_follow_the_readers_locale_with_the_euro_sign(app, client, auth):
    with app.app_context():
        eur_account(language="fr")
        run(app, DEC1)
    auth.login(as_="admin@euro.example")
    page = client.get("/subscription/active", headers={"Accept-Language": "fr"})
    assert "23,00\xa0€" in page.get_data(as_text=True)


def test_cat1_a_plan_without_a_price_in_the_accounts_currency_is_refused(app_ctx):
    acct = Account.create(name="Pounds Ltd", currency="GBP")
    with pytest.raises(CatalogueError, match="no price in GBP"):
        start_subscription(acct, Plan.get(Plan.code == "team"), interval="monthly",
                           quantity=1, start=DEC1)
    assert not Subscription.select().where(Subscription.account == acct.id).exists()


def test_pay3_minimum_is_set_per_currency(app_ctx):
    from portal.billing import payment_terms

    minimums = payment_terms.manual_minimums("USD=1000.00,EUR=900.00")
    assert minimums == {"USD": Decimal("1000.00"), "EUR": Decimal("900.00")}
    assert payment_terms.manual_method_allowed(Decimal("900.00"), False, minimums["EUR"])
    assert payment_terms.manual_minimum("GBP", "USD=1000.00") is None
    assert not payment_terms.manual_method_allowed(Decimal("5000.00"), False, None)


# --- CAT-2: versioned prices ---------------------------------------------------------------

def test_cat2_new_price_reaches_new_subscriptions_at_once_existing_ones_on_the_chosen_date(
        app, client, auth):
    with app.app_context():
        add_card(account("Corner Bakeries"))
        corner = sub_of(account("Corner Bakeries"), "devices")
        done = change_price("devices", "USD", "18.00", existing_from="2027-01-01")
        assert done == ["plan devices: USD price version 2 (18.00, 162.00, 0.00, 0.00); "
                        "existing subscriptions from their first renewal on or after 2027-01-01"]
        # New subscriptions: version 2 at once.
        fresh = Account.create(name="New Shop")
        new_sub = start_subscription(fresh, Plan.get(Plan.code == "devices"),
                                     interval="monthly", quantity=1, start=DEMO_TODAY)
        assert new_sub.price_version.number == 2
        # Existing: 1 December still bills version 1, and the estimate said so (SUB-4).
        before = estimate(corner)
        assert before.price_version.number == 1 and before.unit_price == Decimal("15.00")
        run(app, DEC1)
        [december] = invoices_of(account("Corner Bakeries"))
        assert december.total == before.total and lines_of(december)[0].unit_price == \
            Decimal("15.00")
        # From 1 January: version 2, estimated then billed.
        january_estimate = estimate(corner)
        assert january_estimate.price_version.number == 2
        assert january_estimate.unit_price == Decimal("18.00")
    auth.login(as_="admin@corner.example")
    page = client.get("/subscription/active").get_data(as_text=True)
    assert 'data-price-version="1"' in page and 'data-next-price-version="2"' in page
    with app.app_context():
        run(app, JAN1)
        january = invoices_of(account("Corner Bakeries"))[1]
        assert january.total == january_estimate.total
        assert lines_of(january)[0].unit_price == Decimal("18.00")
        assert Subscription.get_by_id(corner.id).price_version.number == 2


def test_cat2_grandfathered_subscriptions_keep_their_version(app_ctx):
    add_card(account("Corner Bakeries"))
    corner = sub_of(account("Corner Bakeries"), "devices")
    change_price("devices", "USD", "18.00", grandfathered="true")
    for day in (DEC1, JAN1, FEB1):
        expected = estimate(corner)
        run(app_ctx, day)
        invoice = invoices_of(account("Corner Bakeries"))[-1]
        assert invoice.total == expected.total  # SUB-4
        assert lines_of(invoice)[0].unit_price == Decimal("15.00")
    assert Subscription.get_by_id(corner.id).price_version.number == 1
    assert latest_price(corner.plan, "USD").number == 2


def test_cat2_notice_days_count_from_the_day_the_file_is_applied(app_ctx):
    change_price("devices", "USD", "18.00", notice_days="45")
    version = latest_price(Plan.get(Plan.code == "devices"), "USD")
    assert version.existing_from == DEMO_TODAY + dt.timedelta(days=45)
    assert AuditEvent.select().where(AuditEvent.action == "catalogue.price_version",
                                     AuditEvent.detail.contains("version 2")).exists()


# --- CHG-7: negotiated prices ---------------------------------------------------------------

def test_chg7_negotiated_price_is_billed_kept_at_renewals_and_private_to_its_account(
        app, client, auth):
    """A negotiated price is a price version of the account's own: it is billed (and
    estimated, SUB-4), no public version replaces it at a renewal, and nobody else gets it."""
    with app.app_context():
        shop = Account.create(name="Negotiated Shop")
        add_card(shop)
        plan = Plan.get(Plan.code == "team")
        sub = start_subscription(shop, plan, interval="monthly", quantity=4, start=D(2026, 11, 1),
                                 negotiated=Prices("USD", Decimal("11.50"), Decimal("120.00")))
        assert sub.price_version.account_id == shop.id and sub.price_version.number == 2
        assert AuditEvent.select().where(AuditEvent.account == shop.id, AuditEvent.action
                                         == "catalogue.negotiated_price").exists()
        # A later public price takes the next number and reaches existing subscriptions,
        # but never the negotiated one; new subscriptions get the public price.
        change_price("team", "USD", "18.00", existing_from="2026-12-01")
        assert latest_price(plan, "USD").number == 3 and latest_price(plan, "USD").account is None
        other = start_subscription(Account.create(name="Other Shop"), plan, interval="monthly",
                                   quantity=1, start=DEMO_TODAY)
        assert other.price_version.number == 3
        for day in (DEC1, JAN1):
            expected = estimate(sub)
            assert expected.unit_price == Decimal("11.50")
            run(app, day)
            invoice = invoices_of(Account.get_by_id(shop.id))[-1]
            assert invoice.total == expected.total == Decimal("46.00")
        assert Subscription.get_by_id(sub.id).price_version.account_id == shop.id
        northwind = sub_of(account("Northwind Retail"), "team")
        assert Subscription.get_by_id(northwind.id).price_version.number == 3


def test_chg7_a_negotiated_price_in_another_currency_is_refused(app_ctx):
    shop = Account.create(name="Euro Shop", currency="EUR")
    before = PriceVersion.select().count()
    with pytest.raises(CatalogueError, match="EUR"):
        start_subscription(shop, Plan.get(Plan.code == "devices"), interval="monthly",
                           quantity=1, start=DEMO_TODAY,
                           negotiated=Prices("USD", Decimal("1.00"), Decimal("10.00")))
    assert PriceVersion.select().count() == before


def test_onb1_first_payment_date_is_checked_against_the_interval(app_ctx):
    shop, plan = Account.create(name="Dated Shop"), Plan.get(Plan.code == "team")
    for interval, first, field in (("monthly", D(2026, 12, 15), "first_payment"),
                                   ("monthly", D(2027, 1, 1), "first_payment"),
                                   ("annual", D(2026, 11, 23), "first_payment"),
                                   ("annual", D(2027, 11, 24), "first_payment")):
        with pytest.raises(CatalogueError) as refused:
            start_subscription(shop, plan, interval=interval, quantity=1, start=DEMO_TODAY,
                               first_payment=first)
        assert refused.value.field == field
    assert not shop.subscriptions.exists()
    sub = start_subscription(shop, plan, interval="annual", quantity=1, start=DEMO_TODAY,
                             first_payment=D(2027, 3, 31))
    assert Subscription.get_by_id(sub.id).next_payment_date == D(2027, 3, 31)


# --- CAT-3: retired plans --------------------------------------------------------------------

def test_cat3_retired_plan_keeps_its_subscribers_and_takes_no_new_ones(app_ctx):
    plan = Plan.get(Plan.code == "devices")
    retire(plan)
    with pytest.raises(CatalogueError, match="retired"):
        start_subscription(Account.create(name="Late"), Plan.get_by_id(plan.id),
                           interval="monthly", quantity=1, start=DEMO_TODAY)
    corner = account("Corner Bakeries")
    add_card(corner)
    run(app_ctx, DEC1)
    assert len(invoices_of(corner)) == 1  # still billed
    assert sub_of(corner, "devices").status == "active"


# --- the file: apply, dry run, export ------------------------------------------------------

def test_apply_is_idempotent_and_a_dry_run_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text(demo.CATALOGUE.read_text(encoding="utf-8"), encoding="utf-8")
    again = runner.invoke(args=["catalogue", "apply", str(path)])
    assert again.exit_code == 0 and "nothing to do" in again.output
    path.write_text(path.read_text().replace('monthly = "25.00"', 'monthly = "27.00"'))
    with app.app_context():
        before = PriceVersion.select().count(), AuditEvent.select().count()
    dry = runner.invoke(args=["catalogue", "apply", "--dry-run", str(path)])
    assert dry.exit_code == 0, dry.output
    assert "Would do: plan team: USD price version 2" in dry.output
    assert "Dry run: nothing written." in dry.output
    with app.app_context():
        assert (PriceVersion.select().count(), AuditEvent.select().count()) == before
    real = runner.invoke(args=["catalogue", "apply", str(path)])
    assert real.exit_code == 0 and "plan team: USD price version 2" in real.output
    assert "Would do" not in real.output
    assert "nothing to do" in runner.invoke(args=["catalogue", "apply", str(path)]).output
    with app.app_context():
        assert PriceVersion.select().count() == before[0] + 1


@pytest.mark.parametrize("change, message", [
    ('monthly = "25.00"', 'monthly = 25.5'),
    ('counts = "seat"', 'counts = "rocket"'),
    ("[plans.prices.USD]", "[plans.prices.XYZ]"),
    ('monthly = "25.00"', 'monthly = "25.001"'),
])
def test_apply_refuses_a_bad_file_whole_and_says_where(app, runner, tmp_path, change, message):
    path = tmp_path / "catalogue.toml"
    text = demo.CATALOGUE.read_text(encoding="utf-8").replace(
        'name = "Foot traffic: per device"', 'name = "Renamed devices"')
    path.write_text(text.replace(change, message, 1), encoding="utf-8")
    result = runner.invoke(args=["catalogue", "apply", str(path)])
    assert result.exit_code == 1 and "nothing written" in result.output
    assert "plans[" in result.output
    with app.app_context():
        assert Plan.get(Plan.code == "devices").name == "Foot traffic: per device"


def test_export_round_trips_through_apply(app, runner, tmp_path):
    with app.app_context():
        change_price("team", "EUR", "24.00", grandfathered="true")
        retire(Plan.get(Plan.code == "locations"))
    out = tmp_path / "exported.toml"
    assert runner.invoke(args=["catalogue", "export", "-o", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert 'monthly = "24.00"' in text and "available = false" in text
    applied = runner.invoke(args=["catalogue", "apply", str(out)])
    assert applied.exit_code == 0 and "nothing to do" in applied.output, applied.output
    with app.app_context():
        assert files.export() == text


def test_docs_example_catalogue_is_valid(app_ctx):
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "catalogue.toml").read_text()
    specs = files.parse(text, today=DEMO_TODAY)
    assert {s.code for s in specs} == {"locations", "team", "business"}
    assert files.apply(specs, dry_run=True) == []  # the demo's prices, as documented


# --- ONB-1: the demo goes through the catalogue --------------------------------------------

def test_onb1_demo_catalogue_is_the_shipped_file(app_ctx):
    specs = files.parse(demo.CATALOGUE.read_text(encoding="utf-8"), today=DEMO_TODAY)
    assert files.apply(specs, dry_run=True) == []  # the demo's catalogue is that file
    assert {p.code for p in Plan.select()} == {s.code for s in specs}
    assert all(s.price_version_id for s in Subscription.select())
    assert AuditEvent.select().where(AuditEvent.action == "subscription.started").count() == \
        Subscription.select().count()


# --- operators from the command line ---------------------------------------------------------

def test_operators_create_asks_the_password_twice_and_list_shows_them(app, runner):
    ok = runner.invoke(args=["operators", "create", "Ops@Example.com", "--name", "Ops"],
                       input="correct horse battery\ncorrect horse battery\n")
    assert ok.exit_code == 0, ok.output
    assert "Operator ops@example.com created" in ok.output
    with app.app_context():
        user = User.get(User.email == "ops@example.com")
        assert user.is_operator and passwords.check(user.password_hash,
                                                    "correct horse battery")
        assert AuditEvent.select().where(AuditEvent.action == "operator.created").exists()
    listed = runner.invoke(args=["operators", "list"])
    assert listed.exit_code == 0
    assert "ops@example.com\tOps\t" in listed.output
    assert "operator@example.com" in listed.output


def test_operators_create_refuses_a_mismatch_a_taken_address_and_a_weak_password(app, runner):
    mismatch = runner.invoke(args=["operators", "create", "a@ops.example"],
                             input="correct horse battery\nsomething else entirely\n")
    assert mismatch.exit_code != 0 and "match" in mismatch.output.lower()
    taken = runner.invoke(args=["operators", "create", "admin@northwind.example"],
                          input="correct horse battery\ncorrect horse battery\n")
    assert taken.exit_code == 1 and "already has a login" in taken.output
    weak = runner.invoke(args=["operators", "create", "b@ops.example"], input="short\nshort\n")
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output  # ACC-8's policy
    common = runner.invoke(args=["operators", "create", "c@ops.example"],
                           input="password123\npassword123\n")
    assert common.exit_code == 1 and "most common" in common.output
    with app.app_context():
        assert not User.select().where(User.email.in_(
            ["a@ops.example", "b@ops.example", "c@ops.example"])).exists()
        assert not User.get(User.email == "admin@northwind.example").is_operator


# --- the console's plans page ----------------------------------------------------------------

def csrf_of(page: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_console_lists_creates_and_edits_plans(app, client, auth):
    auth.login(as_="operator@example.com")
    listing = client.get("/operator/plans/").get_data(as_text=True)
    assert 'data-plan="team"' in listing and "€23.00" in listing and "$25.00" in listing
    form = client.get("/operator/plans/new").get_data(as_text=True)
    bad = client.post("/operator/plans/new", data={
        "csrf_token": csrf_of(form), "code": "pro", "plan_name": "Pro", "counts": "seat",
        "rank": "3", "trial_days": "14", "price-currency": "EUR", "price-monthly": "-1",
        "price-annual": "600", "price-addon_monthly": "0", "price-addon_annual": "0"})
    assert bad.status_code == 422 and 'id="price-monthly-error"' in bad.get_data(as_text=True)
    with app.app_context():
        assert not Plan.select().where(Plan.code == "pro").exists()
    made = client.post("/operator/plans/new", data={
        "csrf_token": csrf_of(form), "code": "pro", "plan_name": "Pro", "counts": "seat",
        "rank": "3", "trial_days": "14", "price-currency": "EUR", "price-monthly": "60.00",
        "price-annual": "600.00", "price-addon_monthly": "0", "price-addon_annual": "0"})
    assert made.status_code == 302
    with app.app_context():
        pro = Plan.get(Plan.code == "pro")
        assert (pro.kind, pro.rank, pro.trial_days) == ("seat", 3, 14)
        assert latest_price(pro, "EUR").monthly_price == Decimal("60.00")
        assert AuditEvent.select().where(AuditEvent.action == "catalogue.plan_created").exists()
    page = client.get(f"/operator/plans/{pro.id}").get_data(as_text=True)
    assert 'data-version="EUR-1"' in page
    priced = client.post(f"/operator/plans/{pro.id}/prices", data={
        "csrf_token": csrf_of(page), "price-currency": "EUR", "price-monthly": "65.00",
        "price-annual": "650.00", "price-addon_monthly": "0", "price-addon_annual": "0",
        "price-reach": "date", "price-existing_from": "2027-03-01"})
    assert priced.status_code == 302
    with app.app_context():
        v2 = latest_price(pro, "EUR")
        assert (v2.number, v2.existing_from) == (2, D(2027, 3, 1))
    missing = client.post(f"/operator/plans/{pro.id}/prices", data={
        "csrf_token": csrf_of(page), "price-currency": "EUR", "price-monthly": "70.00",
        "price-annual": "700.00", "price-addon_monthly": "0", "price-addon_annual": "0",
        "price-reach": "date"})
    assert missing.status_code == 422 and "price-existing_from-error" in missing.get_data(
        as_text=True)
    client.post(f"/operator/plans/{pro.id}/availability",
                data={"csrf_token": csrf_of(page), "available": "0"})
    with app.app_context():
        assert not Plan.get_by_id(pro.id).available  # CAT-3
        assert latest_price(pro, "EUR").number == 2


def test_console_refuses_changing_what_a_subscribed_plan_counts(app, client, auth):
    auth.login(as_="operator@example.com")
    with app.app_context():
        team = Plan.get(Plan.code == "team")
    page = client.get(f"/operator/plans/{team.id}").get_data(as_text=True)
    response = client.post(f"/operator/plans/{team.id}", data={
        "csrf_token": csrf_of(page), "plan-plan_name": "Team", "plan-counts": "device",
        "plan-rank": "1", "plan-trial_days": "0"})
    assert response.status_code == 422 and "cannot change" in response.get_data(as_text=True)
    with app.app_context():
        assert Plan.get_by_id(team.id).kind == "seat"


def test_migration_023_makes_old_prices_version_1_in_usd(tmp_path):
    """Existing data: each plan's prices become its USD version 1, which every existing
    subscription pays; existing accounts and invoices are in USD (CAT-1, CAT-2)."""
    from peewee import SqliteDatabase
    from peewee_migrate import Router

    from portal.db import migrations_dir

    database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
    router = Router(database, migrate_dir=str(migrations_dir()), ignore=["basemodel"])
    router.run("020_change_stamp")
    database.execute_sql("INSERT INTO account (name, billing_address, language, "
                         "negotiated_contract, grandfathered, status, created_at, usage_stamp) "
                         "VALUES ('Old', '', 'en', 0, 0, 'active', '2020-01-01', 0)")
    database.execute_sql("INSERT INTO plan (code, name, kind, monthly_price, annual_price, "
                         "addon_monthly_price, addon_annual_price, rank, available) "
                         "VALUES ('old', 'Old plan', 'seat', 2500, 27000, 1000, 10800, 1, 1)")
    database.execute_sql("INSERT INTO subscription (account_id, plan_id, interval, quantity, "
                         "addon_quantity, started_on, next_payment_date, status, created_at) "
                         "VALUES (1, 1, 'monthly', 3, 0, '2026-01-01', '2026-12-01', 'active', "
                         "'2026-01-01')")
    router.run()
    assert database.execute_sql(
        "SELECT plan_id, currency, number, monthly_price, annual_price, addon_monthly_price, "
        "addon_annual_price, existing_from FROM price_version").fetchall() == [
        (1, "USD", 1, 2500, 27000, 1000, 10800, None)]
    assert database.execute_sql("SELECT price_version_id FROM subscription").fetchall() == [
        (1,)]
    assert database.execute_sql("SELECT currency FROM account").fetchall() == [("USD",)]
    columns = {c.name for c in database.get_columns("plan")}
    assert "monthly_price" not in columns and "trial_days" in columns
    database.close()
