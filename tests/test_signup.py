"""Self-serve sign-up (issue #16 item 6, rule ONB-1): the public pricing page, the sign-up
form (honeypot, login rate limit, no user enumeration), the mailed single-use link, and
what following it creates through the one set of services."""
import datetime as dt
import re

import pytest

from portal.db import db
from portal.models import (Account, AuditEvent, Delivery, Invoice, Membership, PendingSignup,
                           Receipt, Subscription, User)
from support.api import parts
from support.database import DEMO_TODAY

PASSWORD = "Copper-Meadow-8052"
KNOWN, NEW = "admin@northwind.example", "ada@lovelace.example"
ON = pytest.mark.app_config(SIGNUP=True, TODAY=DEMO_TODAY)


def csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


SIGNUP_URL = "/signup?plan=team&interval=monthly&currency=USD"


def sign_up(client, address="127.0.0.1", close=True, **fields):
    data = {"company_name": "Lovelace Analytics", "name": "Ada Lovelace", "email": NEW,
            "password": PASSWORD, "country": "GB", "quantity": "3", "plan": "team",
            "interval": "monthly", "currency": "USD", "website": "",
            "csrf_token": csrf(client, SIGNUP_URL)}
    data.update(fields)
    response = client.post("/signup", data=data, environ_base={"REMOTE_ADDR": address})
    if close:
        response.close()  # the lookup and the mail run once the answer is sent
    return response


def page_text(response) -> str:
    """The page without its CSRF tokens (signed with the second they were made in)."""
    return re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", response.get_data(as_text=True))


def link_in(mail) -> str:
    return re.search(r"http://localhost(/signup/verify/\S+)", parts(mail)["text/plain"]).group(1)


def created(app):
    with app.app_context():
        return (Account.select().count(), User.select().count(), Subscription.select().count(),
                PendingSignup.select().count())


def test_onb1_signup_is_off_by_default_every_page_404(client):
    for path in ("/pricing", SIGNUP_URL, "/signup/verify/anything", "/signup/pay"):
        assert client.get(path).status_code == 404, path
    assert client.post("/signup", data={}).status_code in (400, 404)


@ON
def test_onb1_pricing_page_lists_available_plans_with_prices_in_the_chosen_currency(client):
    monthly = client.get("/pricing").get_data(as_text=True)
    assert 'data-plan="team"' in monthly and "$25.00" in monthly
    assert 'href="/signup?plan=team&amp;interval=monthly&amp;currency=USD"' in monthly
    annual = client.get("/pricing?interval=annual&currency=EUR").get_data(as_text=True)
    assert "€248.00" in annual and "$" not in re.sub(r"<[^>]+>", "", annual).split("Plans")[1]
    assert 'href="/signup?plan=team&amp;interval=annual&amp;currency=EUR"' in annual
    # the toggles are links (no JavaScript): the current choice is marked
    assert re.search(r'data-interval="annual" aria-current="page"', annual)
    assert re.search(r'data-currency="EUR" aria-current="page"', annual)


@ON
def test_onb1_signup_without_a_plan_goes_to_the_pricing_page(client):
    response = client.get("/signup")
    assert response.status_code == 302 and response.location.startswith("/pricing")


@ON
def test_onb1_signup_creates_nothing_until_the_link_is_followed(app, mail_app, smtp_server):
    client = mail_app.test_client()
    before = created(mail_app)
    response = sign_up(client)
    assert response.status_code == 200
    assert "We sent a link to ada@lovelace.example" in response.get_data(as_text=True)
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == NEW and mail["Subject"] == "Confirm your e-mail address"
    accounts, users, subs, pending = created(mail_app)
    assert (accounts, users, subs) == before[:3] and pending == before[3] + 1
    with mail_app.app_context():
        row = PendingSignup.get(PendingSignup.email == NEW)
        assert row.password_hash != PASSWORD and PASSWORD not in parts(mail)["text/plain"]


@pytest.fixture
def mail_app(make_app, smtp_server):
    """The app with sign-up on and the mail channel pointed at the test's SMTP server."""
    application = make_app(SIGNUP=True, TODAY=DEMO_TODAY, **smtp_server.config())
    yield application
    if not db.is_closed():
        db.close()


