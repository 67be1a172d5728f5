"""What the page speed-ups keep: template translations looked up once per request and
language still follow every change of language within the request (portal.i18n); the
usage tab rendered once (portal.fragments) is never shown after what it shows has changed
(rules USE-1, USE-2, SUB-1)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import render_template_string
from markupsafe import Markup
from flask_babel import force_locale, refresh

from portal import demo, fragments
from portal.catalogue import Prices, add_price_version
from portal.models import Account, Device, Location, PendingChange, Plan, Subscription
from support.pages import bars


GREETING = "{{ _('Manage subscription') }}"


def test_template_translations_follow_force_locale_and_refresh(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(GREETING) == "Manage subscription"
        with force_locale("fr"):  # a document in the account's language
            french = render_template_string(GREETING)
        assert french != "Manage subscription" and "abonnement" in french.lower()
        assert render_template_string(GREETING) == "Manage subscription"  # back again
        with force_locale("fr"):
            refresh()  # within a forced locale refresh keeps the forced one
            assert render_template_string(GREETING) == french
        assert render_template_string(GREETING) == "Manage subscription"


def test_each_request_gets_its_own_language(app):
    for lang, check in (("fr", "abonnement"), ("en", "Manage subscription"), ("fr", "abonnement")):
        with app.test_request_context(headers={"Accept-Language": lang}):
            assert check.lower() in render_template_string(GREETING).lower()


# --------------------------------------------------------------- the usage tab's fragment
def northwind_locations_sub(app):
    with app.app_context():
        return (Subscription.select().join(Plan)
                .where(Subscription.account == Account.get(Account.name == "Northwind Retail").id,
                       Plan.code == "locations").get())


def fragment_stats(app):
    with app.app_context():
        cache = fragments.cache()
        return cache.hits, cache.misses


def test_the_usage_tab_is_rendered_once_for_the_same_data(app, client, auth):
    auth.login(as_="admin@northwind.example")
    first = client.get("/subscription/").get_data(as_text=True)
    hits, misses = fragment_stats(app)
    again = client.get("/subscription/").get_data(as_text=True)
    partial = client.get("/subscription/", headers={"HX-Request": "true"})
    # no new render: the page takes its figures, usage tab and home, the partial its tab
    assert fragment_stats(app) == (hits + 4, misses)
    assert bars(again) == bars(first) == [(7, 6, "over"), (2, 2, "full"), (0, 1, "ok")]
    assert bars(partial.get_data(as_text=True)) == bars(first)
    assert "<html" not in partial.get_data(as_text=True)


def test_use1_usage_tab_follows_a_new_device_at_once(app, client, auth):
    auth.login(as_="admin@northwind.example")
    assert bars(client.get("/subscription/").get_data(as_text=True))[0] == (7, 6, "over")
    with app.app_context():
        york = Location.get(Location.name == "York")
        for n in (4, 5):
            Device.create(account=york.account_id, location=york, serial=f"NW-york-0{n}")
    assert bars(client.get("/subscription/").get_data(as_text=True))[0] == (8, 6, "over")


@pytest.mark.parametrize("change, expected", [
    ({"quantity": 9}, (7, 9, "ok")),           # a plan change placed by the wizard
    ({"quantity": 7}, (7, 7, "full")),
])
def test_use2_usage_tab_follows_a_subscription_change_at_once(app, client, auth, change,
                                                              expected):
    auth.login(as_="admin@northwind.example")
    client.get("/subscription/")
    sub = northwind_locations_sub(app)
    with app.app_context():
        Subscription.update(**change).where(Subscription.id == sub.id).execute()
    assert bars(client.get("/subscription/").get_data(as_text=True))[0] == expected


def test_sub1_usage_tab_follows_a_renamed_plan_and_the_language(app, client, auth):
    auth.login(as_="admin@northwind.example")
    assert "Foot traffic: per location" in client.get("/subscription/").get_data(as_text=True)
    sub = northwind_locations_sub(app)
    with app.app_context():
        Plan.update(name="Footfall per shop").where(Plan.id == sub.plan_id).execute()
    page = client.get("/subscription/").get_data(as_text=True)
    assert "Footfall per shop" in page and "Foot traffic" not in page
    french = client.get("/subscription/", headers={"Accept-Language": "fr"})
    assert "7 utilisés sur 6 souscrits" in french.get_data(as_text=True)
    assert "7 used of 6 subscribed" in client.get("/subscription/").get_data(as_text=True)


def test_an_account_never_gets_another_accounts_usage_tab(app, client, auth):
    auth.login(as_="admin@northwind.example")
    northwind = client.get("/subscription/").get_data(as_text=True)
    auth.logout()
    auth.login(as_="admin@corner.example")
    corner = client.get("/subscription/").get_data(as_text=True)
    assert bars(corner) == [(3, 5, "ok")] and bars(northwind) != bars(corner)
    assert "Foot traffic: per device" in corner and "per location" not in corner


def test_the_fragment_cache_is_bounded_and_drops_the_least_recently_used():
    cache = fragments.FragmentCache(size=2)
    renders = []

    def render(value):
        return lambda: renders.append(value) or value

    assert cache.get_or_render("a", render("A")) == "A"
    assert cache.get_or_render("b", render("B")) == "B"
    assert cache.get_or_render("a", render("A2")) == "A"  # kept, and now the most recent
    cache.get_or_render("c", render("C"))                 # drops "b"
    assert cache.get_or_render("b", render("B2")) == "B2"
    assert renders == ["A", "B", "C", "B2"] and (cache.hits, cache.misses) == (1, 4)


# ------------------------------------- the active tab's figures and the rendered active tab
def active_row(client, app, plan_code: str, headers=None) -> str:
    """The active tab's row of the Northwind subscription to ``plan_code`` (requested
    outside an app context: a request inside one would share its ``g``, the user too)."""
    page = client.get("/subscription/active", headers=headers or {}).get_data(as_text=True)
    sid = northwind_sub(app, plan_code).id
    return re.search(rf'<tr data-subscription="{sid}">(.*?)</tr>', page, re.S).group(1)


def northwind_sub(app, plan_code: str) -> Subscription:
    with app.app_context():
        return (Subscription.select(Subscription, Plan).join(Plan)
                .where(Subscription.account == Account.get(Account.name == "Northwind Retail").id,
                       Plan.code == plan_code).get())


def test_sub4_kept_estimates_follow_a_new_price_version_at_once(app, client, auth):
    """CAT-2 / SUB-4: a price version that reaches existing subscriptions by their next
    payment date changes the estimate the kept figures showed (the price book's state is
    in their key), on the tab, its htmx partial and the home above it."""
    auth.login(as_="admin@northwind.example")
    before = active_row(client, app, "team")
    sub = northwind_sub(app, "team")
    with app.app_context():
        add_price_version(sub.plan, Prices("USD", Decimal("99.00"), Decimal("990.00"),
                                           Decimal("20.00"), Decimal("200.00")),
                          existing_from=sub.next_payment_date)
    after = active_row(client, app, "team")
    partial = active_row(client, app, "team", {"HX-Request": "true", "HX-Target": "tabs"})
    assert "data-next-price-version" not in before and "data-next-price-version" in after
    assert estimate(after) != estimate(before) and estimate(partial) == estimate(after)
    home = client.get("/subscription/").get_data(as_text=True)
    assert f'data-next-charge="{estimate(after)}"' in home


def test_sub4_kept_active_tab_follows_a_scheduled_change_and_the_role(app, client, auth):
    """CHG-5: a change scheduled since the tab was kept shows at once (the trigger of
    migration 020 renews the usage stamp in the key), with its undo form for an admin
    (the role is in the rendered tab's key) and without it for a member."""
    auth.login(as_="admin@northwind.example")
    assert "data-effective-on" not in active_row(client, app, "team")
    sub = northwind_sub(app, "team")
    with app.app_context():
        PendingChange.create(subscription=sub, effective_on=sub.next_payment_date,
                             quantity=sub.quantity + 1)
    admin_row = active_row(client, app, "team")
    assert f'data-effective-on="{sub.next_payment_date}"' in admin_row
    assert "csrf_token" in admin_row  # the undo form, with this session's token
    auth.logout()
    auth.login(as_="member@northwind.example")
    member_row = active_row(client, app, "team")
    assert f'data-effective-on="{sub.next_payment_date}"' in member_row
    assert "csrf_token" not in member_row


def estimate(row: str) -> str:
    return re.search(r'data-estimate="([^"]*)"', row).group(1)


def test_the_kept_home_follows_its_card_and_the_role_at_once(app, client, auth):
    """The home above the tabs is rendered once per state of what it shows (the figures'
    key, the card and latest invoices as read in the request, the role): a card that
    expires since is shown expired on the next page, and a member never gets the admin's
    home (ACC-2: cards and invoices are the admin's)."""
    from support.billing import account, add_card

    from portal.models import PaymentMethod

    with app.app_context():
        card = add_card(account("Northwind Retail"), last4="4242")
    auth.login(as_="admin@northwind.example")
    first = client.get("/subscription/").get_data(as_text=True)
    assert "Visa ending 4242" in first and "data-no-usable-card" not in first
    with app.app_context():
        PaymentMethod.update(exp_month=1, exp_year=2020).where(
            PaymentMethod.id == card.id).execute()
    again = client.get("/subscription/").get_data(as_text=True)
    assert "data-no-usable-card" in again and "Expired" in again
    auth.logout()
    auth.login(as_="member@northwind.example")
    member = client.get("/subscription/").get_data(as_text=True)
    assert "Visa ending 4242" not in member and 'data-action="change-plan"' not in member


# ------------------------------------------------ amounts formatted once per worker (i18n)
def test_amounts_formatted_once_follow_language_currency_and_sign(app):
    """``money`` keeps each formatted amount per worker (portal.i18n.formatted_amount):
    the same amount in another language, another currency, or of another sign (``-0`` is
    equal to ``0``) is never given the text kept for the first (CAT-1, DOC-3)."""
    from babel.numbers import format_currency

    from portal.i18n import money_filter

    def babel(amount, currency, lang):
        return format_currency(amount, currency, locale=lang)

    with app.test_request_context(headers={"Accept-Language": "en"}):
        for _ in range(2):  # the second time from the cache
            assert money_filter(Decimal("1234.5"), "EUR") == babel(Decimal("1234.5"), "EUR", "en")
            with force_locale("fr"):
                assert money_filter(Decimal("1234.5"), "EUR") == babel(Decimal("1234.5"), "EUR",
                                                                      "fr") == "1\u202f234,50\xa0€"
            assert money_filter(Decimal("1234.5"), "USD") == "$1,234.50"
            assert money_filter(Decimal("-0"), "USD") == "-$0.00"
            assert money_filter(Decimal("0"), "USD") == "$0.00"
            assert money_filter(Decimal("12.5"), "JPY") == babel(Decimal("12.5"), "JPY", "en")


# ------------------------------------------ the header kept per worker (views/layout.py)
def header_of(page: str) -> str:
    return page[page.index('<header class="topbar">'):page.index("</header>")]


def live_token(page: str) -> str:
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def test_the_kept_header_follows_reader_page_language_and_session(app, client, auth):
    """The header is rendered once per kind of reader; what belongs to one request (the
    CSRF token, the path, the email) is this request's, the rest follows the language,
    the role and the page (its current link)."""
    auth.login(as_="admin@northwind.example")
    page = client.get("/subscription/").get_data(as_text=True)
    head = header_of(page)
    assert head.count(f'value="{live_token(page)}"') == 2  # language menu and log out
    assert "admin@northwind.example" in head and 'data-testid="admin-gear"' in head
    assert 'name="next" value="/subscription/?"' in head
    assert re.search(r'href="/subscription/" aria-current="page"', head)
    # the same reader elsewhere: the path and the current link follow the page
    head = header_of(client.get("/subscription/?locations=all").get_data(as_text=True))
    assert 'name="next" value="/subscription/?locations=all"' in head
    head = header_of(client.get("/password").get_data(as_text=True))
    assert re.search(r'href="/password" aria-current="page"', head)
    assert not re.search(r'href="/subscription/" aria-current="page"', head)
    # the browser's language (the person chose none): the header in French
    head = header_of(client.get("/subscription/", headers={"Accept-Language": "fr"})
                     .get_data(as_text=True))
    assert "Déconnexion" in head or "Se déconnecter" in head
    # English chosen (the page was English already): English selected, not "Automatic"
    client.post("/language", data={"language": "en", "next": "/subscription/",
                                   "csrf_token": live_token(page)})
    head = header_of(client.get("/subscription/").get_data(as_text=True))
    assert re.search(r'<option value="en" lang="en" selected>', head)
    assert not re.search(r'<option value=""[^>]*selected', head)
    # the language chosen: the header in French, French selected
    client.post("/language", data={"language": "fr", "next": "/subscription/",
                                   "csrf_token": live_token(page)})
    page = client.get("/subscription/").get_data(as_text=True)
    head = header_of(page)
    assert "Déconnexion" in head or "Se déconnecter" in head
    assert re.search(r'<option value="fr" lang="fr" selected>', head)
    assert head.count(f'value="{live_token(page)}"') == 2

    # another reader, another session: their own email, token and role (no Manage)
    other = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      other.get("/login").get_data(as_text=True)).group(1)
    other.post("/login", data={"email": "member@northwind.example",
                               "password": demo.PASSWORD,
                               "csrf_token": token})
    page = other.get("/subscription/").get_data(as_text=True)
    head = header_of(page)
    assert "member@northwind.example" in head and "admin@northwind.example" not in head
    assert 'data-testid="admin-gear"' not in head
    assert head.count(f'value="{live_token(page)}"') == 2
    assert other.post("/logout", data={"csrf_token": re.search(
        r'action="/logout"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
        head).group(1)}).status_code in (302, 303)


def test_a_header_showing_the_token_outside_its_slot_is_never_kept(app, client, auth):
    """A header whose template prints the CSRF token itself (not through ``layout_slot``,
    as an old copy of the language menu would) is rendered for each request, never kept
    and shown to another session."""
    from portal.views.layout import header

    auth.login(as_="admin@northwind.example")
    client.get("/subscription/")
    with app.test_request_context("/subscription/"):
        from flask_login import login_user
        from flask_wtf.csrf import generate_csrf

        from portal.models import User

        login_user(User.get(User.email == "member@northwind.example"))
        token = generate_csrf()
        shown = header(False, caller=lambda: Markup(f"<header>{token}</header>"))
        assert shown == f"<header>{token}</header>"
        # the same key again: rendered again, as nothing was kept under it
        assert header(False, caller=lambda: Markup("<header>again</header>")) == \
            "<header>again</header>"
