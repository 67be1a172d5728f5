"""The plan-change wizard's pages, step by step (rules CHG-1..CHG-8), with real forms.

Every step is exercised as a browser without JavaScript would (plain POSTs, redirects)
and as htmx does (partials); roles, CSRF, and the subscription page's "ends on".
"""
import contextlib
import logging
import re
from decimal import Decimal

import pytest

from portal.billing import pricing
from portal.billing.changes import Terms, preview_change
from portal.catalogue import Prices, add_price_version
from portal.models import (Account, AuditEvent, ChangeOrder, Delivery, Membership,
                           OutboxMessage, PendingChange, Plan, SurveyAnswer, User)
from support.people import membership
from support.changes import (ATELIER, CORNER, DEMO_TODAY, NORTHWIND, Wizard, charges_for, csrf,
                             fake_gateway, figure, hidden, subscription_of, with_card)

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)  # the wizard prices as of the demo day

HTMX = {"HX-Request": "true", "HX-Target": "preview",
        "HX-Current-URL": "http://localhost/admin/subscription/"}


@pytest.fixture
def wizard(client):
    return Wizard(client)


def atelier(app):
    with app.app_context():
        return subscription_of("Atelier Space", "business")


def team(app):
    with app.app_context():
        return subscription_of("Northwind Retail", "team")


def counts(app):
    """Rows the wizard may write, to prove a refusal wrote nothing."""
    with app.app_context():
        return (ChangeOrder.select().count(), PendingChange.select().count(),
                SurveyAnswer.select().count(), AuditEvent.select().count())


# --- entry and roles (CHG-1, CHG-7, ACC-3) -------------------------------------------------

def test_chg1_dashboard_subscription_tab_offers_every_change(client, auth, app):
    auth.login(as_=NORTHWIND)
    page = client.get("/admin/").get_data(as_text=True)
    sub = team(app)
    assert f"/admin/subscription/{sub.id}/change" in page
    assert f"/admin/subscription/{sub.id}/change?interval=annual" in page
    assert f"/admin/subscription/{sub.id}/cancel" in page
    assert "/admin/subscription/quotes" in page


def test_chg7_negotiated_contract_shows_support_address_not_forms(client, auth, app):
    with app.app_context():
        from portal.models import Account
        Account.update(negotiated_contract=True).where(Account.name == "Atelier Space").execute()
    auth.login(as_=ATELIER)
    sid = atelier(app).id
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "success@portal.test" in dashboard
    assert f"/admin/subscription/{sid}/change" not in dashboard
    page = client.get(f"/admin/subscription/{sid}/change")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-blocked="negotiated"' in text
    assert "success@portal.test" in text and 'name="quantity"' not in text
    before = counts(app)
    refused = Wizard(client).step_one(sid, plan="team", interval="annual", quantity=5,
                                      addon_quantity=2)
    assert refused.status_code == 403 and counts(app) == before


@pytest.mark.parametrize("path", ["/{sid}/change", "/{sid}/cancel", "/quotes",
                                  "/{sid}/review?d=x", "/{sid}/survey?d=x"])
def test_acc3_members_and_operators_get_403(client, auth, app, path):
    sid = team(app).id
    for who in ("member@northwind.example", "operator@example.com"):
        auth.login(as_=who)
        assert client.get("/admin/subscription" + path.format(sid=sid)).status_code == 403
        auth.logout()


def test_acc3_member_cannot_post_an_order(client, auth, app):
    auth.login(as_="member@northwind.example")
    token = auth.csrf_token("/subscription/")
    before = counts(app)
    response = client.post(f"/admin/subscription/{team(app).id}/order",
                           data={"csrf_token": token, "review": "x"})
    assert response.status_code == 403 and counts(app) == before


def test_anonymous_is_sent_to_login(client, app):
    response = client.get(f"/admin/subscription/{team(app).id}/change")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_accounts_subscription_is_404(client, auth, app):
    auth.login(as_=NORTHWIND)
    sid = atelier(app).id
    assert client.get(f"/admin/subscription/{sid}/change").status_code == 404
    assert client.get(f"/admin/subscription/{sid}/cancel").status_code == 404
    before = counts(app)
    response = Wizard(client).step_one(sid, plan="business", interval="annual", quantity=9,
                                       addon_quantity=2)
    assert response.status_code == 404 and counts(app) == before


