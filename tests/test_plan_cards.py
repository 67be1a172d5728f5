"""Step 1 of the wizard shows the plans as cards with radio inputs (issue #17.3): the
price per unit for each interval, what the plan counts, the current plan marked and the
annual saving; a real form without JavaScript; Recalculate is for no-JS only."""
from __future__ import annotations

import re

import pytest

from support.changes import DEMO_TODAY, NORTHWIND, Wizard, subscription_of

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)


def step_one_page(app, client, auth, plan_code="team"):
    auth.login(as_=NORTHWIND)
    with app.app_context():
        sid = subscription_of("Northwind Retail", plan_code).id
    response = client.get(f"/admin/subscription/{sid}/change")
    assert response.status_code == 200
    return sid, response.get_data(as_text=True)


def card(html, code):
    return re.search(rf'<label[^>]*data-plan-card="{code}".*?</label>', html, re.S).group(0)


def test_plan_cards_are_radios_with_prices_counts_and_the_current_plan(app, client, auth):
    _sid, html = step_one_page(app, client, auth)
    assert '<select id="plan"' not in html and 'name="plan"' in html
    assert re.findall(r'data-plan-card="([^"]+)"', html) == ["team", "business"]
    team, business = card(html, "team"), card(html, "business")
    assert "data-current" in team and "Current plan" in team and "checked" in team
    assert "data-current" not in business and "checked" not in business
    # per unit, both intervals printed (the stylesheet shows the checked one)
    assert re.findall(r'data-unit-price="([^"]+)"', team) == ["25.00", "270.00"]
    assert re.findall(r'data-unit-price="([^"]+)"', business) == ["45.00", "486.00"]
    assert "Counts: users" in team
    # 12 × 25.00 − 270.00 a year per seat
    assert 'data-annual-saving="30.00"' in team and "saves $30.00 per unit a year" in team
    assert 'data-annual-saving="54.00"' in business


def test_choosing_a_plan_card_posts_like_the_dropdown_did(app, client, auth):
    sid, _html = step_one_page(app, client, auth)
    response = Wizard(client).step_one(sid, plan="business", interval="monthly", quantity=2,
                                       addon_quantity=1, recalculate="1")
    html = response.get_data(as_text=True)
    assert 'data-change="upgrade"' in html
    assert "checked" in card(html, "business") and "checked" not in card(html, "team")


def test_recalculate_is_hidden_while_htmx_runs(app, client, auth):
    _sid, html = step_one_page(app, client, auth)
    button = re.search(r'<button[^>]*name="recalculate"[^>]*>', html).group(0)
    assert 'class="nojs-only"' in button


def test_plan_cards_are_translated(app, client, auth):
    auth.login(as_=NORTHWIND)
    client.post("/language", data={"language": "fr", "csrf_token": auth.csrf_token("/language")})
    _sid, html = step_one_page(app, client, auth)
    assert "Formule actuelle" in html and "par unité et par mois" in html
