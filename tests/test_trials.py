"""Trials (rule TRI-1): a trial charges nothing until its last day; on that day it
converts with a usable payment method on file, else the subscription ends and the
account keeps read access to its documents."""
import datetime as dt

import pytest

from portal.accounts.onboarding import open_account
from portal.billing import pricing, renewals
from portal.billing.trials import trial_dates
from portal.catalogue import CatalogueError, start_subscription
from portal.models import AuditEvent, Charge, Invoice, Plan, Subscription
from portal.statuses import InvoiceStatus, SubscriptionStatus, TrialOutcome
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