def test_ids_past_bigint_are_404_not_a_database_error(client, auth):
    auth.login(as_=NORTHWIND)
    huge = "99999999999999999999"
    for path in (f"/{huge}/change", f"/quotes/{huge}.pdf", f"/orders/{huge}",
                 f"/{huge}/cancel"):
        assert client.get("/admin/subscription" + path).status_code == 404


def test_csrf_is_required_on_every_wizard_post(client, auth, app):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    before = counts(app)
    for path in (f"/{sid}/change", f"/{sid}/order", f"/{sid}/quote", "/quotes/1/accept",
                 f"/{sid}/scheduled/1/withdraw"):
        response = client.post("/admin/subscription" + path, data={"quantity": "3"})
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True)
    assert counts(app) == before


# --- step 1: live preview, recalculate, field errors ----------------------------------------

def test_chg2_step1_full_page_then_htmx_partial(client, auth, app):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    page = client.get(f"/admin/subscription/{sid}/change").get_data(as_text=True)
    assert '<form id="change-form"' in page and 'hx-trigger="input changed delay:300ms"' in page
    assert 'name="recalculate"' in page and "<html" in page
    partial = client.get(f"/admin/subscription/{sid}/change?plan=team&interval=monthly"
                         "&quantity=5&addon_quantity=1", headers=HTMX)
    text = partial.get_data(as_text=True)
    assert partial.status_code == 200 and text.lstrip().startswith('<section id="preview"')
    assert "<html" not in text and 'data-change="upgrade"' in text
    # 3 more users at $25.00: $125.00 + $10.00 a month; the rest of November prorated
    assert figure(text, "recurring_after") == "$135.00"
    assert figure(text, "recurring_before") == "$60.00"
    with app.app_context():
        sub = subscription_of("Northwind Retail", "team")
        expected = preview_change(Terms.of(sub), Terms(sub.plan, "monthly", 5, 1),
                                  today=DEMO_TODAY, next_payment_date=sub.next_payment_date,
                                  usage=pricing.account_usage(sub.account_id))
    assert expected.due_now == Decimal("20.00")  # 75 x 8/30, rounded half-up
    assert figure(text, "due_now") == "$20.00"