def test_onb1_the_link_opens_the_account_makes_the_admin_and_starts_the_subscription(
        mail_app, smtp_server):
    client = mail_app.test_client()
    sign_up(client)
    path = link_in(smtp_server.wait_for(1)[0])
    before = created(mail_app)
    confirm = client.get(path)  # a page with one button: mail scanners use nothing up
    assert confirm.status_code == 200 and "Lovelace Analytics" in confirm.get_data(as_text=True)
    assert created(mail_app) == before and client.get(path).status_code == 200
    response = client.post(path, data={"csrf_token": csrf(client, path)})
    assert response.status_code == 303
    assert response.location.startswith("/admin/cards/new?next=/signup/pay")
    with mail_app.app_context():
        person = User.get(User.email == NEW)
        account = Account.get(Account.name == "Lovelace Analytics")
        membership = Membership.get(Membership.user == person)
        assert membership.account_id == account.id and membership.role == "admin"
        assert account.currency == "USD" and account.country == "GB"
        sub = Subscription.get(Subscription.account == account)
        assert (sub.plan.code, sub.interval, sub.quantity) == ("team", "monthly", 3)
        assert sub.next_payment_date == DEMO_TODAY  # the first period is billed at once
        assert AuditEvent.select().where(AuditEvent.account == account.id,
                                         AuditEvent.action == "account.opened").exists()
    # logged in as the new admin, with the password chosen on the form
    assert client.get("/admin/cards/new").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client, "/subscription/")})
    login = client.post("/login", data={"email": NEW, "password": PASSWORD,
                                        "csrf_token": csrf(client, "/login")})
    assert login.status_code == 302


def test_onb1_the_first_invoice_is_issued_and_paid_at_once_after_the_card(
        mail_app, smtp_server):
    client = mail_app.test_client()
    sign_up(client)
    path = link_in(smtp_server.wait_for(1)[0])
    client.post(path, data={"csrf_token": csrf(client, path)})
    assert client.get("/signup/pay").location.startswith("/admin/cards/new")  # no card yet
    added = client.post("/admin/cards/", data={
        "payment_method_nonce": "fake-valid-visa-nonce", "next": "/signup/pay",
        "csrf_token": csrf(client, "/admin/cards/new")})
    assert added.status_code == 303 and added.location == "/signup/pay"
    page = client.get("/signup/pay").get_data(as_text=True)
    # 3 seats x 25.00, prorated for 2026-11-23..30 (8 of 30 days) = 20.00
    assert re.search(r'data-testid="due-today"><strong>\$20\.00', page), page
    paid = client.post("/signup/pay", data={"csrf_token": csrf(client, "/signup/pay")})
    assert paid.status_code == 303 and paid.location == "/subscription/"
    with mail_app.app_context():
        account = Account.get(Account.name == "Lovelace Analytics")
        [invoice] = Invoice.select().where(Invoice.account == account.id)
        assert invoice.status == "paid" and str(invoice.total) == "20.00"
        assert Receipt.select().where(Receipt.invoice == invoice.id).exists()
        assert Subscription.get(Subscription.account == account).next_payment_date == \
            dt.date(2026, 12, 1)
    # nothing is due any more: the page sends the admin to the subscription
    assert client.get("/signup/pay").location == "/subscription/"


def test_onb1_the_link_works_once(mail_app, smtp_server):
    client = mail_app.test_client()
    sign_up(client)
    path = link_in(smtp_server.wait_for(1)[0])
    client.post(path, data={"csrf_token": csrf(client, path)})
    other = mail_app.test_client()
    assert other.get(path).status_code == 410
    assert "works once, for 24 hours" in other.get(path).get_data(as_text=True)
    with mail_app.app_context():
        assert Account.select().where(Account.name == "Lovelace Analytics").count() == 1


def test_onb1_the_link_expires_after_24_hours(mail_app, smtp_server):
    client = mail_app.test_client()
    sign_up(client)
    path = link_in(smtp_server.wait_for(1)[0])
    mail_app.config["TODAY"] = DEMO_TODAY + dt.timedelta(days=2)
    assert client.get(path).status_code == 410
    assert client.post(path, data={"csrf_token": csrf(client, SIGNUP_URL)}).status_code == 410
    mail_app.config["TODAY"] = DEMO_TODAY
    assert client.get(path[:-3] + "abc").status_code == 410  # forged
    assert client.get(path).status_code == 200  # the same link, within its 24 hours
    with mail_app.app_context():
        assert not User.select().where(User.email == NEW).exists()


