"""The built-in notifier: the one place where domain events become mails.

It listens on ``portal_events`` like any outside plugin and turns each event into a
``Notification`` for the channels (``portal.notifications.notify``): in the account's
language for the account's people, in the reader's for the support address. A mail
whose event can happen twice (a billing run started again, an API call retried) carries
a key, so it is delivered at most once per channel. The events of one call are recorded
in one commit (a billing batch: a few queries and one transaction for all its mails).

Disable it (PORTAL_DISABLE_PLUGINS=notifier) and the portal sends no mail of its own;
the events still reach every other listener.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from collections.abc import Iterable
from typing import cast

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..billing import pricing, renewals, trials
from ..billing.collection import card_label, card_of
from ..billing.invoices import amount_due
from ..hookspecs import hookimpl
from ..i18n import LANGUAGES, account_locale, in_account_language
from ..models import (Account, ChangeOrder, Charge, Device, Invoice, Location,
                      ManualMethodRequest, Membership, PaymentMethod, Quote, Receipt,
                      Subscription, SurveyAnswer, User, utcnow)
from ..billing.parties import emails_of
from ..notifications import (Notification, notify, recipients_for_account, render_mail,
                             render_mails)
from ..notifications.batch import notify_many
from ..payments import describe
from ..statuses import Role, SubscriptionStatus
from ..views.change_choices import reason_choices
from ..views.change_messages import format_day, placed_message
from .invitation_mail import invitation_sent, operator_invited

BILLING = ("payment_failed", "receipt_ready", "invoice_issued")


@hookimpl(tryfirst=True)  # the mails are recorded before any outside listener runs
def portal_events(events):
    found = _billing_facts([e for e in events if e.kind in BILLING])
    mails = rendered([mail for event in events
                      if event.kind in COMPOSERS
                      for mail in [COMPOSERS[event.kind](event, found)] if mail is not None])
    if len(mails) == 1:
        notify(mails[0])
    elif mails:  # one statement records them all; delivered together once it commits
        notify_many(mails)


# --- the account's devices (DEV-2) ---

def device_added(event, found):
    """DEV-2: the account's admins and active members hear of a new device, once."""
    device = Device.get_by_id(event.device_id)
    account = Account.get_by_id(event.account_id)
    location = Location.get_by_id(device.location_id)
    locale = account_locale(account)
    context = {"account": account, "device": device, "location": location, "when": utcnow()}
    with force_locale(locale):
        subject = _("New device %(serial)s at %(location)s", serial=device.serial,
                    location=location.name)
    text, html = render_mail("device_added", locale, **context)
    return Notification(kind=event.kind, account_id=account.id,
                        recipients=recipients_for_account(account.id), subject=subject,
                        text=text, html=html, key=event.key,
                        data={"serial": device.serial, "location": location.external_id})


# --- the plan-change wizard ---

def order_placed(event, found):
    order = ChangeOrder.get_by_id(event.order_id)
    with in_account_language(order.account):  # the admins' mail: the account's language
        return Notification(
            kind=event.kind, account_id=order.account_id,
            recipients=recipients_for_account(order.account_id, admins_only=True),
            subject=_("Order placed: %(plan)s", plan=order.plan.name),
            text=placed_message(order), data={"order_id": order.id}, key=event.key)


def quote_ready(event, found):
    quote = Quote.get_by_id(event.quote_id)
    with in_account_language(quote.account):  # the admins' mail: the account's language
        return Notification(
            kind=event.kind, account_id=quote.account_id,
            recipients=recipients_for_account(quote.account_id, admins_only=True),
            subject=_("Quote %(number)s is ready", number=quote.number),
            text=_("Quote %(number)s for %(plan)s is valid until %(date)s.",
                   number=quote.number, plan=quote.plan.name,
                   date=format_day(quote.valid_until)),
            data={"quote_id": quote.id}, key=event.key)


