"""Demo data: three accounts that show every kind of plan and bar (idempotent).

``load(today)`` is the base data the test suite asserts on; ``portal demo`` adds a year
of billing history on a fresh database (``load(today, history=True)``,
portal/demo_history.py).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import clock
from .accounts import onboarding, password_policy, passwords
from .db import db
from .catalogue import files as catalogue_files, start_subscription
from .models import Account, Device, Location, Membership, Plan, Subscription, User

PASSWORD = "portal-demo"  # the policy applies to it too (ACC-8): 10 characters or more
CONSULTANT = "consultant@example.com"

LOGINS = (
    ("operator@example.com", "operator: every account, plugins, outbox"),
    ("admin@northwind.example", "Northwind Retail admin: location plan, gear icon"),
    ("member@northwind.example", "Northwind Retail member: read-only subscription page"),
    ("admin@atelier.example", "Atelier Space admin: seat plan with add-on licenses"),
    ("admin@corner.example", "Corner Bakeries admin: per-device plan"),
    ("consultant@example.com", "Consultant in two accounts (Corner Bakeries; with the "
                               "history also Harbour Coffee): picks one, switches"),
    ("admin@harbour.example", "Harbour Coffee admin: past due, no card (history only)"),
    ("admin@papillon.example", "Librairie Papillon admin: pages in French (history only)"),
)

# ONB-1: the demo's catalogue is a file applied as an operator applies theirs.
CATALOGUE = Path(__file__).with_name("catalogue") / "demo.toml"


_password_hash: list[str] = []  # one scrypt per process: hashing is slow on purpose


def _user(email, name, account=None, role="member", active=True, operator=False, addon=False):
    """The demo person with this email, made if missing, in ``account`` (a membership,
    rule ACC-5) if given. Seed data: the rows are written directly, without the audit
    entries a person's change through portal/accounts/memberships.py leaves."""
    user = User.get_or_none(User.email == email)
    if user is None:
        if not _password_hash:
            password_policy.check(PASSWORD)
            _password_hash.append(passwords.hash_password(PASSWORD))
        user = User.create(email=email, name=name, is_operator=operator,
                           password_hash=_password_hash[0])
    if account is not None and not Membership.select().where(
            (Membership.user == user.id) & (Membership.account == account)).exists():
        Membership.create(user=user, account=account, role=role, active=active,
                          holds_addon_license=addon)
    user.membership = None
    return user


def _account(name, legal_name, line1, postal_code, city, country, **details):
    """A demo account with its billing details (BIL-1), opened as the console opens one
    (ONB-1)."""
    return Account.get_or_none(Account.name == name) or onboarding.open_account(
        name, details=dict(legal_name=legal_name, address_line1=line1, postal_code=postal_code,
                           city=city, country=country, **details), via="demo")


def _devices(account, location_names_and_counts, prefix):
    for loc_name, count in location_names_and_counts:
        loc = Location.get_or_none((Location.account == account) & (Location.name == loc_name))
        loc = loc or Location.create(account=account, name=loc_name,
                                     external_id=loc_name.lower().replace(" ", "-"))
        for i in range(count):
            serial = f"{prefix}-{loc.external_id}-{i + 1:02d}"
            if not Device.select().where((Device.account == account)
                                         & (Device.serial == serial)).exists():
                Device.create(account=account, location=loc, serial=serial)


def _subscription(account, plan_code, interval, quantity, addons=0, today=None, start=None):
    today = today or clock.today()
    plan = Plan.get(Plan.code == plan_code)
    if not Subscription.select().where((Subscription.account == account)
                                       & (Subscription.plan == plan)).exists():
        start_subscription(account, plan, interval=interval, quantity=quantity, addons=addons,
                           start=start or today.replace(day=1))  # ONB-1: the one way


