"""Self-serve sign-up (issue #16 item 6, rule ONB-1), on when PORTAL_SIGNUP=1: the public
pricing page, the sign-up form, the mailed link, then the card and the first invoice.

Off, every route here answers 404. The form is limited like the login (per client address
and per address, portal/accounts/login_limit.py), carries a honeypot field that people and
assistive technology never see (a bot that fills it gets the usual answer and nothing is
created), and answers the same for an address that already has a login: the lookup and
the mail happen after the answer is sent, as for a forgotten password.
"""
from __future__ import annotations

import logging

from flask import (Blueprint, abort, copy_current_request_context, current_app, flash,
                   redirect, render_template, request, session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import format_date, get_locale, ngettext
from flask_login import current_user, login_user
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange

from .. import clock, payments, signup
from ..accounts.login_limit import keys_for, login_limit
from ..billing import pricing, renewals
from ..catalogue import CURRENCIES
from ..catalogue.offers import offer, offers
from ..db import db
from ..forms import Form, PasswordPolicy
from ..i18n import LANGUAGES, country_choices, use_currency
from ..models import Subscription
from ..plugins import plugin_manager
from ..security import account_admin_required, enter
from ..statuses import Interval, InvoiceStatus, SubscriptionStatus

bp = Blueprint("signup", __name__)
log = logging.getLogger("portal.signup")
MAX_QUANTITY = 10_000


class SignupForm(Form):
    company_name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Work e-mail"), validators=[
        DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), PasswordPolicy()])
    country = SelectField(_l("Country"), choices=[], validators=[DataRequired()])
    quantity = IntegerField(_l("Quantity"), default=1, validators=[
        DataRequired(), NumberRange(min=1, max=MAX_QUANTITY)])
    plan = HiddenField()
    interval = HiddenField()
    currency = HiddenField()
    # The honeypot: hidden from people and assistive technology (portal.css, aria-hidden,
    # no tab stop); only a bot fills it in.
    website = StringField(_l("Leave this field empty"))


@bp.before_request
def only_when_on():
    """PORTAL_SIGNUP off: these pages do not exist."""
    if not current_app.config.get("SIGNUP"):
        abort(404)


def _choice(value, allowed, default):
    return value if value in allowed else default


def _currency() -> str:
    return _choice(request.values.get("currency", ""), CURRENCIES, CURRENCIES[0])


def _interval() -> str:
    return _choice(request.values.get("interval", ""), tuple(Interval), Interval.MONTHLY)


@bp.route("/pricing")
def pricing_page():
    """The plans on offer, as cards, in a currency and an interval chosen by links."""
    currency, interval = _currency(), _interval()
    use_currency(currency)
    return render_template("signup/pricing.html", offers=offers(currency, interval),
                           currency=currency, interval=interval, currencies=CURRENCIES,
                           intervals=tuple(Interval))


def _too_many(wait: int) -> str:
    return ngettext("Too many attempts. Wait %(num)d second, then try again.",
                    "Too many attempts. Wait %(num)d seconds, then try again.", wait)


@bp.route("/signup", methods=["GET", "POST"])
def start():
    """The sign-up form for one plan: nothing is created until the address is verified."""
    currency, interval = _currency(), _interval()
    chosen = offer(request.values.get("plan", ""), currency, interval)
    if chosen is None:  # no plan (or one not offered so): choose one first
        if request.method == "POST":
            abort(400)
        return redirect(url_for("signup.pricing_page", currency=currency, interval=interval))
    use_currency(currency)
    form = SignupForm(plan=chosen.plan.code, interval=interval, currency=currency)
    form.country.choices = [("", _("Choose your country"))] + country_choices()
    sent, error, wait = False, None, 0
    if request.method == "POST":
        keys = keys_for(request.remote_addr, request.form.get("email", ""), purpose="signup")
        wait = login_limit().wait(keys)
        if wait:
            error = _too_many(wait)
        elif form.validate_on_submit() and not _account_errors(form):
            login_limit().failed(keys)  # every sign-up counts: none tells a known address
            sent = True
    status = 429 if wait else 400 if form.errors else 200
    response = current_app.make_response((render_template(
        "signup/start.html", form=form, offer=chosen, sent=sent, error=error,
        email=form.email.data if sent else None), status))
    if wait:
        response.headers["Retry-After"] = str(wait)
    if sent and not form.website.data:  # the honeypot filled: the same answer, nothing done
        response.call_on_close(_deferred_signup(form, chosen))
    return response


