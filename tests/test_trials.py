"""Trials (rule TRI-1): a trial charges nothing until its last day; on that day it
converts with a usable payment method on file, else the subscription ends and the
account keeps read access to its documents."""
import datetime as dt
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import demo
from portal.accounts import passwords
from portal.accounts.onboarding import open_account
from portal.billing import pricing, renewals
from portal.billing.trials import first_paid_day, trial_dates
from portal.catalogue import CatalogueError, start_subscription
from portal.db import db
from portal.models import (Account, AuditEvent, Charge, Delivery, Invoice, Membership, Plan,
                           Subscription, User)
from portal.statuses import InvoiceStatus, SubscriptionStatus, TrialOutcome
from support.api import call, parts
from support.database import DEMO_TODAY
from support.billing import add_card, invoices_of, run

D = dt.date
START = D(2026, 11, 23)  # the demo's today


def trial_account(name="Trial Bakery", *, trial_days=14, start=START, plan="team",
                  interval="monthly", quantity=3, currency="USD", language="en"):
    acct = open_account(name, currency=currency, language=language)
    sub = start_subscription(acct, Plan.get(Plan.code == plan), interval=interval,
                             quantity=quantity, start=start, trial_days=trial_days)
    return acct, sub


def estimate(sub) -> renewals.NextCharge:
    sub = Subscription.get_by_id(sub.id)
    return renewals.next_charges([sub], pricing.account_usage(sub.account_id))[sub.id]


def test_tri1_a_trial_starts_trialing_with_its_last_day_as_first_payment_date(app_ctx):
    acct, sub = trial_account(trial_days=14)
    assert sub.status == SubscriptionStatus.TRIALING
    assert sub.trial_ends_on == D(2026, 12, 6) == sub.next_payment_date  # 23 Nov + 13
    assert sub.trial_outcome is None
    charge = estimate(sub)
    # Charged on the last trial day for the period from the day after (prorated, CHG-5)
    assert charge.due_on == D(2026, 12, 6)
    assert charge.period == (D(2026, 12, 7), D(2026, 12, 31))
    assert charge.total > 0


def test_tri1_no_trial_when_trial_days_is_none_or_zero(app_ctx):
    for days in (None, 0):
        _, sub = trial_account(f"No trial {days}", trial_days=days)
        assert sub.status == SubscriptionStatus.ACTIVE and sub.trial_ends_on is None
        assert sub.next_payment_date == D(2026, 12, 1)


@pytest.mark.parametrize("kwargs, field", [
    ({"trial_days": -1}, "trial_days"),
    ({"trial_days": 400}, "trial_days"),
    ({"trial_days": 14, "first_payment": D(2026, 12, 1)}, "first_payment"),
])
def test_tri1_a_bad_trial_is_refused_and_writes_nothing(app_ctx, kwargs, field):
    acct = open_account("Refused Trial")
    before = Subscription.select().count()
    with pytest.raises(CatalogueError) as refused:
        start_subscription(acct, Plan.get(Plan.code == "team"), interval="monthly",
                           quantity=1, start=START, **kwargs)
    assert refused.value.field == field
    assert Subscription.select().count() == before


def test_tri1_converts_on_its_last_day_with_a_card_charging_what_the_estimate_said(app_ctx):
    acct, sub = trial_account()
    add_card(acct)
    said = estimate(sub)
    for day in (START, D(2026, 12, 1), D(2026, 12, 5)):  # nothing before the last day
        run(app_ctx, day)
        assert invoices_of(acct) == []
        assert Subscription.get_by_id(sub.id).status == SubscriptionStatus.TRIALING
    report = run(app_ctx, D(2026, 12, 6))
    [invoice] = invoices_of(acct)
    assert invoice.issued_on == said.due_on == D(2026, 12, 6)
    assert invoice.total == said.total and invoice.period_start == said.period[0]
    assert invoice.status == InvoiceStatus.PAID
    [charge] = Charge.select().where(Charge.invoice == invoice.id)
    assert charge.amount == said.total
    sub = Subscription.get_by_id(sub.id)
    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub.trial_outcome == TrialOutcome.CONVERTED
    assert sub.next_payment_date == D(2027, 1, 1)
    assert report.ended == 0
    assert AuditEvent.get(AuditEvent.action == "subscription.trial_converted").account_id \
        == acct.id
    run(app_ctx, D(2026, 12, 6))  # a rerun bills nothing twice
    assert len(invoices_of(acct)) == 1


