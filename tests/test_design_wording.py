"""The wording fixes of issue 17: plural forms where a number meets a noun, "reduced at
once" only for what is reduced, the whole bearer header on a new token, words instead of
stored codes in operator tables. The page markup itself is checked in tests/browser."""
import re

import pytest

from support.changes import ATELIER, DEMO_TODAY, NORTHWIND, subscription_of

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)  # the wizard prices as of the demo day

HTMX_HEADERS = {"HX-Request": "true", "HX-Target": "preview",
                "HX-Current-URL": "http://localhost/admin/subscription/"}


def test_one_add_on_license_is_singular_in_english_and_french(app, client, auth):
    auth.login(as_=NORTHWIND)  # Team: 2 users, 1 add-on license
    with app.app_context():
        sid = subscription_of("Northwind Retail", "team").id
    page = client.get(f"/admin/subscription/{sid}/change").get_data(as_text=True)
    assert "2 users, 1 add-on license." in page and "1 add-on licenses" not in page
    page = client.get(f"/admin/subscription/{sid}/change",
                      headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "2 utilisateurs, 1 licence complémentaire." in page


def test_a_plan_downgrade_keeping_users_says_nothing_is_reduced(app, client, auth):
    auth.login(as_=ATELIER)  # Business, 5 users, 2 add-on licenses -> Team, same counts
    with app.app_context():
        sid = subscription_of("Atelier Space", "business").id
    page = client.get(f"/admin/subscription/{sid}/change",
                      query_string={"plan": "team", "interval": "annual", "quantity": 5,
                                    "addon_quantity": 2},
                      headers=HTMX_HEADERS).get_data(as_text=True)
    assert 'data-change="downgrade"' in page
    assert "reduced at once" not in page and "Nothing is refunded" in page
    page = client.get(f"/admin/subscription/{sid}/change",
                      query_string={"plan": "team", "interval": "annual", "quantity": 4,
                                    "addon_quantity": 2},
                      headers=HTMX_HEADERS).get_data(as_text=True)
    assert "Your users are reduced at once" in page


def test_a_new_token_page_shows_the_whole_authorization_header(app, client, auth):
    auth.login(as_="operator@example.com")
    page = "/operator/accounts/1/tokens"
    response = client.post(page, data={"name": "Counting product",
                                       "csrf_token": auth.csrf_token(page)})
    html = response.get_data(as_text=True)
    plain = re.search(r'value="(ptk_[^"]+)"', html)[1]
    assert f'data-testid="bearer-header">Authorization: Bearer {plain}</code>' in html
    assert "Bearer ”" not in html


def test_stored_codes_read_as_words(app):
    with app.test_request_context():
        render = app.jinja_env.from_string(
            '{% from "_macros.html" import event_label, action_label, change_name %}'
            '{{ event_label("billing_payment_failed") }}|{{ event_label("quota_exceeded") }}|'
            '{{ action_label("member.deactivate") }}|{{ change_name("downgrade") }}').render
        assert render() == "Payment failed|Quota exceeded|User deactivated|Downgrade"
