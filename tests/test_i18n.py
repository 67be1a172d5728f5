"""French (issue 8, item 5): a complete catalogue, kept complete by these tests; pages in
the user's language, else the browser's; money and dates per locale; mail and PDFs in the
account's language."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from jinja2 import Environment

from portal.db import db
from portal.models import Account, AuditEvent, Delivery, Membership, Subscription, User
from support.api import call, parts
from support.billing import DEC1, account, invoices_of, run

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "portal" / "templates"
TRANSLATIONS = ROOT / "portal" / "translations"
LANGUAGES = ("fr",)
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


# --- the catalogue ------------------------------------------------------------------------

def extracted() -> dict:
    """{msgid: ["file:line", ...]} of every string marked in the sources, read with babel's
    extraction API and the same babel.cfg as ``make translations``."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=lang)


def translated(message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return bool(strings) and all(s.strip() for s in strings) and not message.fuzzy


def test_extraction_sees_every_kind_of_marker():
    """The test below is only as good as the extraction: python _() and lazy _l(), page,
    mail (.txt) and PDF templates, and ngettext plurals must all be found."""
    found = extracted()
    assert "Wrong email or password." in found  # gettext as _ in a view
    assert "Amount to credit (in the invoice's currency)" in found  # lazy_gettext as _l in a form
    assert "Questions? Write to %(address)s." in found  # base.html
    assert "If you did not authorise this device, contact customer success at %(address)s." \
        in found  # a mail template
    assert "INVOICE" in found  # a PDF template
    assert any(isinstance(k, tuple) for k in found)  # ngettext
    assert any(".txt:" in where for places in found.values() for where in places)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_ui_string_has_a_translation(lang):
    """Fails when a string marked in the code or templates has no (or a fuzzy) translation:
    run ``make translations`` and translate what it adds."""
    po = catalogue(lang)
    missing = []
    for msgid, places in sorted(extracted().items(), key=lambda item: item[1]):
        message = po.get(msgid)
        if message is None or not translated(message):
            missing.append(f"{places[0]}: {msgid!r}")
    assert not missing, f"{len(missing)} untranslated string(s):\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    """A translation that drops or renames %(name)s would fail at runtime (babel's checks)."""
    problems = [f"{m.id!r}: {errors}" for m, errors in catalogue(lang).check()]
    assert not problems, "\n".join(problems)
    for message in catalogue(lang):
        if message.id and isinstance(message.id, str):
            assert (set(re.findall(r"%\((\w+)\)", message.id))
                    == set(re.findall(r"%\((\w+)\)", message.string))), message.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_is_compiled_from_the_po(lang):
    """The .mo the app loads says exactly what the .po says (compiled here, in memory)."""
    po = catalogue(lang)
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        committed = read_mo(mo)

    def contents(cat):
        return {(m.id if isinstance(m.id, str) else tuple(m.id), m.context):
                (m.string if isinstance(m.string, str) else tuple(m.string))
                for m in cat if m.id}

    expected = contents(read_mo(compiled))
    assert len(expected) > 500
    assert contents(committed) == expected, "run: make translations"


# --- no visible text outside _() in templates --------------------------------------------

HOLE = "\ue000"  # stands for {{ ... }} while the HTML is parsed
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "label", "hx-confirm",
                      "hx-prompt"}
# Words that are the same in every language, on purpose (and only these).
ALLOWED_WORDS = {"PDF"}
LETTER = re.compile(r"[^\W\d_]")


def skeleton(source: str) -> str:
    """The template with every {{ }} replaced by HOLE and every {% %} / {# #} dropped
    (text inside {% trans %} blocks counts as translated), keeping the line numbers."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    out, in_trans, first_name = [], False, False
    for _line, token, value in env.lexer.tokeniter(source, "template"):
        if token == "data":
            out.append(HOLE if in_trans else value)
            continue
        if token == "variable_begin":
            out.append(HOLE)
        elif token == "block_begin":
            first_name = True
        elif token == "name" and first_name:
            first_name = False
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)
        out.append("\n" * str(value).count("\n"))
    return "".join(out)


class VisibleText(HTMLParser):
    """Collects (line, text) of text nodes and of attributes a reader sees."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        kind = dict(attrs).get("type")
        for name, value in attrs:
            if value and (name in VISIBLE_ATTRIBUTES
                          or (name == "value" and kind in ("submit", "button", "reset"))):
                self.found.append((self.getpos()[0], value))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)

    def handle_data(self, data):
        if not self.hidden:
            self.found.append((self.getpos()[0], data))