def test_tri1_ends_without_a_usable_method_and_charges_nothing(app_ctx):
    acct, sub = trial_account()
    expired = add_card(acct)
    expired.exp_month, expired.exp_year = 11, 2026  # expired at the end of November
    expired.save()
    report = run(app_ctx, D(2026, 12, 6))
    sub = Subscription.get_by_id(sub.id)
    assert sub.status == SubscriptionStatus.CANCELLED
    assert sub.trial_outcome == TrialOutcome.ENDED
    assert report.ended == 1
    assert invoices_of(acct) == [] and Invoice.select().where(
        Invoice.subscription == sub.id).count() == 0
    assert "no usable payment method" in AuditEvent.get(
        AuditEvent.action == "subscription.trial_ended").detail
    run(app_ctx, D(2027, 1, 1))  # and it never comes back to be billed
    assert invoices_of(acct) == []


@pytest.mark.parametrize("start, days, last, period", [
    (D(2027, 1, 18), 14, D(2027, 1, 31), (D(2027, 2, 1), D(2027, 2, 28))),
    (D(2027, 1, 20), 14, D(2027, 2, 2), (D(2027, 2, 3), D(2027, 2, 28))),
    (D(2028, 2, 15), 14, D(2028, 2, 28), (D(2028, 2, 29), D(2028, 2, 29))),
    (D(2028, 2, 16), 14, D(2028, 2, 29), (D(2028, 3, 1), D(2028, 3, 31))),
    (D(2026, 12, 18), 14, D(2026, 12, 31), (D(2027, 1, 1), D(2027, 1, 31))),
    (D(2026, 11, 30), 1, D(2026, 11, 30), (D(2026, 12, 1), D(2026, 12, 31))),
    (D(2026, 11, 1), 30, D(2026, 11, 30), (D(2026, 12, 1), D(2026, 12, 31))),
])
def test_tri1_dates_around_month_ends(app_ctx, start, days, last, period):
    assert trial_dates(start, days) == (last, period[0])
    _, sub = trial_account(f"Dates {start}", start=start, trial_days=days)
    charge = estimate(sub)
    assert (charge.due_on, charge.period) == (last, period)



@pytest.mark.parametrize("start, days, last, period", [
    (D(2026, 11, 23), 14, D(2026, 12, 6), (D(2026, 12, 7), D(2027, 12, 6))),
    # the paid years count from the first paid day, not from the trial's start
    (D(2024, 1, 3), 364, D(2024, 12, 31), (D(2025, 1, 1), D(2025, 12, 31))),
    (D(2028, 2, 16), 14, D(2028, 2, 29), (D(2028, 3, 1), D(2029, 2, 28))),
    (D(2028, 2, 15), 14, D(2028, 2, 28), (D(2028, 2, 29), D(2029, 2, 27))),
])
def test_tri1_annual_trial_dates(app_ctx, start, days, last, period):
    _, sub = trial_account(f"Annual {start}", start=start, trial_days=days, interval="annual")
    charge = estimate(sub)
    assert (charge.due_on, charge.period) == (last, period)

# --- the 7- and 1-day mails, read from a real SMTP server ---

def _trial_with_admin(app, *, language="en", card=True, email="owner@trial.test"):
    """A 14-day trial from 10 Nov (last day 23 Nov) for an account with one admin."""
    with app.app_context():
        acct, sub = trial_account("Mail Trial", start=D(2026, 11, 10), language=language)
        user = User.create(email=email, name="Olive", password_hash="x")
        Membership.create(user=user, account=acct, role="admin")
        if card:
            add_card(acct, last4="4242")
        return acct.id, sub.id


def _trial_mails(smtp_server, email="owner@trial.test"):
    return [m for m in smtp_server.messages if email in m.envelope_to]


