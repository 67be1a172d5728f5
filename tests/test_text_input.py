"""Text input (issue 13, item 11): every text field of every form refuses NUL and other
control characters, names also bidi and zero-width characters, with a message beside the
field; the API's JSON strings too, with a JSON error code. PostgreSQL used to answer 500
(DataError) where SQLite stored them silently."""
import html
import re

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from portal.forms import text_kind
from portal.models import Account, ApiToken, Subscription, SurveyAnswer



def every_form_class():
    found, todo = [], [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("portal."):
                found.append(sub)
    return found


def test_every_text_field_of_every_form_refuses_nul(app):
    classes = every_form_class()
    assert len(classes) >= 12  # every form of the app is imported by create_app
    checked = []
    with app.test_request_context(method="POST"):
        for cls in classes:
            names = [f.name for f in cls(formdata=None) if text_kind(f)]
            form = cls(formdata=MultiDict({name: "ok\x00" for name in names}))
            for field in form:
                if field.name not in names:
                    continue
                assert not field.validate(form), f"{cls.__name__}.{field.name} took NUL"
                assert any("U+0000" in e for e in field.errors), \
                    f"{cls.__name__}.{field.name}: {field.errors}"
                checked.append(f"{cls.__name__}.{field.name}")
    for expected in ("SurveyForm.details", "ManualRequestForm.note", "TokenForm.name",
                     "GrandfatherForm.note", "DecisionForm.note", "LoginForm.email",
                     "MarkPaidForm.reference", "CreditNoteForm.reason"):
        assert expected in checked


@pytest.mark.parametrize("value, kind, refused", [
    ("line one\nline two\ttabbed", "multiline", None),
    ("a\x00b", "multiline", "U+0000"),
    ("bell\x07", "multiline", "U+0007"),
    ("del\x7f", "multiline", "U+007F"),
    ("c1\x85", "multiline", "U+0085"),
    ("two\nlines", "line", "U+000A"),
    ("Zoë Ångström 山田 O'Brien", "name", None),
    ("evil\u202egnp.exe", "name", "U+202E"),
    ("zero\u200bwidth", "name", "U+200B"),
    ("iso\u2066late", "name", "U+2066"),
    ("bom\ufeff", "name", "U+FEFF"),
    ("evil\u202egnp.exe", "line", None),  # only names refuse bidi characters
])
def test_text_rules(value, kind, refused):
    from portal import text

    char = text.forbidden(value, kind)
    assert (text.describe(char) if char else None) == refused


def test_a_survey_detail_with_nul_is_refused_beside_the_field(app, client, auth):
    """The cancellation survey's details (CHG wizard) used to reach the database."""
    auth.login(as_="admin@northwind.example")
    with app.app_context():
        before = SurveyAnswer.select().count()
        sub = (Subscription.select().join(Account)
               .where(Account.name == "Northwind Retail").first())
    page = client.get(f"/admin/subscription/{sub.id}/cancel").get_data(as_text=True)
    review = html.unescape(re.search(r'name="review" value="([^"]+)"', page).group(1))
    url = f"/admin/subscription/{sub.id}/cancel"
    response = client.post(url, data={
        "reason": "other", "details": "we\x00leave", "review": review,
        "csrf_token": auth.csrf_token(url)})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "U+0000" in body and 'id="details-error"' in body
    with app.app_context():
        assert SurveyAnswer.select().count() == before


def test_a_token_name_with_a_bidi_override_is_refused(app, client, auth):
    auth.login(as_="operator@example.com")
    with app.app_context():
        before = ApiToken.select().count()
        page = f"/operator/accounts/{Account.get(Account.name == 'Northwind Retail').id}/tokens"
    response = client.post(page, data={"name": "billing\u202eexe.txt",
                                       "csrf_token": auth.csrf_token(page)})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "U+202E" in body and 'id="name-error"' in body
    with app.app_context():
        assert ApiToken.select().count() == before


@pytest.mark.parametrize("name, code", [("Leeds\x00", "U+0000"), ("Le\u200beds", "U+200B"),
                                        ("Le\u202eeds", "U+202E"), ("Le\x85eds", "U+0085")])
def test_api_names_refuse_control_and_invisible_characters(app, tokens, name, code):
    response = app.test_client().put("/api/v1/locations/new-place", json={"name": name},
                                     headers={"Authorization": f"Bearer {tokens['nw']}"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "forbidden_character" and error["field"] == "name"
    assert code in error["message"]
