"""The operator's metrics page (issue #18.3, rules MET-1 and MET-2) on the demo with its
year of history: every figure it prints (``data-metric``/``data-value``) is recomputed
here from the records by a different, naive computation: a loop over the rows."""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest

from portal import demo
from portal.billing.invoices import amount_due
from portal.models import (Account, AccountSnapshot, Charge, Invoice, PriceVersion, Receipt,
                           Subscription)
from support.database import DEMO_TODAY
from support.history import connected, operator_page
from support.pages import counted_queries

CENT = Decimal("0.01")


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def page(history_app):
    """The metrics page as the operator sees it (module-wide, read only)."""
    return operator_page(history_app, "/operator/metrics")


@pytest.fixture
def rows(history_app):
    """A database connection on the history app, for the naive recomputations."""
    with connected(history_app):
        yield


def metric(page: str, name: str, **attrs) -> Decimal:
    """The one ``data-value`` of ``data-metric=name`` (with these data-* attributes)."""
    found = []
    for tag in re.findall(rf"<[^>]*\bdata-metric=\"{re.escape(name)}\"[^>]*>", page):
        if all(f'data-{k}="{v}"' in tag for k, v in attrs.items()):
            found.append(Decimal(re.search(r'data-value="([^"]+)"', tag).group(1)))
    assert len(found) == 1, (name, attrs, found)
    return found[0]


def naive_prices(sub):
    """The price version a subscription pays: its own, else its plan's newest in its
    account's currency (CAT-2), found by looping over every version."""
    if sub.price_version_id:
        return PriceVersion.get_by_id(sub.price_version_id)
    currency = Account.get_by_id(sub.account_id).currency
    return max((v for v in PriceVersion.select()
                if v.plan_id == sub.plan_id and v.currency == currency), key=lambda v: v.number)


def naive_today() -> dict[int, Decimal]:
    """MET-1 by hand: each active subscription's plan and add-on price at its version,
    annual / 12, rounded per account."""
    per_account = defaultdict(Decimal)
    for sub in Subscription.select():
        if sub.status != "active" or sub.started_on > DEMO_TODAY:
            continue
        p = naive_prices(sub)
        if sub.interval == "annual":
            per_account[sub.account_id] += (p.annual_price * sub.quantity
                                            + p.addon_annual_price * sub.addon_quantity) / 12
        else:
            per_account[sub.account_id] += (p.monthly_price * sub.quantity
                                            + p.addon_monthly_price * sub.addon_quantity)
    return {a: cents(v) for a, v in per_account.items()}


def naive_mrr_today() -> Decimal:
    return sum(naive_today().values(), Decimal(0))


def test_met1_mrr_and_arr_today(page, rows):
    mrr = naive_mrr_today()
    assert mrr > 0
    assert metric(page, "mrr", currency="USD") == mrr
    assert metric(page, "arr", currency="USD") == mrr * 12


def month_end_days():
    first = DEMO_TODAY.replace(day=1)
    days = []
    for back in range(11, -1, -1):
        year, month = first.year, first.month - back
        while month < 1:
            year, month = year - 1, month + 12
        days.append(dt.date(year, month, 1) - dt.timedelta(days=1))
    return days + [DEMO_TODAY]


def naive_invoiced(day) -> dict[int, Decimal]:
    """Per account, the recurring lines of the invoices whose period covers ``day``."""
    per_account = defaultdict(Decimal)
    for invoice in Invoice.select():
        if invoice.period_start is None or not invoice.period_start <= day <= invoice.period_end:
            continue
        months = 12 if (invoice.period_end - invoice.period_start).days > 31 else 1
        for line in invoice.lines:
            if line.kind in ("plan", "addon"):
                per_account[invoice.account_id] += line.unit_price * line.quantity / months
    return {a: cents(v) for a, v in per_account.items() if cents(v)}