def test_tri1_mails_7_and_1_days_before_the_last_day_never_twice(mail_app, smtp_server):
    _trial_with_admin(mail_app)
    with mail_app.app_context():
        run(mail_app, D(2026, 11, 15))  # 8 days before: nothing yet
        assert _trial_mails(smtp_server) == []
        run(mail_app, D(2026, 11, 16))  # 7 days before
        smtp_server.wait_for(1)
        [week] = _trial_mails(smtp_server)
        assert week["Subject"] == ("Your trial of Collaboration Team (per seat) ends on "
                                   "Nov 23, 2026")
        text = " ".join(parts(week)["text/plain"].split())
        said = estimate(Subscription.get(Subscription.trial_ends_on == D(2026, 11, 23)))
        assert (f"On that day we charge ${said.total} to Visa ending 4242 for Nov 24, 2026 "
                f"to Nov 30, 2026") in text
        for day in (D(2026, 11, 16), D(2026, 11, 17), D(2026, 11, 21)):  # reruns: no more
            run(mail_app, day)
        run(mail_app, D(2026, 11, 22))  # 1 day before
        run(mail_app, D(2026, 11, 22))
        time.sleep(0.3)
        smtp_server.wait_for(2)
        mails = _trial_mails(smtp_server)
        assert len(mails) == 2, [m["Subject"] for m in mails]
        assert mails[1]["Subject"] == mails[0]["Subject"]
        assert Delivery.select().where((Delivery.kind == "trial_ending")
                                       & (Delivery.channel == "email")).count() == 2


def test_tri1_reminder_without_a_card_in_french(mail_app, smtp_server):
    _trial_with_admin(mail_app, language="fr", card=False)
    with mail_app.app_context():
        run(mail_app, D(2026, 11, 22))  # 1 day before
        smtp_server.wait_for(1)
        [mail] = _trial_mails(smtp_server)
        subject = " ".join(mail["Subject"].split())
        assert subject == "Votre essai de Collaboration Team (per seat) se termine le 23 nov. 2026"
        text = " ".join(parts(mail)["text/plain"].split())
        assert "Aucun moyen de paiement utilisable" in text


# --- the customer's subscription page (today is the demo's: 23 Nov 2026) ---

