"""CSRF: every state-changing route (forms and htmx) refuses a missing or wrong token and
changes nothing. Generated from the URL map, like the authorization matrix."""
import pytest

from portal.db import db
from portal.models import MODELS
from test_authorization_matrix import ADMIN_OR_OPERATOR, OPERATOR, ROLES, TOKEN, WEBHOOK, \
    calls, make_objects, rule_for

EXEMPT = {TOKEN: "bearer tokens, no cookies", WEBHOOK: "signed by the gateway"}


@pytest.fixture
def app(make_app):
    """The app with one object of every kind for both accounts."""
    application = make_app()
    make_objects(application)
    return application


def columns(model):
    """What a refused request must leave as it was: every column but a user's session key,
    which logging out renews on purpose (ACC-8), and the account's usage stamp, a cache
    key that any update of a user row renews (migration 010's trigger)."""
    return [f for f in model._meta.sorted_fields if f.name not in ("session_key", "usage_stamp")]


def snapshot(app):
    """Every row of every table: what a refused request must leave as it was."""
    with app.app_context(), db.connection_context():
        return {m.__name__: sorted(map(repr, m.select(*columns(m)).tuples())) for m in MODELS}


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_state_change_refuses_missing_or_wrong_token(app, client, auth, token):
    state_changing = [c for c in calls(app)[0] if c.method != "GET" and c.owner == "Northwind Retail"
                      and rule_for(c.endpoint) not in EXEMPT]
    assert len(state_changing) > 20  # the walk found the forms
    before = snapshot(app)
    wrong = []
    for who in ("admin", "operator"):
        auth.login(as_=ROLES[who])
        for call in state_changing:
            if (rule_for(call.endpoint) in (OPERATOR, ADMIN_OR_OPERATOR)) != (who == "operator"):
                continue
            headers = {"HX-Request": "true"}
            if token:
                headers["X-CSRFToken"] = token
            response = client.open(call.url, method=call.method, headers=headers,
                                   data={"csrf_token": token} if token else {})
            if response.status_code != 400 or "form expired" not in response.get_data(
                    as_text=True):
                wrong.append(f"{who} {call.method} {call.url}: {response.status_code}")
        auth.logout()
    assert not wrong, "\n".join(wrong)
    assert snapshot(app) == before


def test_exempt_routes_are_only_api_and_webhooks(app):
    exempt = {c.endpoint.split(".")[0] for c in calls(app)[0]
              if c.method != "GET" and rule_for(c.endpoint) in EXEMPT}
    assert exempt == {"api", "webhooks"}
