"""Every HTML page of every role, at a phone's and a desktop's width, in one walk.

``walk(browser, base_url, app)`` logs in once per role (one browser context each), visits
each page once per width and records, per visit: the horizontal overflow, axe-core's
violations, the served HTML (for the Nu Html Checker, run once over all of them) and a
screenshot (docs/screenshots/, git-ignored). The test module asserts on the result.

Pages come from the app's URL map, like tests/test_authorization_matrix.py: every GET
route that renders HTML, its ids taken from the demo data (with its year of history) of
the role's own account; the plan-change wizard's steps 2 and 3 need a signed draft, so
their URLs are made by the view's own ``draft_url``.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from flask import url_for

from portal import demo
from portal.accounts import invitations, password_reset
from portal.models import (Account, ApiToken, ChangeOrder, Delivery, Device, Invitation, Invoice,
                           Location, Membership, PaymentMethod, Plan, Quote, Subscription, User)

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "tests" / "browser" / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCREENSHOTS = ROOT / "docs" / "screenshots"
WIDTHS = (390, 1280)

# role -> who logs in (None: nobody) and whose objects the ids name
ROLES = {
    "anonymous": (None, "Northwind Retail"),
    "member": ("member@northwind.example", "Northwind Retail"),
    "admin": ("admin@northwind.example", "Northwind Retail"),
    "past-due-admin": ("admin@harbour.example", "Harbour Coffee"),
    "french-admin": ("admin@papillon.example", "Librairie Papillon"),  # pages in French
    "trial-admin": ("admin@fjord.example", "Fjord Studio"),  # TRI-1: in its trial
    "operator": ("operator@example.com", "Northwind Retail"),
    # ACC-5: in two accounts; picks Corner Bakeries on the picker page, then walks it
    "consultant": (demo.CONSULTANT, "Corner Bakeries"),
}
CHOOSES_ACCOUNT = {"consultant"}
# endpoints that answer something else than an HTML page
NOT_PAGES = ("static", "branding.", "api.", "provisioning.", "webhooks.", "documents.pdf",
             "operator.documents_zip", "changes.quote_pdf", "operator.export_csv",
             "operator.tax_report",
             "subscription.inventory_csv")
VALUES = {"tab": ("usage", "active", "history")}


def _first(model, account, *where):
    row = (model.select(model.id).where(model.account == account, *where)
           .order_by(model.id).first())
    return row.id if row else None


def _first_member(account):
    row = (Membership.select(Membership.user).where(Membership.account == account)
           .order_by(Membership.id).first())
    return row.user_id if row else None


ID_OF = {
    "account_id": lambda a: a.id,
    "sid": lambda a: _first(Subscription, a, Subscription.status == "active"),
    "oid": lambda a: _first(ChangeOrder, a),
    "qid": lambda a: _first(Quote, a),
    "invoice_id": lambda a: _first(Invoice, a),
    "user_id": lambda a: _first_member(a),
    "device_id": lambda a: _first(Device, a),
    "location_id": lambda a: _first(Location, a),
    "method_id": lambda a: _first(PaymentMethod, a),
    "token_id": lambda a: _first(ApiToken, a),
    "delivery_id": lambda a: _first(Delivery, a),
    "plan_id": lambda a: Subscription.select(Subscription.plan).where(
        Subscription.account == a).first().plan_id,  # the operator's plans page
    # a live password reset link for the account's first admin (ACC-8)
    "token": lambda a: password_reset.make_token(
        User.select().join(Membership).where((Membership.account == a)
                                             & (Membership.role == "admin")).get()),
}


def page_urls(app, account_name: str) -> list[str]:
    """Every GET route that renders a page, with ids of this account's objects."""
    from portal.views.change_draft import Draft
    from portal.views.changes import draft_url

    urls = []
    with app.test_request_context():
        account = Account.get(Account.name == account_name)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint.startswith(NOT_PAGES):
                continue
            choices = [{}]
            for arg in rule.arguments:
                if arg in VALUES:
                    choices = [{**c, arg: v} for c in choices for v in VALUES[arg]]
                elif arg in ID_OF:
                    value = ID_OF[arg](account)
                    choices = [{**c, arg: value} for c in choices] if value else []
                else:
                    raise AssertionError(f"{rule.endpoint}: no value for <{arg}>")
            urls += [url_for(rule.endpoint, **c) for c in choices]
        urls.append(url_for("passwords.reset", token="used-or-expired"))  # the dead link page
        # ACC-6: the accept page of a live invitation, for a new address and for one with
        # a login (the password-only form); a dead link's page comes from <token> above
        for email in (f"walk-{account.id}@new.example", "admin@atelier.example"):
            invitation = Invitation.create(account=account, email=email)
            urls.append(url_for("invitations.accept", token=invitations.make_token(invitation)))
        # the accounts list searched, filtered and sorted; an account's older timeline
        urls.append(url_for("operator.index", q="north", status="active", sort="mrr"))
        urls.append(url_for("operator.account", account_id=account.id, page=2))
        # the wizard's steps 2 and 3 (an upgrade: one more user; a cancellation)
        seat = (Subscription.select().join(Plan)
                .where((Subscription.account == account) & (Subscription.status == "active")
                       & (Plan.kind == "seat")).first())
        for sub, cancel in ((seat, False), (seat, True)):
            if sub is None:
                continue
            draft = Draft(sub.id, sub.plan.code, str(sub.interval),
                          sub.quantity + (0 if cancel else 1), sub.addon_quantity,
                          cancel=cancel)
            urls.append(draft_url("changes.survey", sub, draft))
            if not cancel:
                urls.append(draft_url("changes.review", sub, draft))
                # CHG-7: the same change reviewed by an operator for the account
                urls.append(url_for("operator.change_on_behalf", sid=sub.id, plan=draft.plan,
                                    interval=draft.interval, quantity=draft.quantity,
                                    addon_quantity=draft.addon_quantity))
    return list(dict.fromkeys(urls))


