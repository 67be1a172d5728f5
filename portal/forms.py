"""WTForms forms: validation with errors shown next to each field.

Every form of the portal derives from ``Form``: each of its text fields (StringField and
its kinds: text areas, emails, passwords, hidden fields) refuses control characters before
any other check runs (portal/text.py), and says so beside the field. Fields named ``name``
or ``*_name``, and emails, follow the stricter rule for names. A test walks every
FlaskForm subclass of the app, so a form that forgets the base class fails it.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, PasswordField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Email, EqualTo, Length, StopValidation

from . import text
from .accounts import password_policy

MESSAGES = {
    "control": _l("Remove the control character %(code)s: it cannot be stored."),
    "invisible": _l("Names cannot hold invisible or text-direction characters (%(code)s): "
                    "remove it."),
}


def text_kind(field) -> str | None:
    """Which rule of portal/text.py applies to ``field``; None for non-text fields."""
    if not isinstance(field, StringField):
        return None
    if isinstance(field, TextAreaField):
        return "multiline"
    if isinstance(field, EmailField) or field.short_name == "name" \
            or field.short_name.endswith("_name"):
        return "name"
    return "line"


class CleanText:
    """A validator: refuse the characters ``kind`` forbids, stopping the other checks
    (none of them, nor the view, ever sees the value)."""

    def __init__(self, kind: str):
        self.kind = kind

    def __call__(self, form, field):
        if not isinstance(field.data, str):
            return
        char = text.forbidden(field.data, self.kind)
        if char:
            message = MESSAGES["invisible" if text.is_invisible(char) else "control"]
            raise StopValidation(str(message % {"code": text.describe(char)}))


class Form(FlaskForm):
    """The base of every portal form (see the module's docstring)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            kind = text_kind(field)
            if kind:
                field.validators = [CleanText(kind), *field.validators]
            return field


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                 Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=512)])


class PasswordPolicy:
    """A validator: the password policy of ACC-8 (portal/accounts/password_policy.py),
    its refusal said beside the field."""

    MESSAGES = {
        password_policy.TOO_SHORT: _l("Use at least %(num)d characters.",
                                      num=password_policy.MIN_LENGTH),
        password_policy.TOO_LONG: _l("Use at most %(num)d characters.",
                                     num=password_policy.MAX_LENGTH),
        password_policy.TOO_COMMON: _l("This password is one of the most common ones: "
                                       "choose another."),
    }

    def __call__(self, form, field):
        code = password_policy.problem(field.data or "")
        if code:
            raise StopValidation(str(self.MESSAGES[code]))


class NewPasswordForm(Form):
    """A new password, typed twice (ACC-8)."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired(),
                                                                 PasswordPolicy()])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(), Length(max=512)])


class ForgotPasswordForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                 Length(max=254)])


class InviteForm(Form):
    """An admin invites a person into the account (ACC-6): email, role, add-on license."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                 Length(max=254)])
    role = SelectField(_l("Role"), choices=[SelectChoice("member", _l("Member")),
                                              SelectChoice("admin", _l("Admin"))],
                       default="member")
    addon_license = BooleanField(_l("Holds an add-on license"))


class AdminInviteForm(Form):
    """An operator invites an account's admin from its page (ACC-6, ONB-1): the email."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                 Length(max=254)])


class AcceptNewForm(NewPasswordForm):
    """A new person accepts an invitation: their name and a password (ACC-6, ACC-8)."""

    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("Password"), validators=[DataRequired(), PasswordPolicy()])
    confirm = PasswordField(_l("Password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))])


class AcceptWithLoginForm(Form):
    """A person with a login accepts an invitation with their password (ACC-6)."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=512)])
