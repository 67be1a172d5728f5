"""The wizard's signed state (portal/views/change_draft.py): spelled-out fields; a draft or
review signed before that (one-letter keys, in flight during an upgrade) still works; a
signed payload that is not a draft is refused with "start again" and writes nothing."""
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer

from portal.models import ChangeOrder, PendingChange, SurveyAnswer
from portal.views.change_draft import OLD_DRAFT_KEYS, OLD_REVIEW_KEYS
from support.changes import DEMO_TODAY, NORTHWIND, Wizard, subscription_of

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)  # the wizard prices as of the demo day

DRAFT_FIELDS = {"subscription_id", "plan", "interval", "quantity", "addon_quantity", "cancel",
                "key", "survey_id"}


@pytest.fixture
def wizard(client, auth):
    auth.login(as_=NORTHWIND)
    return Wizard(client)


@pytest.fixture
def sid(app):
    with app.app_context():
        return subscription_of("Northwind Retail", "team").id


def signer(app, kind):
    return URLSafeTimedSerializer(app.secret_key, salt=f"portal.changes.{kind}")


def token_of(url):
    return parse_qs(urlsplit(url).query)["d"][0]


def old_style(payload, keys):
    """The payload as the wizard signed it before the fields were spelled out."""
    back = {new: old for old, new in keys.items()}
    return {back[name]: value for name, value in payload.items()}


def downgrade_survey(wizard, sid):
    return wizard.to_survey(sid, plan="team", interval="monthly", quantity=2, addon_quantity=0)


def test_the_signed_draft_spells_out_its_fields(app, wizard, sid):
    draft = signer(app, "draft").loads(token_of(downgrade_survey(wizard, sid)))
    assert set(draft) == DRAFT_FIELDS
    assert draft["subscription_id"] == sid and draft["plan"] == "team"
    assert draft["interval"] == "monthly" and draft["quantity"] == 2
    review_url = wizard.to_review(sid, plan="team", interval="monthly", quantity=2,
                                  addon_quantity=0)
    review = signer(app, "review").loads(wizard.review_form(review_url)["review"])
    assert set(review) == {"draft", "review_key", "fingerprint", "figures"}
    assert set(review["draft"]) == DRAFT_FIELDS and review["draft"]["survey_id"]


def test_an_old_one_letter_draft_in_flight_still_reaches_the_survey(app, client, wizard, sid):
    survey = downgrade_survey(wizard, sid)
    draft = signer(app, "draft").loads(token_of(survey))
    old = signer(app, "draft").dumps(old_style(draft, OLD_DRAFT_KEYS))
    page = client.get(f"/admin/subscription/{sid}/survey?d={old}")
    assert page.status_code == 200 and 'name="reason"' in page.get_data(as_text=True)
    answered = wizard.answer(f"/admin/subscription/{sid}/survey?d={old}", reason="price")
    assert answered.status_code == 303
    with app.app_context():
        assert SurveyAnswer.get().draft_key == draft["key"]  # the same run


def test_an_old_one_letter_review_in_flight_still_places_the_order(app, client, wizard, sid):
    review_url = wizard.to_review(sid, plan="team", interval="monthly", quantity=2,
                                  addon_quantity=0)
    form = wizard.review_form(review_url)
    review = signer(app, "review").loads(form["review"])
    review["draft"] = old_style(review["draft"], OLD_DRAFT_KEYS)
    form["review"] = signer(app, "review").dumps(old_style(review, OLD_REVIEW_KEYS))
    response = wizard.place(sid, form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        order = ChangeOrder.get()
        assert order.review_key == review["review_key"] and order.status == "placed"


@pytest.mark.parametrize("payload", [
    {"subscription_id": 0, "plan": "team"},  # fields missing
    {"s": 0, "p": "team", "i": "monthly", "q": 2, "a": 0, "c": False, "k": "x", "v": None,
     "z": 1},  # a key neither format has
    ["not", "a", "draft"],
    {"subscription_id": 0, "plan": "team", "interval": "monthly", "quantity": "two",
     "addon_quantity": 0},
], ids=["missing fields", "unknown field", "not an object", "not a number"])
def test_a_signed_payload_that_is_not_a_draft_says_start_again(app, client, wizard, sid,
                                                               payload):
    if isinstance(payload, dict) and "subscription_id" in payload:
        payload = {**payload, "subscription_id": sid}
    elif isinstance(payload, dict):
        payload = {**payload, "s": sid}
    token = signer(app, "draft").dumps(payload)
    with app.app_context():
        before = SurveyAnswer.select().count(), PendingChange.select().count()
    for step in ("survey", "review"):
        page = client.get(f"/admin/subscription/{sid}/{step}?d={token}")
        text = page.get_data(as_text=True)
        assert page.status_code == 400 and 'data-blocked="bad_token"' in text
        assert "Start the change again" in text
    with app.app_context():
        assert (SurveyAnswer.select().count(), PendingChange.select().count()) == before