def _page_account(app, *, card=False, role="admin", email="olive@trial.example"):
    """A 14-day trial from the demo's today (last day 6 Dec) with a person who can log in."""
    with app.app_context():
        acct, sub = trial_account("Page Trial")
        user = User(email=email, name="Olive")
        passwords.set_password(user, demo.PASSWORD)
        user.save()
        Membership.create(user=user, account=acct, role=role)
        if card:
            add_card(acct, last4="4242")
        charge = estimate(sub)
        db.close()
        return sub.id, charge


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tri1_the_page_says_days_left_first_charge_and_add_a_card(app, client, auth):
    _, charge = _page_account(app)
    auth.login(as_="olive@trial.example")
    html = client.get("/subscription/").get_data(as_text=True)
    text = _text(html)
    assert "Trial: 14 days left, ends on Dec 6, 2026" in text
    assert f"First charge: ${charge.total} on Dec 6, 2026" in text
    assert 'data-trial-card="none"' in html and "No usable card is on file" in text
    assert 'data-action="add-card"' in html
    assert "Cancelled" not in text
    active = _text(client.get("/subscription/active").get_data(as_text=True))
    assert "Trial: 14 days left, ends on Dec 6, 2026" in active


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tri1_the_page_says_a_card_is_on_file(app, client, auth):
    _page_account(app, card=True)
    auth.login(as_="olive@trial.example")
    html = client.get("/subscription/").get_data(as_text=True)
    assert 'data-trial-card="on-file"' in html and "4242" in html
    assert "the subscription continues after the trial" in _text(html)


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tri1_a_member_sees_the_trial_but_no_card(app, client, auth):
    _page_account(app, card=True, role="member")
    auth.login(as_="olive@trial.example")
    html = client.get("/subscription/").get_data(as_text=True)
    assert "Trial: 14 days left" in _text(html) and "4242" not in html


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tri1_the_page_in_french(app, client, auth):
    _page_account(app)
    with app.app_context():
        Account.update(language="fr").where(Account.name == "Page Trial").execute()
        User.update(language="fr").where(User.email == "olive@trial.example").execute()
        db.close()
    auth.login(as_="olive@trial.example")
    text = _text(client.get("/subscription/").get_data(as_text=True))
    assert "Essai : 14 jours restants, se termine le 6 déc. 2026" in text


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tri1_the_wizard_says_a_trial_cannot_change_yet(app, client, auth):
    """Nothing is charged in a trial: no prorated upgrade either; the page says why."""
    sub_id, _ = _page_account(app, card=True)
    auth.login(as_="olive@trial.example")
    page = client.get(f"/admin/subscription/{sub_id}/change")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-blocked="trial"' in html
    assert "in its trial until Dec 6, 2026" in _text(html)


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tri1_after_conversion_and_after_the_end_the_page_says_so(app, client, auth):
    sub_id, _ = _page_account(app, card=True)
    with app.app_context():
        run(app, D(2026, 12, 6))
        db.close()
    auth.login(as_="olive@trial.example")
    text = _text(client.get("/subscription/").get_data(as_text=True))
    assert "Trial converted on Dec 6, 2026." in text and "days left" not in text


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tri1_an_ended_trial_keeps_read_access_to_documents(app, client, auth):
    """The account's invoices stay listed and downloadable after its trial ended."""
    with app.app_context():
        corner = Account.get(Account.name == "Corner Bakeries")
        run(app, D(2026, 12, 1))  # the demo's December invoice (no card: in dunning)
        [invoice] = invoices_of(corner)
        Subscription.update(status=SubscriptionStatus.CANCELLED).where(
            Subscription.account == corner.id).execute()
        sub = start_subscription(corner, Plan.get(Plan.code == "team"), interval="monthly",
                                 quantity=1, start=D(2026, 12, 1), trial_days=7)
        run(app, D(2026, 12, 7))
        assert Subscription.get_by_id(sub.id).trial_outcome == TrialOutcome.ENDED
        db.close()
    auth.login(as_="admin@corner.example")
    home = _text(client.get("/subscription/").get_data(as_text=True))
    assert "Trial ended on Dec 7, 2026: no payment method was on file" in home
    assert invoice.number in client.get("/admin/invoices").get_data(as_text=True)
    pdf = client.get(f"/documents/invoice/{invoice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_tri1_the_api_says_trialing_its_last_day_and_the_first_charge(app, client, tokens):
    """SUB-4 through the API: the estimate of a trial is its first charge, on its last day."""
    with app.app_context():
        corner = Account.get(Account.name == "Corner Bakeries")
        sub = start_subscription(corner, Plan.get(Plan.code == "team"), interval="monthly",
                                 quantity=2, start=START, trial_days=14)
        said = estimate(sub)
        db.close()
    r = call(client, "GET", "/api/v1/subscriptions", tokens["cb"])
    assert r.status_code == 200
    [row] = [s for s in r.get_json()["subscriptions"] if s["id"] == sub.id]
    assert row["status"] == "trialing" and row["trial_ends_on"] == "2026-12-06"
    assert row["estimate"]["due_on"] == "2026-12-06" == row["next_payment_date"]
    assert row["estimate"]["total"] == str(said.total)
    others = [s for s in r.get_json()["subscriptions"] if s["id"] != sub.id]
    assert others and all(s["trial_ends_on"] is None for s in others)


# --- the dates, for any start and length (property test) ---

@given(start=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)),
       days=st.integers(1, 366), interval=st.sampled_from(["monthly", "annual"]))
def test_tri1_the_first_paid_period_starts_the_day_after_the_last_trial_day(start, days,
                                                                             interval):
    """TRI-1 with CHG-5: charged on the last trial day (start + days - 1), nothing before;
    the period billed then starts the day after and ends where a renewal's would: a
    monthly plan's at the end of that month (so the next payment is a 1st), an annual
    one's the day before the same date a year later."""
    last, first_paid = trial_dates(start, days)
    assert (last - start).days == days - 1 and first_paid == last + dt.timedelta(days=1)
    sub = Subscription(interval=interval, started_on=start, next_payment_date=last,
                       trial_ends_on=last, status=SubscriptionStatus.TRIALING)
    assert first_paid_day(sub) == first_paid
    period = renewals.period_of(sub, first_paid_day(sub))
    after = period[1] + dt.timedelta(days=1)
    assert period[0] == first_paid < after
    if interval == "monthly":
        assert after.day == 1 and (after - first_paid).days <= 31
    else:
        assert 365 <= (after - first_paid).days <= 366
    converted = Subscription(interval=interval, started_on=start, next_payment_date=after,
                             trial_ends_on=last, status=SubscriptionStatus.ACTIVE)
    assert first_paid_day(converted) == after  # once billed, renewals as usual