def _account_errors(form: SignupForm) -> dict:
    """What ``open_account`` would refuse (ONB-1: the same checks), beside the fields."""
    errors = signup.check_fields(form.company_name.data, country=form.country.data,
                                 currency=form.currency.data, language=_language())
    for name, message in errors.items():
        field = getattr(form, {"company": "company_name"}.get(name, name), None)
        (field if field is not None else form.company_name).errors = [message]
    return errors


def _language() -> str:
    locale = str(get_locale() or "en")
    return locale if locale in LANGUAGES else "en"


def _deferred_signup(form: SignupForm, chosen):
    """``signup.request_signup`` for the form's values, once the answer has been sent."""
    placeholder = "TOKEN"
    template = url_for("signup.verify", token=placeholder, _external=True)
    values = dict(email=form.email.data, person_name=form.name.data,
                  company=form.company_name.data, password=form.password.data,
                  country=form.country.data, currency=chosen.currency, language=_language(),
                  plan_code=chosen.plan.code, interval=chosen.interval,
                  quantity=form.quantity.data, login_url=url_for("auth.login", _external=True))

    @copy_current_request_context
    def run():
        try:
            db.connect(reuse_if_open=True)
            signup.request_signup(link_for=lambda token: template.replace(placeholder, token),
                                  **values)
        except Exception:  # noqa: BLE001 - the answer is gone; the log is the record
            log.exception("the sign-up request could not be handled")

    return run


@bp.route("/signup/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    """The mailed link: a page with one button (mail scanners that open links do not
    use them up); pressing it creates the account, its admin and the subscription."""
    pending = signup.pending_for(token)
    if pending is None:
        return render_template("signup/link_invalid.html"), 410
    if request.method == "GET" or not Form().validate_on_submit():
        return render_template("signup/verify.html", pending=pending,
                               offer=offer(pending.plan_code, pending.currency,
                                           pending.interval))
    try:
        person, sub = signup.complete(pending, today=clock.today())
    except signup.SignupRefused as refused:
        if refused.code == "invalid":
            return render_template("signup/link_invalid.html"), 410
        return render_template("signup/refused.html", errors=refused.errors), 409
    session.clear()  # a new session, as after a login (ACC-8)
    login_user(person)
    enter(person)
    flash(_("Welcome, %(name)s: your account is ready.", name=person.name or person.email),
          "success")
    if sub.status == SubscriptionStatus.TRIALING:  # TRI-1: nothing to pay today
        flash(_("Your free trial runs until %(day)s: nothing is charged until then. Add a "
                "card before it ends to keep your subscription.",
                day=format_date(sub.trial_ends_on, "long")), "info")
        return redirect(url_for("subscription.index"), 303)
    return redirect(url_for("cards.new", next=url_for("signup.pay")), 303)


def _due_today(account_id):
    today = clock.today()
    return list(Subscription.select().where(
        (Subscription.account == account_id) & (Subscription.status == SubscriptionStatus.ACTIVE)
        & (Subscription.next_payment_date <= today)))


@bp.route("/signup/pay", methods=["GET", "POST"])
@account_admin_required
def pay():
    """The first invoice: what is due today and the card it goes to, then one button that
    invoices and charges it now through the billing run's own path (renewals.bill_now)."""
    account = current_user.account
    due = _due_today(account.id)
    if not due:
        return redirect(url_for("subscription.index"), 303)
    today = clock.today()
    card = next((m for m in payments.methods_of(account.id)
                 if m.is_default and payments.usable(m, today)), None)
    if card is None:
        return redirect(url_for("cards.new", next=url_for("signup.pay")), 303)
    if request.method == "POST" and Form().validate_on_submit():
        report = renewals.bill_now(account.id, day=today, pm=plugin_manager(),
                                   config=current_app.config)
        outcomes = {outcome for _id, outcome in report.outcomes}
        if outcomes - {InvoiceStatus.PAID}:
            flash(_("The payment did not go through: check the card, or add another one, "
                    "and press \"Pay now\"."), "error")
            return redirect(url_for("documents.index"), 303)
        flash(_("Thank you: your first invoice is paid. Its receipt is in Invoices."),
              "success")
        return redirect(url_for("subscription.index"), 303)
    use_currency(account.currency)
    usage = pricing.account_usage(account.id, stamp=account.usage_stamp)
    charges = renewals.next_charges(due, usage)
    return render_template("signup/pay.html", rows=[(s, charges.get(s.id)) for s in due],
                           total=sum(c.total for c in charges.values()),
                           card=payments.describe(card), account=account,
                           change_card=url_for("cards.new", next=url_for("signup.pay")))