def bare_texts(source: str) -> list[tuple[int, str]]:
    """Visible text with letters that is not produced by {{ }} (i.e. not through _())."""
    parser = VisibleText()
    parser.feed(skeleton(source))
    parser.close()
    bare = []
    for line, text in parser.found:
        words = " ".join(text.replace(HOLE, " ").split())
        if LETTER.search(" ".join(w for w in re.split(r"[\s()]+", words)
                                  if w not in ALLOWED_WORDS)):
            bare.append((line, words))
    return bare


@pytest.mark.parametrize("sample, expected", [
    ("<p>{{ _('Hello') }} Pay now</p>", ["Pay now"]),
    ("<button title=\"Delete\">{{ _('Delete') }}</button>", ["Delete"]),
    ("<input type=\"submit\" value=\"Send\">", ["Send"]),
    ("<form hx-confirm=\"Sure?\"></form>", ["Sure?"]),
    ("{% if x %}\n  Nothing yet.\n{% endif %}", ["Nothing yet."]),
    ("<td>{{ n }} devices</td>", ["devices"]),
    ("Subject: {{ _('Hello') }}", ["Subject:"]),  # a mail's text part
])
def test_the_template_scan_catches_a_new_unwrapped_string(sample, expected):
    assert [text for _line, text in bare_texts(sample)] == expected


@pytest.mark.parametrize("sample", [
    "<p>{{ _('Hello') }}</p>",
    "<button title=\"{{ _('Delete') }}\">{{ _('Delete') }}</button>",
    "<p>{% trans %}Hello {{ name }}{% endtrans %}</p>",
    "<style>p { color: red; }</style><script src=\"{{ url }}\"></script>",
    "<a href=\"/x\" class=\"button primary\" data-status=\"open\">{{ label }}</a>",
    "<td>{{ amount|money }} · {{ day|date }} – &times; (PDF)</td>",
    "{# a comment with words #}<!-- an HTML comment -->",
])
def test_the_template_scan_lets_translated_and_invisible_text_through(sample):
    assert bare_texts(sample) == []


def test_templates_show_no_text_outside_gettext():
    bare = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
            for path in sorted(TEMPLATES.rglob("*")) if path.suffix in (".html", ".txt")
            for line, text in bare_texts(path.read_text(encoding="utf-8"))]
    assert not bare, "wrap these in _():\n" + "\n".join(bare)


def test_templates_format_money_and_dates_with_the_locale_filters():
    """No amount or date is formatted by hand: |money, |date, |datetime or
    format_datetime do it in the reader's locale."""
    by_hand = re.compile(r"strftime|isoformat|%\.2f|\{:[,.]|['\"]\$['\"]|\$\{\{|\|round")
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if by_hand.search(line)]
    assert not found, "\n".join(found)


# --- pages: the user's choice, else the browser, else PORTAL_DEFAULT_LOCALE ------------------

def french(amount) -> str:
    return format_currency(Decimal(amount), "USD", locale="fr")


