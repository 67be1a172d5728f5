"""The notifier's mails for people who are invited (rule ACC-6): into an account, in the
account's language; or as an operator (``portal operators create --invite``).

Only this mail, to the invited address alone, says whether the address already has a
login ("accept with your login"): nothing on the inviter's side does.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from ..accounts import invitations
from ..i18n import account_locale
from ..models import Invitation, User
from ..notifications import Notification, render_mail


def invitation_sent(event, found):
    invitation = Invitation.get_or_none(Invitation.id == event.invitation_id)
    if invitation is None:
        return None
    account = invitation.account
    locale = account_locale(account)
    inviter = User.get_or_none(User.id == invitation.invited_by_id) \
        if invitation.invited_by_id else None
    with force_locale(locale):
        subject = _("You are invited to %(account)s", account=account.name)
    text, html = render_mail("invitation", locale, invitation=invitation, account=account,
                             inviter=inviter, link=event.link,
                             has_login=invitations.login_of(invitation) is not None,
                             expires_at=invitations.expires_at(invitation))
    return Notification(kind=event.kind, account_id=account.id,
                        recipients=(invitation.email,), subject=subject, text=text,
                        html=html, key=event.key, data={"invitation_id": invitation.id})


def operator_invited(event, found):
    user = User.get_or_none(User.id == event.user_id)
    if user is None:
        return None
    locale = account_locale(None)
    with force_locale(locale):
        subject = _("Choose your operator password")
    text, html = render_mail("operator_invited", locale, user=user, link=event.link)
    return Notification(kind=event.kind, account_id=None, recipients=(user.email,),
                        subject=subject, text=text, html=html, key=event.key,
                        data={"user_id": user.id})
