"""Operator tokens for the provisioning API (issue #16 item 4): listed, made (shown once)
and revoked under System > Provisioning tokens; ``portal tokens create-operator`` does
the same from a shell. The service is portal/accounts/operator_tokens.py."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ...accounts import operator_tokens
from ...forms import Form
from ...models import OperatorToken
from ...security import htmx
from ..change_choices import choices
from . import bp


def _some_scope(form, field):
    """At least one scope (not DataRequired: it would mark every checkbox required)."""
    if not field.data:
        raise ValidationError(_("Choose at least one scope."))


class OperatorTokenForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What uses it, e.g. “CRM” or “Device platform”."))
    scopes = SelectMultipleField(
        _l("Scopes"), validators=[_some_scope],
        choices=choices((name, name) for name in operator_tokens.SCOPES),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


def _page(form, status=200):
    return render_template("operator/provisioning_tokens.html", form=form,
                           scopes=operator_tokens.SCOPES,
                           tokens=list(operator_tokens.listed())), status


@bp.route("/system/tokens", methods=["GET", "POST"])
def provisioning_tokens():
    """The operator tokens; POST makes a new one and shows it once."""
    form = OperatorTokenForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        flash(_("The token was not created: see the form."), "error")
        return _page(form, 400)
    token, plain = operator_tokens.create(form.name.data, form.scopes.data,
                                          created_by=current_user.id)
    flash(_("Token “%(name)s” created. Copy it now: it is not shown again.", name=token.name),
          "success")
    return render_template("operator/provisioning_token_created.html", token=token,
                           plain=plain), 201


@bp.route("/system/tokens/<int:operator_token_id>/revoke", methods=["POST"])
def revoke_provisioning_token(operator_token_id):
    """Revoke an operator token for good."""
    token = OperatorToken.get_or_none(OperatorToken.id == operator_token_id) or abort(404)
    if operator_tokens.revoke(token, by=current_user.id):
        flash(_("Token “%(name)s” revoked: calls with it are refused from now on.",
                name=token.name), "success")
    else:
        flash(_("Token “%(name)s” was already revoked.", name=token.name), "info")
    if htmx:
        return render_template("operator/_provisioning_token_row.html",
                               t=OperatorToken.get_by_id(token.id), oob_flashes=True)
    return redirect(url_for(".provisioning_tokens"), 303)