def public_urls(app) -> list[str]:
    """What a visitor sees logged out: the login, and with PORTAL_SIGNUP the pricing page
    (both toggles), the sign-up form, a live sign-up link's page and a dead one's."""
    from portal import signup
    from portal.models import PendingSignup

    urls = ["/login"]
    if not app.config.get("SIGNUP"):
        return urls
    with app.test_request_context():
        pending = PendingSignup.create(
            email="walk@signup.example", person_name="Walker", company="Walk Ltd",
            password_hash="!", country="GB", currency="USD", plan_code="team",
            interval="monthly", quantity=2, nonce="walk")
        urls += [url_for("signup.pricing_page"),
                 url_for("signup.pricing_page", interval="annual", currency="EUR"),
                 url_for("signup.start", plan="team", interval="monthly", currency="USD"),
                 url_for("signup.start", plan="locations", interval="annual", currency="EUR"),
                 url_for("signup.verify", token=signup.make_token(pending)),
                 url_for("signup.verify", token="used-or-expired")]
    return urls


@dataclass
class Visit:
    role: str
    width: int
    url: str  # the one asked for
    final: str  # after redirects
    status: int
    overflow: int  # scrollWidth - innerWidth (> 0 is a horizontal scroll bar)
    violations: list = field(default_factory=list)
    html_file: Path | None = None


@dataclass
class Sweep:
    visits: list[Visit]
    skipped: list[tuple[str, str, int]]  # (role, url, status) of refused pages


def _name(role: str, path: str, width: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].lower()).strip("-") or "home"
    if "?" in path:
        slug += "-" + re.sub(r"[^a-z0-9]+", "-", path.split("?", 1)[1].lower())[:24]
    return f"{role}--{slug}--{width}"


def walk(browser, base_url: str, app, html_dir: Path, login) -> Sweep:
    """Visit every page of every role at each width; see the module's docstring."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    visits, skipped = [], []
    for role, (email, account_name) in ROLES.items():
        context = browser.new_context(base_url=base_url, bypass_csp=True,
                                      viewport={"width": WIDTHS[0], "height": 800})
        context.set_default_timeout(10_000)
        page = context.new_page()
        if email:
            login(page, email, demo.PASSWORD)
        if role in CHOOSES_ACCOUNT:
            with app.app_context():
                chosen = Account.get(Account.name == account_name).id
            response = page.goto("/accounts")
            visits.append(_check(page, response, role, WIDTHS[0], "/accounts", "/accounts",
                                 html_dir))
            page.click(f'[data-account-choice="{chosen}"] button')
        urls = page_urls(app, account_name) if email else public_urls(app)
        seen = set()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            for url in urls:
                response = page.goto(url)
                final = page.url.removeprefix(base_url)
                if response.status in (403, 404) or (email and final.startswith("/login")):
                    if width == WIDTHS[0]:
                        skipped.append((role, url, response.status))
                    if (role, "error", width) in seen:
                        continue  # one error page per role and width is enough
                    seen.add((role, "error", width))
                if (role, final, width) in seen:
                    continue
                seen.add((role, final, width))
                visits.append(_check(page, response, role, width, url, final, html_dir))
        context.close()
    return Sweep(visits, skipped)


def _check(page, response, role, width, url, final, html_dir) -> Visit:
    name = _name(role, final, width)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - window.innerWidth")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document, {
        resultTypes: ['violations']})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' +
                                               n.failureSummary.split('\\n')[1])}))""")
    html_file = html_dir / f"{name}.html"
    html_file.write_bytes(response.body())
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    return Visit(role, width, url, final, response.status, overflow, violations, html_file)


def nu_check(files: list[Path]) -> dict[str, list[str]]:
    """The Nu Html Checker's errors per file, one JVM for all; unknown hx-* kept out."""
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "json",
                             *map(str, files)], capture_output=True, text=True, timeout=600)
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors: dict[str, list[str]] = {}
    for m in messages:
        if re.search(r"Attribute “hx-[a-z-]+” not allowed", m.get("message", "")):
            continue
        name = Path(m.get("url", "?")).name
        errors.setdefault(name, []).append(
            f"l.{m.get('lastLine')}: {m['message']} [{m.get('extract', '').strip()}]")
    return errors
