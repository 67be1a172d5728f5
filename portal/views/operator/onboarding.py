"""Onboarding in the console (rule ONB-1): a new account with its billing details and its
first subscription on one page, a further subscription on an account's page, and a
negotiated price for an existing subscription (CHG-7).

Every creation goes through the services that every other path uses
(portal/accounts/onboarding.py, portal.catalogue); the New account page opens the account
and starts its subscription in one write transaction, so a subscription refused after
the account was opened leaves nothing behind. The account's first admin is invited from
the account's page (People section), once invitations exist (ACC-6).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...accounts import billing_details, onboarding
from ...catalogue import CatalogueError, negotiate, start_subscription
from ...db import write_transaction
from ...models import Account, Plan, Subscription
from ..change_messages import format_day
from . import bp
from .accounts import account_or_404
from .onboarding_forms import (AccountForm, NegotiatedForm, SubscriptionForm, details_form,
                               plan_choices, put_refusal)

ACCOUNT_FIELDS = ("name", "language", "currency")


def _start(account, form: SubscriptionForm) -> Subscription:
    """Start the subscription the form asks for (raises CatalogueError)."""
    plan = Plan.get_or_none(Plan.code == form.plan.data)
    if plan is None:
        raise CatalogueError("plan", "unknown plan")
    return start_subscription(account, plan, interval=form.interval.data,
                              quantity=form.quantity.data, addons=form.addon_quantity.data,
                              start=form.start.data, first_payment=form.first_payment.data,
                              negotiated=form.negotiated_prices(account.currency),
                              actor=current_user)


def _refused_account(refused, account_form, details) -> None:
    """Each error of ``AccountRefused`` beside its field, in either form."""
    for name, message in refused.errors.items():
        target = account_form if name in ACCOUNT_FIELDS else details
        target[name].errors = [*target[name].errors, message]


@bp.route("/accounts/new", methods=["GET", "POST"])
def new_account():
    """A new account with its billing details and its first subscription, all or nothing."""
    account_form, details = AccountForm(), details_form()
    form = SubscriptionForm(plan_choices=plan_choices())
    if request.method == "POST":
        shapes = account_form.validate() & details.validate() & form.validate()
        fields = {name: details[name].data for name in billing_details.FIELDS}
        arguments = dict(language=account_form.language.data,
                         currency=account_form.currency.data, details=fields)
        try:  # every account error at once, beside the subscription's (nothing written)
            onboarding.check(account_form.name.data, **arguments)
        except onboarding.AccountRefused as refused:
            _refused_account(refused, account_form, details)
            shapes = False
        if shapes:
            try:
                with write_transaction():  # ONB-1: the account only with its subscription
                    account = onboarding.open_account(
                        account_form.name.data, negotiated=form.negotiated.data,
                        actor=current_user, via="console", **arguments)
                    _start(account, form)
            except onboarding.AccountRefused as refused:
                _refused_account(refused, account_form, details)
            except CatalogueError as error:  # rolled back: no account without it
                put_refusal(form, error, account_form.currency.data)
            else:
                flash(_("Account %(name)s opened with its subscription.", name=account.name),
                      "success")
                return redirect(url_for(".account", account_id=account.id), 303)
    return render_template("operator/account_new.html", account_form=account_form,
                           details=details, form=form), 400 if request.method == "POST" else 200


@bp.route("/accounts/<int:account_id>/subscriptions/new", methods=["GET", "POST"])
def new_subscription(account_id):
    """Start a further subscription for an account (ONB-1)."""
    account = account_or_404(account_id)
    form = SubscriptionForm(plan_choices=plan_choices(account.currency))
    if request.method == "POST" and form.validate():
        try:
            with write_transaction():
                _start(account, form)
                if form.negotiated.data:  # CHG-7: its admins no longer use the wizard
                    Account.update(negotiated_contract=True).where(
                        Account.id == account.id).execute()
        except CatalogueError as error:
            put_refusal(form, error, account.currency)
        else:
            flash(_("Subscription started."), "success")
            return redirect(url_for(".account", account_id=account.id, _anchor="subscriptions"),
                            303)
    return render_template("operator/subscription_new.html", account=account, form=form), \
        400 if request.method == "POST" else 200


def subscription_or_404(sid: int) -> Subscription:
    return Subscription.get_or_none(Subscription.id == sid) or abort(404)


@bp.route("/subscriptions/<int:sid>/negotiated", methods=["GET", "POST"])
def negotiated_price(sid):
    """A negotiated price for an existing subscription (CHG-7): a version private to the
    account, paid from the next payment date on (docs/decisions.md)."""
    sub = subscription_or_404(sid)
    account = Account.get_by_id(sub.account_id)
    current = sub.price_version
    form = NegotiatedForm(data={"monthly": current.monthly_price, "annual": current.annual_price,
                                "addon_monthly": current.addon_monthly_price,
                                "addon_annual": current.addon_annual_price}
                          if request.method == "GET" and current else None)
    if request.method == "POST" and form.validate():
        try:
            version = negotiate(sub, form.prices(account.currency), actor=current_user,
                                note=" ".join((form.note.data or "").split()))
        except CatalogueError as error:
            put_refusal(form, error, account.currency)
        else:
            flash(_("Negotiated price saved (version %(number)s): billed from %(date)s.",
                    number=version.number, date=format_day(sub.next_payment_date)), "success")
            return redirect(url_for(".account", account_id=account.id, _anchor="subscriptions"),
                            303)
    return render_template("operator/negotiated.html", account=account, sub=sub, form=form,
                           current=current), 400 if request.method == "POST" else 200