def words(html: str) -> str:
    """The page's text with tags removed and spaces (also non-breaking ones) collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("\u00a0", " ")
                    .replace("\u202f", " ").split())


def northwind_next_payment(app) -> dt.date:
    with app.app_context():
        return (Subscription.select().join(Account)
                .where(Account.name == "Northwind Retail")
                .order_by(Subscription.id).first().next_payment_date)


def test_a_french_browser_gets_french_labels_money_and_dates(app, client, auth):
    auth.login(as_="admin@northwind.example")
    day = northwind_next_payment(app)
    html = client.get("/subscription/active", headers=FRENCH).get_data(as_text=True)
    text = words(html)
    assert '<html lang="fr">' in html
    for label in ("Gérer l'abonnement", "Abonnements actifs", "Prix catalogue unitaire",
                  "Prochain paiement", "Renouvellement automatique", "Se déconnecter"):
        assert label in text, label
    assert words(french("49.00")) in text and "$49.00" not in text  # 49,00 $US
    assert format_date(day, "medium", locale="fr") in text  # e.g. 1 déc. 2026
    assert format_date(day, "medium", locale="en") not in text

    english = words(client.get("/subscription/active", headers=ENGLISH).get_data(as_text=True))
    assert "Active subscriptions" in english and "$49.00" in english
    assert format_date(day, "medium", locale="en") in english


def test_no_accept_language_falls_back_to_the_default_locale(make_app):
    app = make_app(DEFAULT_LOCALE="fr")
    html = app.test_client().get("/login").get_data(as_text=True)
    assert '<html lang="fr">' in html and "Mot de passe" in html
    german = app.test_client().get("/login", headers={"Accept-Language": "de"})
    assert "Mot de passe" in german.get_data(as_text=True)  # no German: the default


def choose(client, auth, language, next_="/subscription/", headers=None, token=True):
    data = {"language": language, "next": next_}
    if token:
        data["csrf_token"] = auth.csrf_token("/language")
    return client.post("/language", data=data, headers=headers or {})


def language_of(app, email):
    with app.app_context():
        return User.get(User.email == email).language


def test_the_users_choice_overrides_the_browser(app, client, auth):
    auth.login(as_="admin@northwind.example")
    response = choose(client, auth, "en", headers=FRENCH)
    assert response.status_code == 303 and response.location.endswith("/subscription/")
    assert language_of(app, "admin@northwind.example") == "en"
    page = client.get("/subscription/", headers=FRENCH).get_data(as_text=True)
    assert '<html lang="en">' in page and "Language saved: English." in page

    choose(client, auth, "fr", headers=ENGLISH)
    page = client.get("/subscription/", headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="fr">' in page and "Langue enregistrée" in page
    assert "Gérer l'abonnement" in words(page)

    choose(client, auth, "", headers=ENGLISH)  # "Automatic (browser)"
    assert language_of(app, "admin@northwind.example") is None
    assert '<html lang="en">' in client.get("/subscription/", headers=ENGLISH).get_data(
        as_text=True)
    assert '<html lang="fr">' in client.get("/subscription/", headers=FRENCH).get_data(
        as_text=True)


def test_the_header_menu_offers_automatic_and_each_language(client, auth):
    auth.login(as_="member@northwind.example")
    html = client.get("/subscription/", headers=FRENCH).get_data(as_text=True)
    menu = html.split('data-testid="language-menu"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w*)"', menu) == ["", "en", "fr"]
    assert "Automatique (navigateur)" in menu and "English" in menu and "Français" in menu
    assert re.search(r'<option value=""[^>]*selected', menu)  # nothing chosen yet


def test_a_language_choice_is_validated_and_needs_the_csrf_token(app, client, auth):
    auth.login(as_="admin@northwind.example")
    refused = choose(client, auth, "de")
    assert refused.status_code == 400
    assert re.search(r'id="language-error">Not a valid choice', refused.get_data(as_text=True))
    assert choose(client, auth, "fr", token=False).status_code == 400  # CSRF
    assert language_of(app, "admin@northwind.example") is None
    # Only a path of this site is followed afterwards.
    assert choose(client, auth, "fr", next_="//evil.example/x").location == "/subscription/"


def test_choosing_a_language_needs_a_login(client):
    response = client.get("/language")
    assert response.status_code == 302 and "/login" in response.location


# --- the account's language: mail and PDFs ---------------------------------------------------

def set_account_language(client, auth, account_id, language):
    token = auth.csrf_token(f"/operator/accounts/{account_id}")
    return client.post(f"/operator/accounts/{account_id}/language",
                       data={"language": language, "csrf_token": token})


def northwind_id(app) -> int:
    with app.app_context():
        return Account.get(Account.name == "Northwind Retail").id


def test_operators_set_an_accounts_language_on_the_account_page(app, client, auth):
    account_id = northwind_id(app)
    auth.login(as_="operator@example.com")
    page = client.get(f"/operator/accounts/{account_id}").get_data(as_text=True)
    assert 'id="account-language"' in page
    response = set_account_language(client, auth, account_id, "fr")
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "Language of the mail and documents of Northwind Retail: Français." in page
    assert re.search(r'<option selected value="fr">|<option value="fr" selected', page)
    with app.app_context():
        assert Account.get_by_id(account_id).language == "fr"
        event = AuditEvent.get(AuditEvent.action == "account.language")
        assert (event.account_id, event.detail) == (account_id, "en -> fr")


def test_an_accounts_language_is_validated_and_kept_to_operators(app, client, auth):
    account_id = northwind_id(app)
    auth.login(as_="operator@example.com")
    refused = set_account_language(client, auth, account_id, "xx")
    assert refused.status_code == 400
    assert re.search(r'id="language-error">Not a valid choice', refused.get_data(as_text=True))
    assert set_account_language(client, auth, 10**9, "fr").status_code == 404
    token = auth.csrf_token(f"/operator/accounts/{account_id}")
    assert client.post(f"/operator/accounts/{account_id}/language",
                       data={"language": "fr"}).status_code == 400  # no CSRF token
    auth.logout()
    auth.login(as_="admin@northwind.example")  # an account admin is not an operator
    token = auth.csrf_token("/")  # a login renews the session and its token (ACC-8)
    assert client.post(f"/operator/accounts/{account_id}/language",
                       data={"language": "fr", "csrf_token": token}).status_code == 403
    with app.app_context():
        assert Account.get_by_id(account_id).language == "en"


def make_french(app, name="Northwind Retail", admin_language="en"):
    """The account in French; its admin reads their own pages in ``admin_language``."""
    with app.app_context():
        acct = Account.get(Account.name == name)
        Account.update(language="fr").where(Account.id == acct.id).execute()
        User.update(language=admin_language).where(User.id.in_(
            Membership.select(Membership.user).where(Membership.account == acct.id))).execute()
        db.close()


def test_dev2_new_device_mail_in_french(mail_app, tokens, smtp_server):
    make_french(mail_app)
    response = call(mail_app.test_client(), "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
                    json={"location": "york"}, headers=ENGLISH)
    assert response.status_code == 201
    [msg] = smtp_server.wait_for(1)
    assert msg["Subject"] == "Nouvel appareil NW-york-09 sur le site York"
    body = parts(msg)
    html = re.sub(r"<[^>]+>", "", body["text/html"])  # the link's tags around the address
    for part in (words(body["text/plain"]), words(html)):
        assert "Un nouvel appareil a été ajouté au compte Northwind Retail." in part
        assert ("Si vous n'avez pas autorisé cet appareil, contactez notre service client à "
                "l'adresse success@portal.test.") in part
        assert "NW-york-09" in part and "York" in part
        # The time in French, in UTC ("TU", temps universel): "23 novembre 2026, 20:45:12 TU".
        month = format_date(dt.date.today(), "MMMM", locale="fr")
        assert re.search(rf"(?<!\d)\d{{1,2}} {month} \d{{4}}, \d\d:\d\d:\d\d TU\b", part), part
    assert '<html lang="fr">' in body["text/html"]


def test_dev2_english_account_english_mail(mail_app, tokens, smtp_server):
    call(mail_app.test_client(), "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
         json={"location": "york"}, headers=FRENCH)
    [msg] = smtp_server.wait_for(1)
    assert msg["Subject"] == "New device NW-york-09 at York"


def test_billing_mail_of_a_french_account_is_in_french(app):
    """The billing run's notices (no card on file: a failed payment) in the account's
    language, amounts and dates included."""
    make_french(app, "Corner Bakeries")
    with app.app_context():
        run(app, DEC1)  # nobody has a card: every account's payment fails
        invoice = invoices_of(account("Corner Bakeries"))[0]
        french_mail = json.loads(Delivery.get((Delivery.kind == "payment_failed")
                                              & (Delivery.account == invoice.account_id))
                                 .payload)
        english_mail = json.loads(Delivery.get((Delivery.kind == "payment_failed")
                                               & (Delivery.account != invoice.account_id))
                                  .payload)
    assert french_mail["subject"] == f"Échec du paiement de la facture {invoice.number}"
    text = words(french_mail["text"])
    assert "Aucune carte n'est enregistrée" in text
    assert words(french(invoice.total)) in text
    assert english_mail["subject"].startswith("Payment failed for invoice")
