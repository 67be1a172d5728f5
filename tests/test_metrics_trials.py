"""Trials in the operator's metrics (rules TRI-1, MET-1) on the demo with its year of
history (Fjord Studio in its trial, Kiosk Nord converted, Maple Pop-up ended): each trial
figure the page prints (``data-metric``/``data-value``) recomputed here from the
subscription rows by a naive loop."""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from portal.models import Account, PriceVersion, Subscription
from support.database import DEMO_TODAY
from support.history import connected, operator_page

WINDOW = 30


@pytest.fixture(scope="module")
def page(history_app):
    return operator_page(history_app, "/operator/metrics")


@pytest.fixture
def rows(history_app):
    with connected(history_app):
        yield


def metric(page: str, name: str, currency: str) -> str:
    [tag] = [t for t in re.findall(rf'<[^>]*\bdata-metric="{name}"[^>]*>', page)
             if f'data-currency="{currency}"' in t]
    return re.search(r'data-value="([^"]*)"', tag).group(1)


def naive(currency: str) -> dict:
    """Loop over every subscription: trials today, and trials whose last day fell in the
    30 days up to today, by how they finished."""
    found = {"active": 0, "mrr": Decimal(0), "converted": 0, "ended": 0}
    since = DEMO_TODAY - dt.timedelta(days=WINDOW)
    for sub in Subscription.select():
        if Account.get_by_id(sub.account_id).currency != currency:
            continue
        if sub.status == "trialing":
            found["active"] += 1
            p = PriceVersion.get_by_id(sub.price_version_id)
            found["mrr"] += (p.monthly_price * sub.quantity
                             + p.addon_monthly_price * sub.addon_quantity
                             if sub.interval == "monthly" else
                             (p.annual_price * sub.quantity
                              + p.addon_annual_price * sub.addon_quantity) / 12)
        elif sub.trial_ends_on and since < sub.trial_ends_on <= DEMO_TODAY:
            found[str(sub.trial_outcome)] += 1
    return found


def test_tri1_metrics_trials_active_converted_ended_and_rate(page, rows):
    expected = naive("USD")
    assert expected == {"active": 1, "mrr": expected["mrr"], "converted": 1, "ended": 1}
    assert int(metric(page, "trials_active", "USD")) == expected["active"]
    assert Decimal(metric(page, "trial_mrr", "USD")) == expected["mrr"].quantize(
        Decimal("0.01"))
    assert int(metric(page, "trials_converted", "USD")) == expected["converted"]
    assert int(metric(page, "trials_ended", "USD")) == expected["ended"]
    rate = Decimal(100 * expected["converted"]) / (expected["converted"] + expected["ended"])
    assert Decimal(metric(page, "trial_conversion_rate", "USD")) == rate.quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP) == Decimal("50.0")


def test_tri1_a_trial_has_no_mrr_until_it_converts(page, rows):
    """MET-1: Fjord Studio (in trial) adds nothing to the MRR; Kiosk Nord (converted)
    does, at its price."""
    from portal.metrics import mrr

    fjord = Account.get(Account.name == "Fjord Studio")
    kiosk = Account.get(Account.name == "Kiosk Nord")
    today = mrr.today_by_account(DEMO_TODAY)
    assert fjord.id not in today
    [sub] = Subscription.select().where(Subscription.account == kiosk.id)
    assert today[kiosk.id] == PriceVersion.get_by_id(sub.price_version_id).monthly_price * 2
    assert mrr.in_trial(Subscription.get(Subscription.account == fjord.id))