def survey_answered(event, found):
    """To support, in the language of whoever reads it now (the request's)."""
    answer = SurveyAnswer.get_by_id(event.survey_id)
    account = Account.get_by_id(answer.account_id)
    who = User.get_or_none(User.id == event.user_id) if event.user_id else None
    reason = dict(reason_choices()).get(answer.reason, answer.reason)
    return Notification(
        kind=event.kind, account_id=answer.account_id,
        recipients=(current_app.config["SUPPORT_EMAIL"],),
        subject=_("Survey: %(account)s, %(change)s: %(reason)s",
                  account=account.name, change=answer.change, reason=reason),
        text=_("%(who)s (%(account)s) answered the %(change)s survey for %(plan)s.\n"
               "Reason: %(reason)s\nDetails: %(details)s", who=who.email if who else "-",
               account=account.name, change=answer.change, plan=answer.subscription.plan.name,
               reason=reason, details=answer.details or "-"),
        data={"survey_id": answer.id, "reason": answer.reason}, key=event.key)


# --- payment methods (PAY-1, PAY-3) ---

def _to_admins(account_id, kind: str, subject: str, text: str):
    recipients = recipients_for_account(account_id, admins_only=True)
    if recipients:
        return Notification(kind=kind, account_id=account_id, recipients=recipients,
                            subject=subject, text=text)
    return None


def payment_method_added(event, found):
    method = PaymentMethod.get_by_id(event.method_id)
    account = Account.get_by_id(event.account_id)
    actor = User.get_or_none(User.id == event.actor_id) if event.actor_id else None
    with in_account_language(account):  # the admins read it in the account's language
        return _to_admins(account.id, event.kind,
                          _("A card was added to %(account)s", account=account.name),
                          _("%(who)s added %(card)s to the payment methods of %(account)s. "
                            "If you did not expect this, contact %(support)s.",
                            who=actor.email if actor else "-", card=describe(method),
                            account=account.name,
                            support=current_app.config.get("SUPPORT_EMAIL", "")))


def payment_method_removed(event, found):
    if event.actor_id is None:  # removed by the portal itself: nobody to name
        return None
    method = PaymentMethod(gateway=event.gateway, brand=event.brand, last4=event.last4,
                           exp_month=event.exp_month, exp_year=event.exp_year)  # its row is gone
    account = Account.get_by_id(event.account_id)
    actor = User.get_or_none(User.id == event.actor_id)
    with in_account_language(account):  # the admins read it in the account's language
        return _to_admins(account.id, event.kind,
                          _("A payment method was removed from %(account)s",
                            account=account.name),
                          _("%(who)s removed %(method)s from the payment methods of "
                            "%(account)s.", who=actor.email if actor else "-",
                            method=describe(method), account=account.name))


def manual_method_decided(event, found):
    request = ManualMethodRequest.get_by_id(event.request_id)
    account = Account.get_by_id(event.account_id)
    with in_account_language(account):  # the admins read it in the account's language
        return _to_admins(account.id, event.kind,
                          _("Payment by invoice for %(account)s", account=account.name),
                          _("Payment by invoice (bank transfer) is approved for %(account)s.",
                            account=account.name) if event.approved else
                          _("Payment by invoice for %(account)s was not approved: %(reason)s",
                            account=account.name, reason=request.decision_note))


# --- a person's password (ACC-8): to that person alone, in their language ---

def _person_locale(user) -> str:
    """A person's mail language: their own choice, else their account's."""
    if user.language in LANGUAGES:
        return user.language
    account_id = getattr(user, "account_id", None)
    return account_locale(Account.get_or_none(Account.id == account_id) if account_id else None)


def _to_person(event, user, template, subject, **context):
    """``subject()`` is called in the person's language."""
    locale = _person_locale(user)
    with force_locale(locale):
        subject = subject()
    text, html = render_mail(template, locale, user=user, **context)
    return Notification(kind=event.kind, account_id=event.account_id, recipients=(user.email,),
                        subject=subject, text=text, html=html, key=event.key,
                        data={"user_id": user.id})


