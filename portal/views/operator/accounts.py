"""Every account, one account's page as its admin sees it, the language of its mail and
documents, and its API tokens (rule ACC-2)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ... import pager
from ...accounts import invitations, overview, timeline
from ...accounts import tokens as api_tokens
from ...db import db
from ...forms import AdminInviteForm, Form
from ...i18n import LANGUAGE_NAMES, account_locale
from ...models import Account, ApiToken, AuditEvent, Subscription
from ...statuses import AccountStatus, SubscriptionStatus
from ...security import htmx
from ..change_messages import Scheduled
from ..documents import STATUS_LABELS
from ..language import AccountLanguageForm, language_choices
from ..subscription import subscription_context
from . import bp


def account_or_404(account_id: int) -> Account:
    return Account.get_or_none(Account.id == account_id) or abort(404)


TIMELINE_PAGE = 25  # timeline entries per page of the account page


def account_page(account, language_form=None, status=200, invite_form=None, invite_error=None):
    """The account page (issue #18.2): its subscriptions with usage and next charges
    (SUB-4), every section of portal/accounts/overview.py and a page of its timeline
    (``?page=``), newest first; a fixed number of queries whatever the account's size."""
    timeline_page = pager.from_request(timeline.entries(account.id), TIMELINE_PAGE)
    context = {**subscription_context(account, with_locations=True),
               **overview.sections(account.id),
               "timeline": timeline.load(timeline_page.items), "timeline_page": timeline_page,
               "account_state": account_state(account), "labels": STATUS_LABELS,
               "scheduled_entry": Scheduled.of, **invite_context(account, invite_form),
               "invite_error": invite_error}
    if language_form is not None:
        context["language_form"] = language_form
    return render_template("operator/account.html", **context), status


def invite_context(account, form=None) -> dict:
    """The People section's "Invite an admin" form and pending invitations (ACC-6)."""
    return {"invite_form": form or AdminInviteForm(formdata=None, prefix="invite"),
            "pending_invitations": list(invitations.pending_for(account)),
            "expires_at": invitations.expires_at}


def account_state(account) -> str:
    """Past due, active, in trial (TRI-1) or nothing left to renew (the accounts list's
    states)."""
    if account.status == AccountStatus.PAST_DUE:
        return "past_due"
    statuses = {s for (s,) in Subscription.select(Subscription.status).where(
        Subscription.account == account.id).tuples()}
    if SubscriptionStatus.ACTIVE in statuses:
        return "active"
    return "in_trial" if SubscriptionStatus.TRIALING in statuses else "ended"


@bp.route("/accounts/<int:account_id>")
def account(account_id):
    """One account, all in one place, in the operators' words."""
    return account_page(account_or_404(account_id))


@bp.route("/accounts/<int:account_id>/language", methods=["POST"])
def account_language(account_id):
    """Set the language of an account's notifications and PDF documents."""
    account = account_or_404(account_id)
    form = AccountLanguageForm()
    form.language.choices = language_choices(automatic=False)
    if not form.validate():
        return account_page(account, language_form=form, status=400)
    before, chosen = account_locale(account), form.language.data
    if chosen != before:
        with db.atomic():
            Account.update(language=chosen).where(Account.id == account.id).execute()
            AuditEvent.create(account=account.id, actor=current_user.id,
                              action="account.language", detail=f"{before} -> {chosen}")
    flash(_("Language of the mail and documents of %(account)s: %(language)s.",
            account=account.name, language=LANGUAGE_NAMES[chosen]), "success")
    return redirect(url_for(".account", account_id=account.id), 303)


# --- API tokens -----------------------------------------------------------------------------

class TokenForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("Who or what uses it, e.g. “Counting product, EU”."))


def _tokens_page(acct, form, status=200):
    return render_template("operator_inventory/tokens.html", account=acct, form=form,
                           tokens=list(api_tokens.tokens_of(acct.id))), status


@bp.route("/accounts/<int:account_id>/tokens", methods=["GET", "POST"])
def tokens(account_id):
    """The account's API tokens; POST makes a new one and shows it once."""
    acct = account_or_404(account_id)
    form = TokenForm()
    if request.method == "GET":
        return _tokens_page(acct, form)
    if not form.validate_on_submit():
        flash(_("The token was not created: see the form."), "error")
        return _tokens_page(acct, form, 400)
    token, plain = api_tokens.create_token(acct, form.name.data, created_by=current_user.id)
    flash(_("Token “%(name)s” created. Copy it now: it is not shown again.", name=token.name),
          "success")
    return render_template("operator_inventory/token_created.html", account=acct,
                           token=token, plain=plain), 201


def token_or_404(token_id: int) -> ApiToken:
    return ApiToken.get_or_none(ApiToken.id == token_id) or abort(404)


@bp.route("/tokens/<int:token_id>/rotate", methods=["POST"])
def rotate_token(token_id):
    """Revoke a token and make its successor with the same name, shown once."""
    token = token_or_404(token_id)
    acct = Account.get_by_id(token.account_id)
    try:
        new, plain = api_tokens.rotate_token(token, by=current_user.id)
    except ValueError:
        flash(_("This token is already revoked: create a new one instead."), "error")
        return redirect(url_for(".tokens", account_id=acct.id))
    flash(_("Token “%(name)s” rotated: the old one no longer works. Copy the new one now: it "
            "is not shown again.", name=new.name), "success")
    return render_template("operator_inventory/token_created.html", account=acct, token=new,
                           plain=plain), 201


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id):
    """Revoke a token for good."""
    token = token_or_404(token_id)
    if api_tokens.revoke_token(token, by=current_user.id):
        flash(_("Token “%(name)s” revoked: calls with it are refused from now on.",
                name=token.name), "success")
    else:
        flash(_("Token “%(name)s” was already revoked.", name=token.name), "info")
    if htmx:
        return render_template("operator_inventory/_token_row.html",
                               t=ApiToken.get_by_id(token.id), oob_flashes=True)
    return redirect(url_for(".tokens", account_id=token.account_id))
