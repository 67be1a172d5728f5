"""Billing details (rule BIL-1): the account admin's *Billing details* page on the
dashboard; the operator console shares the form (views/operator/billing.py). A real form
(works without JavaScript); the service (portal/accounts/billing_details.py) checks every
field, the tax ID by checksum, and its errors are shown beside the fields; nothing is saved
unless all are valid."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, StringField
from wtforms.validators import Length

from ..accounts import billing_details
from ..forms import Form
from ..i18n import country_choices
from ..models import Account
from ..security import account_admin_required

bp = Blueprint("billing_details", __name__)


class BillingDetailsForm(Form):
    legal_name = StringField(_l("Legal name"), validators=[Length(max=200)],
                             description=_l("As registered; printed on invoices."))
    address_line1 = StringField(_l("Address"), validators=[Length(max=200)])
    address_line2 = StringField(_l("Address (line 2)"), validators=[Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Length(max=20)])
    city = StringField(_l("City"), validators=[Length(max=100)])
    country = SelectField(_l("Country"), choices=[], validate_choice=False)
    tax_id = StringField(_l("Tax ID"), validators=[Length(max=32)],
                         description=_l("VAT number with its country code (e.g. "
                                        "FR40303265045), or your country's tax number."))
    invoice_emails = StringField(_l("Invoice e-mail addresses"),
                                 validators=[Length(max=1000)],
                                 description=_l("Separated by commas; invoices and receipts "
                                                "are sent there too."))
    po_reference = StringField(_l("Purchase order"), validators=[Length(max=100)],
                               description=_l("Printed on every invoice."))


def details_form(account: Account) -> BillingDetailsForm:
    form = BillingDetailsForm(data=billing_details.details_of(account))
    form.country.choices = [("", _("Choose a country"))] + country_choices()
    return form


def edit(account: Account, template: str, done_url: str, **context):
    """Show the form, or save it: errors beside the fields (400), else back with a notice."""
    form = details_form(account)
    if form.validate_on_submit():
        try:
            billing_details.update(account, {k: form[k].data for k in billing_details.FIELDS},
                                   actor_id=current_user.id)
        except billing_details.DetailsRefused as refused:
            for name, message in refused.errors.items():
                form[name].errors = [*form[name].errors, message]
        else:
            flash(_("Billing details saved. Documents already issued keep the details "
                    "they were issued with."), "success")
            return redirect(done_url)
    status = 400 if form.errors else 200
    return render_template(template, form=form, account=account, **context), status


@bp.route("/admin/billing-details", methods=["GET", "POST"])
@account_admin_required
def admin_edit():
    """The dashboard's Billing details tab (BIL-1)."""
    return edit(current_user.account, "billing_details/admin.html",
                url_for("billing_details.admin_edit"))