def password_changed(event, found):
    user = User.get_or_none(User.id == event.user_id)
    if user is None:
        return None
    return _to_person(event, user, "password_changed", lambda: _("Your password was changed"),
                      when=dt.datetime.fromisoformat(event.changed_at))


def password_reset_requested(event, found):
    user = User.get_or_none(User.id == event.user_id)
    if user is None:
        return None
    return _to_person(event, user, "password_reset", lambda: _("Reset your password"),
                      link=event.link)


# --- self-serve sign-up (issue #16 item 6): to the address given, in the form's language ---

def signup_requested(event, found):
    """The verification link, or, for an address that already has a login, a mail that
    says so and links to the login (the form answered the same either way)."""
    locale = event.language if event.language in LANGUAGES else None
    template = "signup_known" if event.known else "signup_verify"
    with force_locale(locale or current_app.config.get("DEFAULT_LOCALE", "en")):
        subject = (_("You already have a login") if event.known
                   else _("Confirm your e-mail address"))
    text, html = render_mail(template, locale, email=event.email, link=event.link)
    return Notification(kind=event.kind, account_id=None, recipients=(event.email,),
                        subject=subject, text=text, html=html, key=event.key,
                        data={"known": event.known})


# --- the billing run (issue 6): to the account's admins ---

def _billing_facts(events) -> dict:
    """The invoices, accounts, receipts and admins of a batch of billing events, read in
    four queries whatever its size (a billing run hands over a batch at a time)."""
    if not events:
        return {}
    invoices = {i.id: i for i in Invoice.select().where(
        Invoice.id.in_(list({e.invoice_id for e in events})))}
    accounts = {a.id: a for a in Account.select().where(
        Account.id.in_(list({i.account_id for i in invoices.values()})))}
    receipts = {r.invoice_id: r for r in Receipt.select().where(
        Receipt.invoice.in_([e.invoice_id for e in events if e.kind == "receipt_ready"]))}
    admins: dict[int, list[str]] = {}
    for account_id, email in cast(Iterable[tuple[int, str]], Membership.select(
            Membership.account, User.email).join(User)
            .where(Membership.account.in_(list(accounts)) & (Membership.role == Role.ADMIN)
                   & (Membership.active == True))  # noqa: E712
            .order_by(User.email).tuples()):
        admins.setdefault(account_id, []).append(email)
    return {"invoices": invoices, "accounts": accounts, "receipts": receipts,
            "admins": admins}


@dataclass(frozen=True)
class Unrendered:
    """A billing mail whose text and HTML are rendered with the others of its batch."""

    template: str
    locale: str
    context: dict
    notification: Notification


