"""Helpers for the plan-change tests: a pinned date, a vaulted card, and walking the wizard
through its real forms (CSRF tokens included).

Demo data as of DEMO_TODAY (2026-11-23), see portal/demo.py:
- Atelier Space: Business seat plan, annual (renews 2027-11-01), 5 users + 2 add-on
  licenses; 4 active users (Ada the admin and Ben hold add-on licenses), 2 deactivated.
- Northwind Retail: locations plan monthly (7 location subscriptions used) and a Team
  seat plan monthly, 2 users (both active) + 1 add-on license.
- Corner Bakeries: devices plan monthly, 3 devices.
"""
from __future__ import annotations

import html
import re
from decimal import Decimal

from portal.models import Account, PaymentMethod, Plan, Subscription
from portal.plugins.gateway_fake import _instance as fake_gateway
from support.database import DEMO_TODAY  # noqa: F401 (the tests import it from here too)

ATELIER, NORTHWIND, CORNER = "admin@atelier.example", "admin@northwind.example", \
    "admin@corner.example"


def subscription_of(account_name: str, plan_code: str) -> Subscription:
    return (Subscription.select().join(Plan).switch(Subscription).join(Account)
            .where((Account.name == account_name) & (Plan.code == plan_code)).get())


def add_card(account_name: str, nonce: str = "fake-valid-visa-nonce") -> PaymentMethod:
    """A default card vaulted by the fake gateway for the account."""
    result = fake_gateway.vault(None, nonce)
    assert result.ok, result.message
    card = result.card
    return PaymentMethod.create(account=Account.get(Account.name == account_name),
                                gateway="fake", token=card.token, brand=card.brand,
                                last4=card.last4, exp_month=card.exp_month,
                                exp_year=card.exp_year, is_default=True)


def with_card(app, auth, account_name: str, plan_code: str) -> int:
    """A card on file for ``account_name`` and its admin logged in; the id of its
    ``plan_code`` subscription."""
    with app.app_context():
        add_card(account_name)
        sid = subscription_of(account_name, plan_code).id
    auth.login(as_={"Atelier Space": ATELIER, "Northwind Retail": NORTHWIND,
                    "Corner Bakeries": CORNER}[account_name])
    return sid


def charges_for(key_prefix: str) -> list:
    """Charges the fake gateway received whose idempotency key starts with ``key_prefix``."""
    return [r for k, r in fake_gateway._charges.items() if k.startswith(key_prefix)]


def csrf(client) -> str:
    page = client.get("/admin/").get_data(as_text=True)
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def hidden(page: str, name: str) -> str | None:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


def figure(page: str, name: str) -> str:
    """The text of a ``data-figure`` cell (an amount as the page prints it)."""
    return re.search(rf'data-figure="{name}"[^>]*>([^<]*)<', page).group(1).strip()


def money_text(amount) -> str:
    return f"${Decimal(amount):,.2f}"


class Wizard:
    """Walk the wizard through its forms like a browser without JavaScript."""

    def __init__(self, client):
        self.client = client

    def step_one(self, sid, **values):
        data = {"csrf_token": csrf(self.client), **{k: str(v) for k, v in values.items()}}
        return self.client.post(f"/admin/subscription/{sid}/change", data=data)

    def to_survey(self, sid, **values) -> str:
        response = self.step_one(sid, **values)
        assert response.status_code == 303, response.get_data(as_text=True)[:3000]
        return response.headers["Location"]

    def answer(self, survey_url, reason="team_size", details=""):
        data = {"csrf_token": csrf(self.client), "details": details}
        if reason:
            data["reason"] = reason
        return self.client.post(survey_url, data=data)

    def to_review(self, sid, reason="team_size", details="", **values) -> str:
        """Step 1, then the survey when asked (a downgrade) or wanted (a reason given)."""
        url = self.to_survey(sid, **values)
        if "/review?" in url:  # CHG-2: only a downgrade asks why before the review
            if not reason and not details:
                return url
            url = url.replace("/review?", "/survey?")
        response = self.answer(url, reason, details)
        assert response.status_code == 303, response.get_data(as_text=True)[:3000]
        return response.headers["Location"]

    def reviewed(self, sid, reason="", **values) -> dict:
        """Step 1 with ``values``, the survey, then the review's form."""
        return self.review_form(self.to_review(sid, reason=reason, **values))

    def cancelled(self, sid, reason="price") -> tuple[str, dict]:
        """The cancel page and what its one form posts: (the page, the form's fields)."""
        page = self.client.get(f"/admin/subscription/{sid}/cancel").get_data(as_text=True)
        form = {"csrf_token": hidden(page, "csrf_token"), "review": hidden(page, "review"),
                "details": ""}
        assert form["review"], page[:3000]
        if reason:
            form["reason"] = reason
        return page, form

    def cancel(self, sid, form):
        """Confirm the cancellation: the cancel page's one POST."""
        return self.client.post(f"/admin/subscription/{sid}/cancel", data=form)

    def review_form(self, review_url) -> dict:
        """The review page's hidden fields: what Place order / Get a quote post."""
        page = self.client.get(review_url).get_data(as_text=True)
        form = {name: hidden(page, name)
                for name in ("csrf_token", "review", "recurring_after", "due_now", "price_from")}
        assert form["review"], page[:3000]
        return form

    def place(self, sid, form):
        return self.client.post(f"/admin/subscription/{sid}/order", data=form)

    def quote(self, sid, form):
        return self.client.post(f"/admin/subscription/{sid}/quote", data=form)
