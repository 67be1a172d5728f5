"""Rule SUB-4: every estimate of a coming charge (the active subscriptions tab, the admin
dashboard, the API, the PAY-3 threshold) equals what the billing run bills on that date,
given everything already scheduled (downgrades, interval switches, cancellations).

The scenarios go through the real wizard (its forms, CSRF included), the real API with a
token and the real billing run; the property test builds random accounts, usage and
scheduled changes and compares today's estimate with the invoice the run issues.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from billing_support import invoices_of, lines_of, run
from changes_support import (ATELIER, DEMO_TODAY, NORTHWIND, Wizard, add_card,  # noqa: F401
                             app, subscription_of)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import api_tokens
from portal.billing import payment_terms, pricing, renewals
from portal.billing.changes import pending_changes
from portal.billing.money import money
from portal.db import db
from portal.models import (Account, Device, Location, PendingChange, Plan, Subscription, User,
                           utcnow)

D = dt.date


@pytest.fixture
def wizard(client):
    return Wizard(client)


def tab_estimate(client, sid) -> str:
    """The estimated next charge the active subscriptions tab prints for ``sid``."""
    page = client.get("/subscription/active").get_data(as_text=True)
    row = re.search(rf'<tr data-subscription="{sid}">(.*?)</tr>', page, re.S).group(1)
    return re.search(r'data-estimate="([^"]*)"', row).group(1)


def dashboard_estimate(client, sid) -> str:
    page = client.get("/admin/").get_data(as_text=True)
    row = re.search(rf'<tr data-subscription="{sid}">(.*?)</tr>', page, re.S).group(1)
    return re.search(r'data-estimate="([^"]*)"', row).group(1)


def api_estimate(app, client, account_name, sid) -> dict:
    with app.app_context():
        _, token = api_tokens.create_token(Account.get(Account.name == account_name), "sub4")
    body = client.get("/api/v1/subscriptions",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    return next(s for s in body["subscriptions"] if s["id"] == sid)["estimate"]


def billed(app, account_name, sid, day) -> Decimal | None:
    """Run the billing run for ``day``; the total it invoices ``sid`` for the period
    starting that day (None when it issues none)."""
    with app.app_context():
        run(app, day)
        found = invoices_of(Account.get(Account.name == account_name), subscription=sid,
                            period_start=day)
        return found[0].total if found else None


def place(wizard, sid, **values):
    response = wizard.place(sid, wizard.review_form(wizard.to_review(sid, **values)))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


# --- (a) the two demo scenarios -----------------------------------------------------

def test_sub4_atelier_annual_downgrade_estimate_is_what_the_run_bills(client, auth, app,
                                                                     wizard):
    auth.login(as_=ATELIER)
    with app.app_context():
        sub = subscription_of("Atelier Space", "business")
        sid, renewal = sub.id, sub.next_payment_date
    assert renewal == D(2027, 11, 1)
    place(wizard, sid, plan="team", interval="annual", quantity=4, addon_quantity=2)
    # CHG-4: 4 seats at once; CHG-5: Team from the renewal: 4 x 270.00 + 2 x 108.00
    assert tab_estimate(client, sid) == "1296.00"
    assert dashboard_estimate(client, sid) == "1296.00"
    estimate = api_estimate(app, client, "Atelier Space", sid)
    assert estimate["total"] == "1296.00" and estimate["due_on"] == "2027-11-01"
    assert (estimate["plan"], estimate["interval"]) == ("team", "annual")
    with app.app_context():
        assert payment_terms.billing_period_amount(sub.account_id) == Decimal("1296.00")
    assert billed(app, "Atelier Space", sid, renewal) == Decimal("1296.00")


def test_sub4_northwind_monthly_downgrade_estimate_is_what_the_run_bills(client, auth, app,
                                                                        wizard):
    with app.app_context():
        add_card("Northwind Retail")
        sid = subscription_of("Northwind Retail", "team").id
    auth.login(as_=NORTHWIND)
    place(wizard, sid, reason="", plan="business", interval="monthly", quantity=2,
          addon_quantity=2)  # CHG-8: at once, 2 x 45.00 + 2 x 15.00 = 120.00 a month
    assert tab_estimate(client, sid) == "120.00"
    place(wizard, sid, plan="team", interval="monthly", quantity=2, addon_quantity=2)
    # Team from 1 December: 2 x 25.00 + 2 x 10.00
    assert tab_estimate(client, sid) == "70.00"
    assert dashboard_estimate(client, sid) == "70.00"
    estimate = api_estimate(app, client, "Northwind Retail", sid)
    assert estimate["total"] == "70.00" and estimate["due_on"] == "2026-12-01"
    assert billed(app, "Northwind Retail", sid, D(2026, 12, 1)) == Decimal("70.00")


# --- (b) a cancellation, (c) an interval switch -----------------------------------------------

def test_sub4_cancellation_before_the_next_payment_shows_no_charge(client, auth, app, wizard):
    with app.app_context():
        sid = subscription_of("Northwind Retail", "team").id
    auth.login(as_=NORTHWIND)
    page = client.get(f"/admin/subscription/{sid}/cancel").get_data(as_text=True)
    survey = re.search(r'href="([^"]*/survey\?d=[^"]+)"', page).group(1).replace("&amp;", "&")
    form = wizard.review_form(wizard.answer(survey, reason="price").headers["Location"])
    assert wizard.place(sid, form).status_code == 303
    with app.app_context():
        assert pending_changes(Subscription.get_by_id(sid)).get().cancel
    page = client.get("/subscription/active").get_data(as_text=True)
    row = re.search(rf'<tr data-subscription="{sid}">(.*?)</tr>', page, re.S).group(1)
    assert 'data-estimate="0.00"' in row and "data-no-charge" in row and "No charge" in row
    estimate = api_estimate(app, client, "Northwind Retail", sid)
    assert estimate["total"] == "0.00" and estimate["ends_on"] == "2026-11-30"
    with app.app_context():  # the location plan alone: 7 x 49.00
        assert payment_terms.billing_period_amount(
            Account.get(Account.name == "Northwind Retail").id) == Decimal("343.00")
    assert billed(app, "Northwind Retail", sid, D(2026, 12, 1)) is None
    with app.app_context():
        assert Subscription.get_by_id(sid).status == "cancelled"


def test_sub4_interval_switch_bills_a_year_at_the_annual_price(client, auth, app, wizard):
    with app.app_context():
        sid = subscription_of("Northwind Retail", "team").id
    auth.login(as_=NORTHWIND)
    place(wizard, sid, reason="", plan="team", interval="annual", quantity=2, addon_quantity=1)
    # From 1 December, annual: 2 x 270.00 + 1 x 108.00
    assert tab_estimate(client, sid) == "648.00"
    estimate = api_estimate(app, client, "Northwind Retail", sid)
    assert (estimate["total"], estimate["interval"]) == ("648.00", "annual")
    assert billed(app, "Northwind Retail", sid, D(2026, 12, 1)) == Decimal("648.00")
    with app.app_context():
        assert Subscription.get_by_id(sid).next_payment_date == D(2027, 12, 1)