def rendered(mails: list) -> list[Notification]:
    """``mails`` with each ``Unrendered`` one rendered, a template and language at a time
    (``render_mails``), in their order."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, mail in enumerate(mails):
        if isinstance(mail, Unrendered):
            groups.setdefault((mail.template, mail.locale), []).append(i)
    done = list(mails)
    for (template, locale), places in groups.items():
        texts = render_mails(template, locale, [mails[i].context for i in places])
        for i, (text, html) in zip(places, texts, strict=True):
            done[i] = replace(mails[i].notification, text=text, html=html)
    return done


def _billing_mail(event, found, template, subject, context, key):
    invoice = found["invoices"][event.invoice_id]
    account = found["accounts"][invoice.account_id]
    # BIL-1: the account's invoice e-mail addresses receive its billing mail too.
    recipients = tuple(dict.fromkeys([*found["admins"].get(account.id, ()),
                                      *emails_of(account)]))
    return Unrendered(template, account_locale(account), context, Notification(
        kind=event.kind, account_id=account.id, recipients=recipients, subject=subject,
        text="", key=key, data={"invoice": invoice.number, "status": invoice.status}))


def payment_failed(event, found):
    invoice = found["invoices"][event.invoice_id]
    attempt = (Charge.select().where(Charge.invoice == invoice.id)
               .order_by(Charge.attempt.desc()).first())
    amount = attempt.amount if attempt else amount_due(invoice)
    with force_locale(account_locale(found["accounts"][invoice.account_id])):
        subject = _("Payment failed for invoice %(number)s", number=invoice.number)
        message = (_("There is no card on file: add one, then press \"Pay now\".")
                   if event.code == "no_card" else event.message)
    context = {"invoice": invoice, "amount": amount, "message": message,
               "retry_on": event.retry_on}
    return _billing_mail(event, found, "billing_payment_failed", subject, context,
                         f"payment_failed:{invoice.number}:{invoice.dunning_step}")


def receipt_ready(event, found):
    invoice = found["invoices"][event.invoice_id]
    receipt = found["receipts"].get(invoice.id) or Receipt.get(Receipt.invoice == invoice.id)
    with force_locale(account_locale(found["accounts"][invoice.account_id])):
        subject = _("Receipt %(number)s: thank you for your payment", number=receipt.number)
    return _billing_mail(event, found, "billing_receipt_ready", subject,
                         {"invoice": invoice, "receipt": receipt},
                         f"receipt_ready:{receipt.number}")


def invoice_issued(event, found):
    invoice = found["invoices"][event.invoice_id]
    with force_locale(account_locale(found["accounts"][invoice.account_id])):
        subject = _("Invoice %(number)s", number=invoice.number)
    return _billing_mail(event, found, "billing_invoice_issued", subject,
                         {"invoice": invoice}, f"invoice_issued:{invoice.number}")


# --- trials (TRI-1): to the account's admins and invoice addresses ---

def trial_ending(event, found):
    """7 days and 1 day before a trial's last day: what will be charged then, and to
    which method, or that there is none and the subscription will end (one mail per key)."""
    sub = Subscription.get_or_none(Subscription.id == event.subscription_id)
    if sub is None or sub.status != SubscriptionStatus.TRIALING \
            or sub.trial_ends_on != event.ends_on:
        return None
    account = Account.get_by_id(sub.account_id)
    usage = pricing.account_usage(account.id)
    charge = renewals.next_charges([sub], usage)[sub.id]  # SUB-4: what the run will bill
    method = card_of(account.id)
    locale = account_locale(account)
    with force_locale(locale):
        card = card_label(method, locale=locale) if trials.usable(method, event.ends_on) else ""
        subject = _("Your trial of %(plan)s ends on %(day)s", plan=sub.plan.name,
                    day=format_day(sub.trial_ends_on))
    text, html = render_mail("trial_ending", locale, sub=sub, account=account, card=card,
                             charge=charge)
    admins = [u.email for u in User.select(User.email).join(Membership).where(
        (Membership.account == account.id) & (Membership.role == Role.ADMIN)
        & (Membership.active == True)).order_by(User.email)]  # noqa: E712
    recipients = tuple(dict.fromkeys([*admins, *emails_of(account)]))
    if not recipients:
        return None
    return Notification(kind=event.kind, account_id=account.id, recipients=recipients,
                        subject=subject, text=text, html=html, key=event.key,
                        data={"subscription_id": sub.id, "reminder": event.reminder,
                              "card": bool(card)})


# Mail keys above are those the portal used before the events (invoice and receipt
# numbers), so a run started again across an upgrade still sends each mail once.
COMPOSERS = {
    "device_added": device_added, "order_placed": order_placed, "quote_ready": quote_ready,
    "survey_answered": survey_answered, "payment_method_added": payment_method_added,
    "payment_method_removed": payment_method_removed,
    "manual_method_decided": manual_method_decided, "payment_failed": payment_failed,
    "receipt_ready": receipt_ready, "invoice_issued": invoice_issued,
    "password_changed": password_changed,
    "password_reset_requested": password_reset_requested,
    "trial_ending": trial_ending,
    "signup_requested": signup_requested,
    "invitation_sent": invitation_sent, "operator_invited": operator_invited,
}