def load(today: dt.date | None = None, history: bool = False) -> bool:
    """Create the demo plans, accounts, users, devices and subscriptions if missing.

    With ``history`` on a database without demo data (an app context is needed), the
    subscriptions start in the past and a year of billing is played through the real
    services (portal/demo_history.py). Return whether the history was loaded.
    """
    today = today or clock.today()
    history = history and not Plan.select().exists()  # never twice, never on old data
    starts = None
    if history:
        from . import demo_history

        starts = demo_history.starts(today)
    monthly, annual = (starts.monthly, starts.annual) if starts else (None, None)
    with clock.pinned(today), db.atomic():
        if not Plan.select().exists():  # an operator's own catalogue is never touched
            catalogue_files.apply(catalogue_files.parse(CATALOGUE.read_text(encoding="utf-8"),
                                                        today=today))
        _user("operator@example.com", "Olivia Operator", operator=True)

        # A retail chain on a location plan: 9 devices in one shop need 3 location
        # subscriptions (LOC-1); 7 are needed in all but 6 are subscribed, so the bar is yellow.
        north = _account("Northwind Retail", "Northwind Retail Ltd", "1 Market Street",
                         "LS1 6AA", "Leeds", "GB", po_reference="PO-NW-2026")
        _user("admin@northwind.example", "Nora Admin", north, role="admin")
        _user("member@northwind.example", "Mike Member", north)
        _devices(north, (("Leeds Flagship", 9), ("York", 3), ("Hull", 2), ("Bradford Pop-up", 0),
                         ("Sheffield", 1)), "NW")
        _subscription(north, "locations", "monthly", 6, today=today, start=monthly)
        # ...and dashboard seats for its two people: seats full, one add-on license spare.
        _subscription(north, "team", "monthly", 2, addons=1, today=today, start=monthly)

        # A second account on a per-device plan, with room to spare (grey).
        corner = _account("Corner Bakeries", "Corner Bakeries SARL", "4 rue du Four",
                          "69002", "Lyon", "FR")
        _user("admin@corner.example", "Claire Admin", corner, role="admin")
        # A consultant (ACC-5): one login, member here and of Harbour Coffee (history).
        _user(CONSULTANT, "Sam Consultant", corner)
        _devices(corner, (("Croix-Rousse", 2), ("Bellecour", 1)), "CB")
        _subscription(corner, "devices", "monthly", 5, today=today, start=monthly)

        # A collaboration space on a seat plan with add-on licenses.
        atelier = _account("Atelier Space", "Atelier Architects", "22 Quay Road", "BS1 4DJ",
                           "Bristol", "GB")
        _user("admin@atelier.example", "Ada Admin", atelier, role="admin", addon=True)
        for name, active, addon in (("Ben", True, True), ("Cleo", True, False),
                                    ("Dev", True, False), ("Eve", False, False),
                                    ("Finn", False, False)):
            _user(f"{name.lower()}@atelier.example", f"{name} Architect", atelier,
                  active=active, addon=addon)
        _subscription(atelier, "business", "annual", 5, addons=2, today=today,
                      start=annual)
    if history:
        demo_history.load(today)
    return history


def next_billing_text(today: dt.date) -> str:
    """The command that bills the next payment date, ready to paste."""
    import contextlib
    import os
    import sys

    from .demo_history import next_billing_day

    day = next_billing_day(today)
    if day is None:
        return "Nothing is due after today."
    script = os.path.join(os.path.dirname(sys.executable), "portal")
    with contextlib.suppress(ValueError):  # another drive (Windows)
        script = os.path.relpath(script)
    return (f"Bill the next payment date ({day.isoformat()}):\n"
            f"  PORTAL_DEMO=1 {script} billing run --date {day.isoformat()}")


def logins_text() -> str:
    """The demo logins, as printed on start and listed in the README."""
    lines = [f"Demo logins (password '{PASSWORD}' for all):"]
    lines += [f"  {email:<28} {what}" for email, what in LOGINS]
    return "\n".join(lines)
