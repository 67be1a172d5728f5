"""CSRF: every state-changing route (forms and htmx) refuses a missing or wrong token and
changes nothing. Generated from the URL map, like the authorization matrix."""
import pytest

from support.routes import (ADMIN_OR_OPERATOR, OPERATOR, ROLES, TOKEN, WEBHOOK, calls,
                            make_objects, rule_for, snapshot)

EXEMPT = {TOKEN: "bearer tokens, no cookies", WEBHOOK: "signed by the gateway"}


@pytest.fixture
def app(make_app):
    """The app with one object of every kind for both accounts."""
    application = make_app()
    make_objects(application)
    return application


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_state_change_refuses_missing_or_wrong_token(app, client, auth, token):
    state_changing = [c for c in calls(app)[0]
                      if c.method != "GET" and c.owner == "Northwind Retail"
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
