"""MRR movements (rule MET-2) on invoices made for the purpose: each kind of movement
lands in its month, and start + movements = end exactly, with an annual price that does
not divide by 12 into whole cents (MET-1)."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from portal.metrics import mrr
from portal.models import Account, Invoice, InvoiceLine, Subscription
from portal.statuses import SubscriptionStatus

TODAY = dt.date(2026, 11, 23)


NUMBERS = itertools.count(1)


def bill(account, start, end, quantity, unit_price, currency="USD"):
    """A period invoice of ``account`` with one plan line (as the billing run writes)."""
    invoice = Invoice.create(number=f"MET-{next(NUMBERS)}", account=account, period_start=start,
                             period_end=end, issued_on=start, due_on=start,
                             total=Decimal(unit_price) * quantity, account_name=account.name,
                             status="paid", currency=currency)
    InvoiceLine.create(invoice=invoice, position=1, kind="plan", description="x",
                       quantity=quantity, unit_price=unit_price,
                       amount=Decimal(unit_price) * quantity)


def month(y, m):
    start = dt.date(y, m, 1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return start, end


def test_met2_each_movement_in_its_month(app_ctx):
    # only the accounts made here have subscriptions today
    Subscription.update(status=SubscriptionStatus.CANCELLED).execute()
    a, b, c = (Account.create(name=f"Movement {x}") for x in "ABC")
    bill(a, *month(2026, 3), 2, "10.00")  # A: new in March (20.00)
    bill(a, *month(2026, 4), 3, "10.00")  # expansion in April (+10.00)
    bill(a, *month(2026, 5), 1, "10.00")  # contraction in May (-20.00)
    # A churns in June (no invoice), comes back in August: reactivation
    bill(a, *month(2026, 8), 1, "10.00")
    bill(a, *month(2026, 9), 1, "10.00")
    # B: an annual price of 100.00 from 15 April: 8.33 a month (MET-1), new in April
    bill(b, dt.date(2026, 4, 15), dt.date(2027, 4, 14), 1, "100.00")
    # C: a year-old customer (billed before the window) that churns in December 2025
    bill(c, *month(2025, 11), 5, "7.00")

    report = mrr.report(TODAY)
    months = {m.month.strftime("%Y-%m"): m for m in report.months["USD"]}
    assert months["2025-12"].moves["churn"] == Decimal("-35.00")
    assert months["2026-03"].moves["new"] == Decimal("20.00")
    assert months["2026-04"].moves["expansion"] == Decimal("10.00")
    assert months["2026-04"].moves["new"] == Decimal("8.33")
    assert months["2026-05"].moves["contraction"] == Decimal("-20.00")
    assert months["2026-06"].moves["churn"] == Decimal("-10.00")
    assert months["2026-08"].moves["reactivation"] == Decimal("10.00")
    assert months["2026-10"].moves["churn"] == Decimal("-10.00")
    assert months["2026-11"].end == Decimal("0.00")  # B's annual plan has no subscription
    assert all(m.balanced for m in months.values())
    assert [str(v) for _d, v in report.points["USD"]][:4] == ["35.00", "0.00", "0.00", "0.00"]


def test_met1_today_counts_active_non_trial_subscriptions_only(app_ctx):
    before = mrr.today_by_account(TODAY)
    sub = Subscription.select().where(Subscription.status == "active").first()
    sub.status = SubscriptionStatus.CANCELLED
    sub.save()
    after = mrr.today_by_account(TODAY)
    book = mrr.PriceBook.load()
    assert sum(before.values()) - sum(after.values()) == mrr.money(
        mrr.subscription_mrr(sub, mrr.prices_of(sub, book, "USD")))
    later = Subscription.select().where(Subscription.status == "active").first()
    later.started_on = TODAY + dt.timedelta(days=1)  # not started yet
    later.save()
    assert later.account_id not in mrr.today_by_account(TODAY) or \
        mrr.today_by_account(TODAY)[later.account_id] < after[later.account_id]


def test_met1_each_currency_apart_never_summed(app_ctx):
    Subscription.update(status=SubscriptionStatus.CANCELLED).execute()
    dollars = Account.create(name="Dollars", currency="USD")
    euros = Account.create(name="Euros", currency="EUR")
    bill(dollars, *month(2026, 10), 2, "10.00")
    bill(euros, *month(2026, 10), 3, "10.00", currency="EUR")
    report = mrr.report(TODAY)
    october = {cur: next(m for m in months if m.month == dt.date(2026, 10, 1))
               for cur, months in report.months.items()}
    assert october["USD"].moves["new"] == Decimal("20.00")
    assert october["EUR"].moves["new"] == Decimal("30.00")
    assert report.points["EUR"][-2][1] == Decimal("30.00")