def test_onb1_a_known_address_gets_the_same_answer_and_a_log_in_mail(mail_app, smtp_server):
    client = mail_app.test_client()
    known = sign_up(client, email=KNOWN)
    unknown = sign_up(client, email=NEW)
    assert known.status_code == unknown.status_code == 200
    assert page_text(known).replace(KNOWN, "@") == page_text(unknown).replace(NEW, "@")
    mails = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert mails[KNOWN]["Subject"] == "You already have a login"
    assert "http://localhost/login" in parts(mails[KNOWN])["text/plain"]
    assert "/signup/verify/" not in parts(mails[KNOWN])["text/plain"]
    assert mails[NEW]["Subject"] == "Confirm your e-mail address"
    with mail_app.app_context():
        assert not PendingSignup.select().where(PendingSignup.email == KNOWN).exists()


def test_onb1_the_honeypot_answers_as_success_and_creates_nothing(mail_app, smtp_server):
    client = mail_app.test_client()
    before = created(mail_app)
    bot = sign_up(client, website="http://spam.example")
    assert bot.status_code == 200 and 'data-testid="signup-sent"' in bot.get_data(as_text=True)
    assert created(mail_app) == before
    sign_up(client, email="real@lovelace.example")  # proves the mail server listened
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["real@lovelace.example"]
    with mail_app.app_context():
        assert not Delivery.select().where(Delivery.payload.contains(NEW)).exists()


@pytest.mark.app_config(SIGNUP=True, TODAY=DEMO_TODAY, LOGIN_RATE_LIMIT="2 per minute")
def test_onb1_the_login_rate_limit_applies_to_signup(app, client):
    for _ in range(2):
        assert sign_up(client).status_code == 200
    refused = sign_up(client)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in refused.get_data(as_text=True)
    with app.app_context():
        assert PendingSignup.select().count() == 2
    # another address from another client is not held back
    assert sign_up(client, address="10.0.0.9", email="x@lovelace.example").status_code == 200


@ON
def test_onb1_field_errors_are_shown_beside_the_fields_and_nothing_is_created(app, client):
    before = created(app)
    response = sign_up(client, company_name=" ", email="not-an-address", password="short",
                       country="ZZ", quantity="0")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("company_name", "email", "password", "country", "quantity"):
        assert f'id="{field}-error"' in page, field
    assert "Use at least 10 characters." in page
    assert 'href="#email"' in page  # the error summary links to each field
    assert created(app) == before


@ON
def test_onb1_the_account_service_refuses_what_it_refuses_everywhere(app, client):
    """ONB-1: the sign-up asks ``open_account``'s own checks (here a name with a
    text-direction character), beside the field, creating nothing."""
    before = created(app)
    response = sign_up(client, company_name="Evil\u202eCorp")
    assert response.status_code == 400
    assert 'id="company_name-error"' in response.get_data(as_text=True)
    assert created(app) == before


@ON
def test_onb1_a_plan_not_offered_cannot_be_signed_up_for(app, client):
    assert client.get("/signup?plan=nope").status_code == 302
    assert sign_up(client, plan="nope").status_code == 400


def test_tri1_a_plan_with_a_trial_starts_it_and_asks_no_card(mail_app, smtp_server):
    """TRI-1 through sign-up: "Start free trial" on the pricing page; the link starts a
    trialing subscription (its first payment date is the trial's last day) and leads
    straight to the subscription page, with no card and no invoice."""
    from portal.catalogue import save_plan
    from portal.models import Plan

    with mail_app.app_context():
        team = Plan.get(Plan.code == "team")
        save_plan("team", name=team.name, kind=team.kind, rank=team.rank, trial_days=14)
    client = mail_app.test_client()
    pricing = client.get("/pricing").get_data(as_text=True)
    assert re.search(r'data-start="team">Start free trial', pricing)
    assert "14-day free trial" in pricing
    sign_up(client)
    path = link_in(smtp_server.wait_for(1)[0])
    response = client.post(path, data={"csrf_token": csrf(client, path)})
    assert response.status_code == 303 and response.location == "/subscription/"
    page = client.get("/subscription/").get_data(as_text=True)
    assert "Your free trial runs until December 6, 2026" in page
    with mail_app.app_context():
        account = Account.get(Account.name == "Lovelace Analytics")
        sub = Subscription.get(Subscription.account == account)
        assert sub.status == "trialing" and sub.trial_ends_on == dt.date(2026, 12, 6)
        assert sub.next_payment_date == dt.date(2026, 12, 6)
        assert not Invoice.select().where(Invoice.account == account.id).exists()
    assert client.get("/signup/pay").location == "/subscription/"  # nothing due today
