"""The forms of onboarding in the console (rule ONB-1, CHG-7): a new account, its first
(or a further) subscription, a negotiated price. They check the shape of each field; the
services (portal/accounts/onboarding.py, portal.catalogue) check the rules, and their
refusals are put beside the field they name."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, DecimalField, IntegerField, RadioField, SelectField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ... import clock
from ...billing.catalogue import PriceBook
from ...billing.changes import MAX_UNITS
from ...catalogue import CURRENCIES, CatalogueError, Prices, amount
from ...forms import Form
from ...i18n import country_choices
from ...models import Plan
from ..billing_details import BillingDetailsForm
from ..change_choices import INTERVAL_CHOICES, choices
from ..language import language_choices

PRICE = dict(places=2, validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class AccountForm(Form):
    """A new account's name, language and currency (ONB-1, CAT-1)."""

    name = StringField(_l("Account name"), validators=[DataRequired(), Length(max=200)],
                       description=_l("How the portal and the console call it."))
    language = SelectField(_l("Language of its mail and documents"))
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in CURRENCIES),
                           description=_l("Every price and document of the account is in "
                                          "this currency; it cannot change later."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices(automatic=False)


def details_form() -> BillingDetailsForm:
    """The billing details fields (BIL-1) inside the New account form: prefixed, and
    without a token of their own (the page's form carries it)."""
    form = BillingDetailsForm(prefix="details", meta={"csrf": False})
    form.country.choices = [("", _("Choose a country"))] + country_choices()
    return form


class PricesForm(Form):
    """Unit prices agreed with one account (CHG-7), in its currency."""

    class Meta:
        csrf = False  # CSRFProtect guards every POST; the page's form carries the token

    monthly = DecimalField(_l("Monthly price per unit"), **PRICE)
    annual = DecimalField(_l("Annual price per unit"), **PRICE)
    addon_monthly = DecimalField(_l("Monthly price per add-on license"), **PRICE)
    addon_annual = DecimalField(_l("Annual price per add-on license"), **PRICE)

    def require_prices(self) -> bool:
        """The two unit prices are needed; add-on prices default to zero; every price in
        whole cents (the catalogue's own check, DOC-3)."""
        ok = True
        for f in (self.monthly, self.annual, self.addon_monthly, self.addon_annual):
            if f.data is not None and not f.errors:
                try:
                    amount(str(f.data), f.name)
                except CatalogueError:
                    f.errors = [*f.errors, _("Give an amount in whole cents (at most two "
                                             "decimals).")]
                    ok = False
        for f in (self.monthly, self.annual):
            if f.data is None and not f.errors:
                f.errors = [*f.errors, _("Give the negotiated price.")]
                ok = False
        return ok

    def prices(self, currency: str) -> Prices:
        zero = Decimal("0.00")
        return Prices(currency, self.monthly.data, self.annual.data,
                      self.addon_monthly.data if self.addon_monthly.data is not None else zero,
                      self.addon_annual.data if self.addon_annual.data is not None else zero)


class SubscriptionForm(PricesForm):
    """A subscription to start (ONB-1): plan, interval, quantities, dates, and negotiated
    prices when ticked (CHG-7). Trials are not offered here (TRI-1 is built apart)."""

    plan = SelectField(_l("Plan"), validate_choice=True)
    interval = RadioField(_l("Billing interval"), choices=choices(INTERVAL_CHOICES),
                          default="monthly")
    quantity = IntegerField(_l("Units (users, devices or locations)"), default=1, validators=[
        InputRequired(_l("Enter the number of units.")),
        NumberRange(0, MAX_UNITS, _l("Enter a whole number from %(min)s to %(max)s."))])
    addon_quantity = IntegerField(_l("Add-on licenses"), default=0, validators=[
        InputRequired(_l("Enter the number of add-on licenses (0 for none).")),
        NumberRange(0, MAX_UNITS, _l("Enter a whole number from %(min)s to %(max)s."))])
    start = DateField(_l("Start date"), validators=[InputRequired(_l("Give the start date."))])
    first_payment = DateField(_l("First payment date (optional)"), validators=[Optional()],
                              description=_l("Empty: the first of next month (monthly) or a "
                                             "year after the start (annual)."))
    negotiated = BooleanField(_l("Negotiated prices (a contract with this account)"))

    def __init__(self, *args, plan_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.plan.choices = list(plan_choices)
        if self.start.data is None and not self.start.raw_data:
            self.start.data = clock.today()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.negotiated.data:
            ok = self.require_prices() and ok
        return ok

    def negotiated_prices(self, currency: str) -> Prices | None:
        return self.prices(currency) if self.negotiated.data else None


class NegotiatedForm(PricesForm):
    """A negotiated price for an existing subscription (CHG-7), with a note for the log."""

    note = TextAreaField(_l("Note for the audit log (optional)"),
                         validators=[Length(max=500)])

    def validate(self, extra_validators=None) -> bool:
        return super().validate(extra_validators) & self.require_prices()


def plan_choices(currency: str | None = None) -> list:
    """Plans still offered (CAT-3) with a price in ``currency`` (CAT-1); with none, every
    offered plan with the currencies it is priced in (the page cannot know the currency
    chosen beside it without JavaScript: the service refuses a plan not priced in it)."""
    plans = list(Plan.select().where(Plan.available).order_by(Plan.rank, Plan.name))
    book = PriceBook.load(p.id for p in plans)
    result = []
    for plan in plans:
        priced = [c for c in CURRENCIES if (plan.id, c) in book.by_plan]
        if currency is None and priced:
            result.append((plan.code, f"{plan.name} ({', '.join(priced)})"))
        elif currency in priced:
            result.append((plan.code, plan.name))
    return choices(result)


def refusal_text(error: CatalogueError, currency: str) -> str:
    """A refusal of portal.catalogue in the reader's language, for the field it names."""
    messages = {
        "plan": _("This plan is retired or has no price in %(currency)s: choose another.",
                  currency=currency),
        "interval": _("Choose monthly or annual."),
        "quantity": _("Quantities must be zero or more."),
        "first_payment": _("The first payment date must come after the start date, at most "
                           "one period after it; monthly plans are paid on the first day "
                           "of a month."),
        "currency": _("Negotiated prices are in the account's currency (%(currency)s).",
                      currency=currency),
        "subscription": _("This subscription has ended."),
    }
    return messages.get(error.field, error.message)


def put_refusal(form, error: CatalogueError, currency: str) -> None:
    """Show a catalogue refusal beside its field (the plan field when it names none)."""
    name = error.field if error.field in form else "plan" if "plan" in form else "monthly"
    form[name].errors = [*form[name].errors, refusal_text(error, currency)]
