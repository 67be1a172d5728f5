"""A year of demo history, made by the real services as a daily billing run would have.

``portal demo`` loads it on a fresh database so that a newcomer has something to look at
from the first page: the subscriptions start about a year back and the billing run
(portal/billing/renewals.py) is run for every day something fell due, in order; cards
are added, a credit note issued, a payment made and a quote asked for through the same
functions the pages call. Nothing is written by hand. What it leaves, whatever day the
demo is loaded (``today``):

- Northwind Retail: twelve months of paid invoices and receipts for both its plans, a
  credit note on the invoice of two months ago (carried onto last month's invoice), and
  a quote for an upgrade of its Team seats to Business, valid today;
- Corner Bakeries: its first invoice failed (no card yet), was retried, then paid with
  *Pay now* once its admin added a card; every later month paid;
- Atelier Space: its annual renewal (2,754.00) was declined two days ago: the ``fake``
  gateway, like Braintree's sandbox, declines amounts from 2,000.00 to 2,999.99. The
  invoice is in dunning, retried tomorrow;
- Harbour Coffee (admin@harbour.example): never added a card; last month's invoice
  failed through every retry, so the account is past due (banner, *Update card*,
  *Pay now*), and this month's is in dunning too;
- every account: a snapshot of its usage and subscriptions for each day since the
  first billing day (portal/metrics/snapshots.py), as the daily job would have taken;
- Librairie Papillon (admin@papillon.example): a French-speaking account (its mail,
  invoices and its admin's pages in French) on Business seats, a card on file, a year of
  paid invoices, and a downgrade to Team scheduled for its next payment date, placed
  through the order service as its admin would.

Every account but Harbour Coffee has a card on file.

The fixture of the test suite loads the demo *without* this history (``demo.load``'s
default): hundreds of tests assert on that base data.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from .accounts import onboarding
from .billing import quotes, renewals
from .billing.changes import Terms
from .db import write_transaction
from .billing.dates import add_months, add_years
from .billing.invoices import issue_credit_note
from .billing.orders import place_order, review_state
from .gateways import registered_gateways
from .models import Account, Invoice, Membership, Plan, Subscription, User
from .statuses import InvoiceStatus, Role, SubscriptionStatus

HISTORY_MONTHS = 12
ATELIER_DECLINED_DAYS_AGO = 2
CREDIT = ("49.00", "Bradford Pop-up closed for the month: one location credited.")


@dataclass(frozen=True)
class Starts:
    """When each demo subscription started, so that ``load`` creates them in the past."""

    monthly: dt.date  # Northwind, Corner
    annual: dt.date  # Atelier: renews ATELIER_DECLINED_DAYS_AGO days ago
    past_due: dt.date  # Harbour Coffee: two months back


def starts(today: dt.date) -> Starts:
    first = today.replace(day=1)
    renewal = today - dt.timedelta(days=ATELIER_DECLINED_DAYS_AGO)
    return Starts(monthly=add_months(first, -HISTORY_MONTHS), annual=add_years(renewal, -1),
                  past_due=add_months(first, -2))


def _account(name):
    return Account.get(Account.name == name)


def _admin(account):
    return (User.select().join(Membership)
            .where((Membership.account == account.id) & (Membership.role == Role.ADMIN)).get())


def _sub(account, plan_code):
    return (Subscription.select().join(Plan)
            .where((Subscription.account == account.id) & (Plan.code == plan_code)).get())


class Timeline:
    """Run the daily billing run on every day something is due, and people's actions on
    their days (after that day's run), up to and including ``until``."""

    def __init__(self, until: dt.date, pm, config):
        self.until, self.pm, self.config = until, pm, config
        self.actions: list[tuple[dt.date, int, object]] = []

    def on(self, day: dt.date, action) -> None:
        self.actions.append((day, len(self.actions), action))

    def _next_billing_day(self) -> dt.date | None:
        due = [q.first() for q in (
            Subscription.select(Subscription.next_payment_date)
            .where(Subscription.status == SubscriptionStatus.ACTIVE)
            .order_by(Subscription.next_payment_date),
            Invoice.select(Invoice.next_attempt_on)
            .where((Invoice.status == InvoiceStatus.DUNNING)
                   & Invoice.next_attempt_on.is_null(False))
            .order_by(Invoice.next_attempt_on))]
        days = [d for d in (due[0] and due[0].next_payment_date,
                            due[1] and due[1].next_attempt_on) if d]
        return min(days) if days else None

    def snapshot(self, day: dt.date, last: dt.date | None) -> None:
        """The account snapshots of the days since ``last`` up to ``day``: nothing changed
        between the two days the run did something (issue #18.5)."""
        from .metrics import snapshots

        first = day if last is None else last + dt.timedelta(days=1)
        snapshots.take(day, [first + dt.timedelta(days=k) for k in range((day - first).days)])

    def play(self) -> None:
        self.actions.sort(key=lambda a: (a[0], a[1]))
        last = None
        while True:
            days = [d for d in (self._next_billing_day(),
                                self.actions[0][0] if self.actions else None) if d]
            if not days:
                break
            day = min(days) if last is None else max(min(days), last + dt.timedelta(days=1))
            if day > self.until:
                break
            if last is not None and day - last > dt.timedelta(days=1):
                self.snapshot(day - dt.timedelta(days=1), last)  # the quiet days before
                last = day - dt.timedelta(days=1)
            renewals.run(day, pm=self.pm, config=self.config)
            while self.actions and self.actions[0][0] <= day:
                self.actions.pop(0)[2](day)
            self.snapshot(day, None)
            last = day
        if last is not None and last < self.until:
            self.snapshot(self.until, last)


def _harbour(today: dt.date, start: dt.date) -> None:
    """The past-due account: a devices plan and no card."""
    from . import demo

    harbour = demo._account("Harbour Coffee", "Harbour Coffee Ltd", "3 Quay Street", "CF10 5BZ",
                            "Cardiff", "GB")
    demo._user("admin@harbour.example", "Hana Admin", harbour, role="admin")
    demo._user(demo.CONSULTANT, "Sam Consultant", harbour)  # ACC-5: a second account
    demo._devices(harbour, (("Quayside", 2),), "HC")
    demo._subscription(harbour, "devices", "monthly", 2, today=today, start=start)


# A French business (BIL-1): with the demo's French seller (make demo) its invoices carry
# domestic French VAT at 20 % and the French B2B mentions (TAX-2, TAX-3).
FRENCH = ("Librairie Papillon", {"legal_name": "Librairie Papillon SAS",
                                 "address_line1": "9 rue des Carmes", "postal_code": "35000",
                                 "city": "Rennes", "country": "FR",
                                 "tax_id": "FR40303265045",
                                 "invoice_emails": "compta@papillon.example",
                                 "po_reference": "BC-2026-117"})


def _papillon(today: dt.date, start: dt.date) -> Account:
    """The French-speaking account: Business seats for its three people."""
    from . import demo

    papillon = (Account.get_or_none(Account.name == FRENCH[0])
                or onboarding.open_account(FRENCH[0], language="fr", details=FRENCH[1],
                                           via="demo"))
    for email, name, role in (("admin@papillon.example", "Paule Admin", Role.ADMIN),
                              ("lea@papillon.example", "Léa Libraire", Role.MEMBER),
                              ("hugo@papillon.example", "Hugo Libraire", Role.MEMBER)):
        user = demo._user(email, name, papillon, role=role)
        if user.language != "fr":
            user.language = "fr"
            user.save()
    demo._subscription(papillon, "business", "monthly", 3, today=today, start=start)
    return papillon


def _schedule_downgrade(account, plan_code, to_code, today, gateway) -> None:
    """Place a downgrade order as the account's admin would (CHG-2): it takes effect at
    the next payment date, nothing is charged now."""
    sub = _sub(account, plan_code)
    wanted = Terms(Plan.get(Plan.code == to_code), sub.interval, sub.quantity,
                   sub.addon_quantity)
    preview, digest = review_state(sub, wanted, today=today)
    place_order(sub.id, wanted, review_key=secrets.token_urlsafe(16),
                expected={"fingerprint": digest, **preview.figures()}, today=today,
                gateway=gateway, actor_id=_admin(account).id)


def load(today: dt.date) -> None:
    """Play the year of history (see the module docstring); the demo's base data, with
    subscriptions dated by ``starts(today)``, must be loaded first."""
    from flask import current_app

    from . import payments
    from .i18n import in_account_language
    from .plugins import plugin_manager
    from .views.change_messages import describe_line

    pm, config = plugin_manager(current_app), current_app.config
    gateway = registered_gateways(pm, config)["fake"]
    when = starts(today)
    _harbour(today, when.past_due)
    papillon = _papillon(today, when.monthly)
    north, corner, atelier = (_account(n) for n in
                              ("Northwind Retail", "Corner Bakeries", "Atelier Space"))
    timeline = Timeline(today, pm, config)

    def card(account, nonce):
        return lambda day: payments.add_card(account, _admin(account), nonce, gateway)

    timeline.on(when.monthly, card(north, "fake-valid-visa-nonce"))
    timeline.on(when.annual, card(atelier, "fake-valid-amex-nonce"))
    timeline.on(when.monthly, card(papillon, "fake-valid-visa-nonce"))

    # Corner's admin adds a card five days after the first invoice failed, and pays it.
    corner_first = add_months(when.monthly, 1)
    timeline.on(corner_first + dt.timedelta(days=5), card(corner, "fake-valid-mastercard-nonce"))
    timeline.on(corner_first + dt.timedelta(days=5), lambda day: renewals.pay_now(
        corner.id, day=day, pm=pm, config=config))

    # An operator credits one location on the invoice of two months ago.
    credited_month = add_months(today.replace(day=1), -2)

    def credit(day):
        invoice = (Invoice.select().where((Invoice.subscription == _sub(north, "locations").id)
                                          & (Invoice.period_start == credited_month)).get())
        operator = User.get(User.email == "operator@example.com")
        with write_transaction():
            issue_credit_note(invoice, CREDIT[0], CREDIT[1], day=day, user=operator)

    timeline.on(credited_month + dt.timedelta(days=4), credit)
    timeline.play()

    # Northwind's admin asks for a quote: Team seats to Business, today.
    team = _sub(north, "team")
    wanted = Terms(Plan.get(Plan.code == "business"), "monthly", team.quantity,
                   team.addon_quantity)
    preview, digest = review_state(team, wanted, today=today)
    with in_account_language(north):  # the quote's stored line texts, as the page does
        quotes.create_quote(team, preview, review_key=secrets.token_urlsafe(16), digest=digest,
                            today=today, describe=describe_line, actor_id=_admin(north).id)

    # Papillon's admin moves its seats from Business down to Team at the next renewal.
    _schedule_downgrade(papillon, "business", "team", today, gateway)


def next_billing_day(today: dt.date) -> dt.date | None:
    """The first payment date after ``today`` (what the README's example bills)."""
    found = (Subscription.select(Subscription.next_payment_date)
             .where((Subscription.status == SubscriptionStatus.ACTIVE)
                    & (Subscription.next_payment_date > today))
             .order_by(Subscription.next_payment_date).first())
    return found.next_payment_date if found else None