def test_met2_movements_recomputed_and_balanced(page, rows):
    days = month_end_days()
    mrr = [naive_invoiced(d) for d in days[:-1]] + [naive_today()]
    ever = [{a for m in mrr[:k + 1] for a in m} for k in range(len(mrr))]
    seen_moves = set()
    for k in range(1, len(days)):
        before, after = mrr[k - 1], mrr[k]
        moves = dict.fromkeys(("new", "expansion", "contraction", "churn", "reactivation"),
                              Decimal(0))
        for account in set(before) | set(after):
            b, e = before.get(account, Decimal(0)), after.get(account, Decimal(0))
            if b == e:
                continue
            if not b:
                kind = "reactivation" if account in ever[k - 1] else "new"
            elif not e:
                kind = "churn"
            else:
                kind = "expansion" if e > b else "contraction"
            moves[kind] += e - b
            seen_moves.add(kind)
        month = (days[k - 1] + dt.timedelta(days=1)).strftime("%Y-%m")
        start = metric(page, "mrr_start", month=month, currency="USD")
        end = metric(page, "mrr_end", month=month, currency="USD")
        assert start == sum(before.values(), Decimal(0))
        assert end == sum(after.values(), Decimal(0))
        for kind, amount in moves.items():
            assert metric(page, kind, month=month, currency="USD") == amount, (month, kind)
        # MET-2: start + movements = end, exactly
        assert start + sum(metric(page, k, month=month, currency="USD") for k in moves) == end
    assert "new" in seen_moves  # the history starts, and Harbour Coffee joins later


def test_active_subscriptions_and_accounts(page, rows):
    active = [s for s in Subscription.select()
              if s.status == "active" and s.started_on <= DEMO_TODAY]
    assert metric(page, "active_subscriptions", currency="USD") == len(active)
    assert metric(page, "active_accounts", currency="USD") == len({s.account_id for s in active})


def test_failed_payments_recovered_and_past_due(page, rows):
    since = DEMO_TODAY - dt.timedelta(days=30)
    failed = [c for c in Charge.select() if c.status in ("declined", "failed")
              and c.created_at.date() >= since]
    assert failed, "the demo declines Atelier Space's renewal"
    assert metric(page, "failed_payments", currency="USD") == len(failed)
    assert metric(page, "failed_amount", currency="USD") == sum(c.amount for c in failed)
    recovered = sum((r.amount for r in Receipt.select()
                     if r.invoice.dunning_step > 0 and since < r.paid_on <= DEMO_TODAY),
                    Decimal(0))
    assert metric(page, "recovered_by_dunning", currency="USD") == recovered
    past_due = sum((amount_due(i) for i in Invoice.select() if i.due_on < DEMO_TODAY),
                   Decimal(0))
    assert past_due > 0  # Harbour Coffee and Atelier Space
    assert metric(page, "past_due", currency="USD") == past_due


def test_usage_totals_over_time_from_the_snapshots(page, rows):
    shown = re.findall(r'data-metric="devices" data-day="([\d-]+)"', page)
    assert len(shown) == 12  # eleven month ends and the latest day of this month
    for day in shown:
        snaps = [s for s in AccountSnapshot.select() if s.day.isoformat() == day]
        assert snaps
        for unit in ("devices", "locations", "seats"):
            assert metric(page, unit, day=day, currency="USD") == sum(getattr(s, unit)
                                                                      for s in snaps)


def test_charts_render_as_svg_with_their_numbers_in_tables(page):
    figures = re.findall(r'<figure class="chart".*?</figure>', page, re.S)
    assert len(figures) == 3  # MRR, movements, usage
    for figure in figures:
        assert "<svg" in figure and "<table" in figure and "<caption>" in figure
    mrr_chart = figures[0]
    assert len(re.findall(r"<tr><th scope=\"row\">", mrr_chart)) == 12
    assert 'class="line s-mrr"' in mrr_chart
    moves = figures[1]
    assert re.search(r'<rect class="s-new"', moves)
    assert " style=" not in page and "<script>" not in page  # the CSP: nothing inline


def test_the_page_costs_a_bounded_number_of_queries(history_app, rows):
    """Twice the accounts, the same number of queries (the issue's performance point)."""
    client = history_app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    client.post("/login", data={"email": "operator@example.com", "password": demo.PASSWORD,
                                "csrf_token": token})
    assert client.get("/operator/metrics").status_code == 200  # a steady-state request next
    with counted_queries() as before:
        assert client.get("/operator/metrics").status_code == 200
    # issue #20: at most 10 statements, the session's included (one grouped query per
    # table: MRR, collection, usage; the trials and their prices)
    assert before.count <= 10, before.count
    assert Account.select().count() == 8  # the history: 5 accounts and 3 trials (TRI-1)