def test_chg2_recalculate_without_javascript_renders_the_whole_page(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    response = wizard.step_one(sid, plan="team", interval="monthly", quantity=3,
                               addon_quantity=1, recalculate="1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page
    assert figure(page, "recurring_after") == "$85.00"
    assert 'value="3"' in page  # the form keeps what was typed


@pytest.mark.parametrize("quantity, message", [
    ("-1", "from 1 to 10000"), ("0", "from 1 to 10000"), ("abc", "Not a valid integer"),
    ("1.5", "Not a valid integer"), ("99999999999999999999", "from 1 to 10000"),
    ("", "Enter the number of users"), ("1e3", "Not a valid integer")])
def test_bad_quantities_are_field_errors_and_write_nothing(client, auth, app, wizard,
                                                           quantity, message):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    before = counts(app)
    response = wizard.step_one(sid, plan="team", interval="monthly", quantity=quantity,
                               addon_quantity=0)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(r'<p class="field-error" id="quantity-error">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert counts(app) == before
    partial = client.get(f"/admin/subscription/{sid}/change", headers=HTMX,
                         query_string={"plan": "team", "interval": "monthly",
                                       "quantity": quantity, "addon_quantity": "0"})
    assert partial.status_code == 200 and message in partial.get_data(as_text=True)


@pytest.mark.parametrize("values, field", [
    ({"plan": "nope"}, "plan"), ({"plan": "locations"}, "plan"),
    ({"interval": "weekly"}, "interval"), ({"addon_quantity": "-2"}, "addon_quantity"),
    ({"addon_quantity": "3"}, "addon_quantity"), ({"addon_quantity": "10001"}, "addon_quantity")])
def test_unknown_plans_intervals_and_bad_addons_are_refused(client, auth, app, wizard,
                                                            values, field):
    auth.login(as_=NORTHWIND)
    before = counts(app)
    data = {"plan": "team", "interval": "monthly", "quantity": "2", "addon_quantity": "1",
            **values}
    response = wizard.step_one(team(app).id, **data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page
    assert counts(app) == before


def test_nothing_changed_is_not_an_order(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    response = wizard.step_one(team(app).id, plan="team", interval="monthly", quantity=2,
                               addon_quantity=1)
    assert response.status_code == 400
    assert "This is your current subscription" in response.get_data(as_text=True)


# --- seat floor with inline deactivation (CHG-3) --------------------------------------------

def test_chg3_floor_lists_surplus_and_inline_deactivation_refreshes_preview(client, auth, app,
                                                                            wizard):
    auth.login(as_=ATELIER)
    sid = atelier(app).id
    response = wizard.step_one(sid, plan="business", interval="annual", quantity=3,
                               addon_quantity=2)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "You have 4 active users: deactivate 1 of them first" in page
    assert 'data-surplus-seats="1"' in page and 'data-user="cleo@atelier.example"' in page
    with app.app_context():
        cleo = User.get(User.email == "cleo@atelier.example")
    # htmx: the row's form posts and the preview comes back without the floor error
    partial = client.post(f"/admin/subscription/{sid}/change/members/{cleo.id}/deactivate",
                          data={"csrf_token": csrf(client), "plan": "business",
                                "interval": "annual", "quantity": "3", "addon_quantity": "2"},
                          headers=HTMX)
    text = partial.get_data(as_text=True)
    assert partial.status_code == 200 and text.lstrip().startswith('<section id="preview"')
    assert 'hx-swap-oob="true"' in text and "cleo@atelier.example is deactivated" in text
    assert 'data-change="downgrade"' in text and "active users" not in text
    with app.app_context():
        assert not membership(cleo.email).active
    assert wizard.step_one(sid, plan="business", interval="annual", quantity=3,
                           addon_quantity=2).status_code == 303


def test_chg3_deactivation_without_javascript_returns_to_step1(client, auth, app):
    auth.login(as_=ATELIER)
    sid = atelier(app).id
    with app.app_context():
        dev = User.get(User.email == "dev@atelier.example")
    response = client.post(f"/admin/subscription/{sid}/change/members/{dev.id}/deactivate",
                           data={"csrf_token": csrf(client), "plan": "business",
                                 "interval": "annual", "quantity": "3",
                                 "addon_quantity": "2"})
    assert response.status_code == 303
    assert f"/admin/subscription/{sid}/change?" in response.headers["Location"]
    assert "quantity=3" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "dev@atelier.example is deactivated" in page


def test_chg3_cannot_deactivate_self_or_another_accounts_user(client, auth, app):
    auth.login(as_=ATELIER)
    sid = atelier(app).id
    with app.app_context():
        ada = User.get(User.email == ATELIER)
        nora = User.get(User.email == NORTHWIND)
    url = f"/admin/subscription/{sid}/change/members/{{}}/deactivate"
    assert client.post(url.format(nora.id), data={"csrf_token": csrf(client)}).status_code == 404
    client.post(url.format(ada.id), data={"csrf_token": csrf(client)})
    with app.app_context():
        assert membership(ada.email).active and membership(nora.email).active


# --- step 2: survey -------------------------------------------------------------------------

def test_chg2_survey_required_for_downgrades_then_stored_and_sent(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    survey = wizard.to_survey(sid, plan="team", interval="monthly", quantity=2,
                              addon_quantity=0)
    page = client.get(survey).get_data(as_text=True)
    assert "we ask it for every downgrade" in page and 'value="competitor"' in page
    before = counts(app)
    missing = wizard.answer(survey, reason="")
    assert missing.status_code == 400 and 'id="reason-error"' in missing.get_data(as_text=True)
    other = wizard.answer(survey, reason="other", details="  ")
    assert other.status_code == 400 and 'id="details-error"' in other.get_data(as_text=True)
    bogus = wizard.answer(survey, reason="hacker")
    assert bogus.status_code == 400
    too_long = wizard.answer(survey, reason="price", details="x" * 1001)
    assert too_long.status_code == 400
    assert counts(app) == before
    done = wizard.answer(survey, reason="price", details="Too dear for two people")
    assert done.status_code == 303 and "/review?d=" in done.headers["Location"]
    # answering again (back button) updates the same answer, sent once
    wizard.answer(survey, reason="price", details="Too dear for the two of us")
    with app.app_context():
        answers = list(SurveyAnswer.select())
        assert len(answers) == 1 and answers[0].details == "Too dear for the two of us"
        assert answers[0].change == "downgrade" and answers[0].reason == "price"
        sent = list(Delivery.select().where(Delivery.kind == "survey_answered"))
        assert sent and {d.key for d in sent} == {f"survey_answered:{answers[0].id}"}
        assert OutboxMessage.select().where(OutboxMessage.kind == "survey_answered").count() == 1


def test_chg2_survey_is_optional_for_upgrades(client, auth, app, wizard):
    """Rule CHG-2: an upgrade (or an interval switch) goes from step 1 to the review; the
    survey is a link there, optional (issue #17: no "Why this change?" in the way)."""
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    review = wizard.to_survey(sid, plan="team", interval="monthly", quantity=3,
                              addon_quantity=1)
    assert "/review?d=" in review
    switch = wizard.to_survey(sid, plan="team", interval="annual", quantity=2,
                              addon_quantity=1)
    assert "/review?d=" in switch
    page = client.get(review).get_data(as_text=True)
    assert 'data-action="survey"' in page and "2. Review" in page and "2. Why" not in page
    with app.app_context():
        assert SurveyAnswer.select().count() == 0


def test_survey_answers_are_shown_to_operators(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    wizard.to_review(team(app).id, reason="features", details="Need the API",
                     plan="team", interval="monthly", quantity=2, addon_quantity=0)
    auth.logout()
    auth.login(as_="operator@example.com")
    with app.app_context():
        account_id = membership(NORTHWIND).account_id
    page = client.get(f"/operator/accounts/{account_id}").get_data(as_text=True)
    assert "Need the API" in page and "Features: missing, or needed" in page


def test_tampered_draft_is_refused_and_writes_nothing(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    survey = wizard.to_survey(sid, plan="team", interval="monthly", quantity=2,
                              addon_quantity=0)
    before = counts(app)
    tampered = survey[:-3] + ("AAA" if not survey.endswith("AAA") else "BBB")
    for url in (tampered, tampered.replace("/survey?", "/review?")):
        response = client.get(url)
        assert response.status_code == 400 and 'data-blocked="bad_token"' in \
            response.get_data(as_text=True)
    assert wizard.answer(tampered, reason="price").status_code == 400
    assert counts(app) == before


def test_a_draft_for_another_subscription_is_refused(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    survey = wizard.to_survey(team(app).id, plan="team", interval="monthly", quantity=2,
                              addon_quantity=0)
    with app.app_context():
        other = subscription_of("Northwind Retail", "locations").id
    response = client.get(re.sub(r"/subscription/\d+/", f"/subscription/{other}/", survey))
    assert response.status_code == 400


# --- step 3: review, Place order ---------------------------------------------------------

def test_chg4_chg5_monthly_downgrade_review_then_order(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    review_url = wizard.to_review(sid, plan="team", interval="monthly", quantity=2,
                                  addon_quantity=0)
    page = client.get(review_url).get_data(as_text=True)
    assert figure(page, "recurring_after") == "$50.00" and figure(page, "due_now") == "$0.00"
    assert 'data-date="2026-12-01"' in page
    assert "billed on the first day of each month" in page and "reduced at once" in page
    assert "Place order" in page and "Get a quote" in page
    form = wizard.review_form(review_url)
    response = wizard.place(sid, form)
    assert response.status_code == 303 and "/admin/subscription/orders/" in \
        response.headers["Location"]
    with app.app_context():
        sub = subscription_of("Northwind Retail", "team")
        assert (sub.quantity, sub.addon_quantity) == (2, 0)  # CHG-4: at once
        order = ChangeOrder.get()
        assert order.status == "placed" and order.change == "downgrade"
        assert order.effective_on.isoformat() == "2026-12-01" and order.due_now == 0
        assert order.survey_id == SurveyAnswer.get().id
        assert Delivery.select().where(Delivery.kind == "order_placed").count() >= 1
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-status="placed"' in done and "reduced now" in done


def test_chg8_upgrade_charges_the_prorated_difference_once(client, auth, app, wizard):
    sid = with_card(app, auth, "Northwind Retail", "team")
    form = wizard.reviewed(sid, plan="business", interval="monthly", quantity=2, addon_quantity=1)
    # Business: 2 x $45 + $15 = $105 vs $60 today; 8 of 30 days left in November
    assert form["recurring_after"] == "105.00" and form["due_now"] == "12.00"
    response = wizard.place(sid, form)
    assert response.status_code == 303
    again = wizard.place(sid, form)  # the double-click
    assert again.status_code == 303 and again.headers["Location"] == response.headers["Location"]
    with app.app_context():
        sub = subscription_of("Northwind Retail", "business")
        order = ChangeOrder.get()
        assert ChangeOrder.select().count() == 1 and order.status == "placed"
        assert order.due_now == Decimal("12.00") and order.transaction_id
        charged = charges_for(order.charge_key)
        assert len(charged) == 1 and charged[0].amount == Decimal("12.00")
        assert sub.plan.code == "business"
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "already placed" in page and figure(page, "due_now") == "$12.00"


def test_chg8_declined_charge_applies_nothing(client, auth, app, wizard):
    sid = with_card(app, auth, "Atelier Space", "business")
    # 5 more Business users, annual: 5 x $486 x 343/365 = $2,283.534..., in the decline band
    form = wizard.reviewed(sid, plan="business", interval="annual", quantity=10, addon_quantity=2)
    assert form["due_now"] == "2283.53"
    response = wizard.place(sid, form)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-status="declined"' in page and "Do Not Honor" in page
    assert "Nothing was changed" in page and "Try again" in page
    with app.app_context():
        sub = subscription_of("Atelier Space", "business")
        assert (sub.quantity, sub.addon_quantity) == (5, 2)
        assert ChangeOrder.get().status == "declined"
        assert PendingChange.select().count() == 0


def test_upgrade_without_a_card_is_refused_with_the_reason(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    form = wizard.reviewed(sid, plan="team", interval="monthly", quantity=3, addon_quantity=1)
    before = counts(app)
    response = wizard.place(sid, form)
    assert response.status_code == 409
    assert "no default card" in response.get_data(as_text=True)
    assert counts(app) == before


def test_stale_review_is_refused_and_shows_the_new_figures(client, auth, app, wizard):
    sid = with_card(app, auth, "Northwind Retail", "team")
    form = wizard.reviewed(sid, plan="business", interval="monthly", quantity=4,
                           addon_quantity=1)
    assert form["recurring_after"] == "195.00"
    with app.app_context():  # a new price version while the admin reads the review (CAT-2:
        # another plan is taken at its newest version)
        add_price_version(Plan.get(Plan.code == "business"),
                          Prices("USD", Decimal("50.00"), Decimal("540.00"), Decimal("15.00"),
                                 Decimal("162.00")), existing_from=None)
    before, charges = counts(app), len(fake_gateway._charges)
    response = wizard.place(sid, form)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and 'data-refused="true"' in page
    assert figure(page, "recurring_after") == "$215.00"
    assert hidden(page, "review") != form["review"]  # a new review to place
    assert counts(app) == before and len(fake_gateway._charges) == charges


@pytest.mark.parametrize("field, value", [("recurring_after", "1.00"), ("due_now", "0.00"),
                                          ("price_from", "2026-11-24"),
                                          ("review", "garbage")])
def test_tampered_review_fields_are_refused(client, auth, app, wizard, field, value):
    sid = with_card(app, auth, "Northwind Retail", "team")
    form = wizard.reviewed(sid, plan="team", interval="monthly", quantity=4, addon_quantity=1)
    before = counts(app)
    form[field] = value
    for response in (wizard.place(sid, form), wizard.quote(sid, form)):
        assert response.status_code == 400
    assert counts(app) == before


# --- interval switch, cancel and undo -------------------------------------------------------

def test_interval_switch_from_the_entry_link(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    page = client.get(f"/admin/subscription/{sid}/change?interval=annual").get_data(
        as_text=True)
    assert 'data-change="interval"' in page
    assert figure(page, "recurring_after") == "$648.00"  # 2 x $270 + $108, per year
    form = wizard.reviewed(sid, plan="team", interval="annual", quantity=2, addon_quantity=1)
    assert form["price_from"] == "2026-12-01"
    wizard.place(sid, form)
    with app.app_context():
        change = PendingChange.get()
        assert change.interval == "annual" and change.effective_on.isoformat() == "2026-12-01"
        assert subscription_of("Northwind Retail", "team").interval == "monthly"


def test_cancel_in_two_steps_then_ends_on_and_undo(client, auth, app, wizard):
    """Click-to-cancel (issue #17): the home's "Cancel subscription", then one page with
    the consequences, an optional reason and the confirm button; the POST lands home with
    the flash and the undo button."""
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    home = client.get("/subscription/").get_data(as_text=True)
    assert f'href="/admin/subscription/{sid}/cancel" data-action="cancel"' in home
    page, form = wizard.cancelled(sid, reason="competitor")
    assert 'data-ends-on="2026-11-30"' in page and "Nov 30, 2026" in page
    assert figure(page, "due_now") == "$0.00" and "Why are you leaving? (optional)" in page
    assert 'data-action="confirm-cancel"' in page and "/survey?" not in page
    placed = wizard.cancel(sid, form)
    assert placed.status_code == 303 and placed.headers["Location"].startswith("/subscription/")
    landed = client.get(placed.headers["Location"]).get_data(as_text=True)
    assert "Your subscription is cancelled: it ends on Nov 30, 2026." in landed
    assert "Undo the cancellation" in landed
    assert f'href="/admin/subscription/{sid}/cancel"' not in landed
    replay = wizard.cancel(sid, form)  # a double click, after the change was scheduled
    assert replay.status_code == 303
    assert "already placed" in client.get(replay.headers["Location"]).get_data(as_text=True)
    for path in ("/subscription/active", "/admin/"):
        shown = client.get(path).get_data(as_text=True)
        assert 'data-ends-on="2026-11-30"' in shown and "Ends on" in shown
        assert "Undo the cancellation" in shown
    with app.app_context():
        change = PendingChange.get()
        assert change.cancel and change.effective_on.isoformat() == "2026-12-01"
        assert ChangeOrder.select().count() == 1
        assert SurveyAnswer.get().reason == "competitor"
    blocked = client.get(f"/admin/subscription/{sid}/change").get_data(as_text=True)
    assert 'data-blocked="scheduled"' in blocked
    undo = client.post(f"/admin/subscription/{sid}/scheduled/{change.id}/withdraw",
                       data={"csrf_token": csrf(client)}, follow_redirects=True)
    text = undo.get_data(as_text=True)
    assert "The cancellation is undone" in text and "data-ends-on" not in text
    assert f'href="/admin/subscription/{sid}/cancel"' in text  # home, cancellable again
    with app.app_context():
        assert PendingChange.get_by_id(change.id).withdrawn_at is not None
    again = client.post(f"/admin/subscription/{sid}/scheduled/{change.id}/withdraw",
                        data={"csrf_token": csrf(client)})
    assert again.status_code == 404


def test_chg2_cancel_reason_is_optional(client, auth, app, wizard):
    """Rule CHG-2 as issue #17 narrows it: no reason needed to cancel (click-to-cancel)."""
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    _page, form = wizard.cancelled(sid, reason="")
    assert wizard.cancel(sid, form).status_code == 303
    with app.app_context():
        assert PendingChange.get().cancel and SurveyAnswer.select().count() == 0
        assert ChangeOrder.get().survey_id is None


def test_cancel_with_a_bad_reason_is_refused_beside_the_field(client, auth, app, wizard):
    """"Other" with no words: the page again, the error beside the field, nothing written."""
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    _page, form = wizard.cancelled(sid, reason="other")
    response = wizard.cancel(sid, form)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="details-error"' in body
    assert 'data-action="confirm-cancel"' in body
    with app.app_context():
        assert PendingChange.select().count() == 0 and SurveyAnswer.select().count() == 0


def test_cancel_with_an_altered_token_is_refused(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    _page, form = wizard.cancelled(sid)
    response = wizard.cancel(sid, {**form, "review": form["review"][:-3] + "abc"})
    assert response.status_code == 400
    other = wizard.reviewed(sid, plan="team", interval="monthly", quantity=3,
                            addon_quantity=1)  # an upgrade's review is no cancellation
    assert wizard.cancel(sid, {**form, "review": other["review"]}).status_code == 400
    with app.app_context():
        assert PendingChange.select().count() == 0 and ChangeOrder.select().count() == 0


def test_member_sees_ends_on_without_undo(client, auth, app, wizard):
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    wizard.cancel(sid, wizard.cancelled(sid)[1])
    auth.logout()
    auth.login(as_="member@northwind.example")
    shown = client.get("/subscription/active").get_data(as_text=True)
    assert 'data-ends-on="2026-11-30"' in shown and "Undo" not in shown


def test_usage_plan_changes_plan_only_and_review_explains_the_quantity(client, auth, app,
                                                                       wizard):
    auth.login(as_=CORNER)
    with app.app_context():
        sid = subscription_of("Corner Bakeries", "devices").id
    page = client.get(f"/admin/subscription/{sid}/change").get_data(as_text=True)
    assert 'name="quantity"' not in page and 'value="locations"' in page
    assert 'value="team"' not in page
    review = wizard.to_review(sid, reason="features", plan="locations", interval="monthly")
    text = client.get(review).get_data(as_text=True)
    assert 'data-why="usage"' in text and "follows what is on the platform (today: 2)" in text
    # 2 locations on the platform: 2 x $49 against 3 devices x $15
    assert figure(text, "recurring_after") == "$98.00"


def test_live_preview_reuses_the_counted_usage_until_it_changes(client, auth, app):
    """Issue #20: the preview sent on every keystroke reads the usage counted under the
    account's current usage stamp instead of counting devices and people again (the one
    statement whose cost grows with the account); a change of people renews the stamp, and
    the next preview counts again and shows the new figures."""
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    url = (f"/admin/subscription/{sid}/change?plan=team&interval=monthly"
           "&quantity=1&addon_quantity=1")
    client.get(url, headers=HTMX)  # counted once
    with statements() as warm:
        text = client.get(url, headers=HTMX).get_data(as_text=True)
    assert "You have 2 active users" in text  # CHG-3, from the usage counted before
    assert warm and not any('"device"' in sql for sql in warm)
    with app.app_context():
        user = User.create(email="extra@northwind.example", name="Extra", password_hash="!")
        Membership.create(user=user, account=Account.get(Account.name == "Northwind Retail"),
                          role="member")
    with statements() as after_change:
        text = client.get(url, headers=HTMX).get_data(as_text=True)
    assert any('"device"' in sql for sql in after_change)  # the stamp moved: counted again
    assert "You have 3 active users" in text  # and the preview says so (CHG-3)


def test_live_preview_reads_each_thing_once(client, auth, app):
    """Issue #20: the priced preview sent on every keystroke reads the person (user
    loader), the subscription with its plan and price version, its scheduled changes and
    the plans it may move to: four statements, each once (the plan cards and their prices
    are step 1's page, not the partial's). It read the plans four times, the account twice
    and the fingerprint a review signs (which it never shows): fourteen."""
    auth.login(as_=NORTHWIND)
    sid = team(app).id
    url = (f"/admin/subscription/{sid}/change?plan=team&interval=monthly"
           "&quantity=6&addon_quantity=1")
    client.get(url, headers=HTMX)  # the usage counted once, as every preview after it reuses
    with statements() as logged:
        answer = client.get(url, headers=HTMX)
    seen = [sql for sql in logged if not sql.endswith("pool.")]  # not the pool's messages
    assert answer.status_code == 200
    assert 'data-change="upgrade"' in answer.get_data(as_text=True)  # priced, not refused
    assert len(seen) <= 4, seen
    assert len(set(seen)) == len(seen), seen  # nothing read twice


def test_cat2_plan_cards_follow_a_new_price_version_at_once(client, auth, app):
    """Issue #20: step 1's plan cards take the price book kept per worker under its state;
    a new price version (CAT-2: new subscriptions pay it at once) shows on the next
    request, and the live preview prices with it."""
    auth.login(as_=NORTHWIND)
    sid = team(app).id

    def business_card():
        page = client.get(f"/admin/subscription/{sid}/change").get_data(as_text=True)
        card = re.search(r'data-plan-card="business".*?</label>', page, re.S).group(0)
        return re.search(r'class="price-monthly" data-unit-price="([^"]+)"', card).group(1)

    assert business_card() == "45.00"
    with app.app_context():
        add_price_version(Plan.get(Plan.code == "business"),
                          Prices("USD", Decimal("50.00"), Decimal("540.00"), Decimal("15.00"),
                                 Decimal("162.00")), existing_from=None)
    assert business_card() == "50.00"


@contextlib.contextmanager
def statements():
    """The SQL statements peewee runs inside the block (it logs each one at DEBUG)."""
    found: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            found.append(str(record.msg[0]) if isinstance(record.msg, tuple) else str(record.msg))

    handler, logger = Collect(logging.DEBUG), logging.getLogger("peewee")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
