"""An account's first admin invited from its page in the console (rules ACC-6, ONB-1):
the People section's "Invite an admin" form (field error beside the field, seats counted,
a flash), the mail through the real SMTP server, Resend and Revoke of its pending
invitations, each with the operator as the actor of the audit entry."""
import re

import pytest

from portal.accounts import invitations
from portal.db import db
from portal.models import Account, AuditEvent, Invitation, User
from support.api import csrf_token, parts, snapshot
from support.database import DEMO_TODAY

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)
OPERATOR = "operator@example.com"


def account_id(app, name="Atelier Space") -> int:
    with app.app_context():
        return Account.get(Account.name == name).id


def invite(client, aid, email):
    page = f"/operator/accounts/{aid}"
    response = client.post(f"{page}/invitations",
                           data={"csrf_token": csrf_token(client, page), "invite-email": email})
    response.close()  # the mail is handed over once the answer is sent
    return response


def test_acc6_onb1_an_operator_invites_an_accounts_first_admin(
        mail_app, mail_client, auth_for, smtp_server):
    auth_for(mail_client).login(as_=OPERATOR)
    corner = account_id(mail_app, "Corner Bakeries")
    sent = invite(mail_client, corner, "Olga@Corner.example")
    assert sent.status_code == 303 and sent.location.endswith(f"/operator/accounts/{corner}#people")
    page = mail_client.get(f"/operator/accounts/{corner}").get_data(as_text=True)
    assert "An invitation was sent to olga@corner.example." in page
    assert 'data-testid="pending-invitations"' in page and "olga@corner.example" in page
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "olga@corner.example"
    assert re.search(r"http://localhost/invitations/\S+", parts(mail)["text/plain"])
    with mail_app.app_context():
        pending = Invitation.get(Invitation.email == "olga@corner.example")
        assert (pending.account_id, pending.role) == (corner, "admin")
        entry = AuditEvent.get(AuditEvent.action == "invitation.send",
                               AuditEvent.account == corner)
        assert entry.actor.email == OPERATOR  # who did it


def test_acc6_onb1_a_bad_address_is_refused_beside_the_field_and_writes_nothing(
        app, client, auth):
    auth.login(as_=OPERATOR)
    aid = account_id(app)
    before = snapshot(app)
    refused = invite(client, aid, "not an address")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert re.search(r'id="invite-email-error">[^<]+<', page)
    assert 'value="not an address"' in page  # kept for correcting
    assert snapshot(app) == before


def test_acc6_onb1_chg1_a_full_account_refuses_with_the_seats_message(app, client, auth):
    """Atelier Space has 5 users, 4 active: one invitation takes the last seat."""
    auth.login(as_=OPERATOR)
    aid = account_id(app)
    assert invite(client, aid, "fifth@atelier.example").status_code == 303
    before = snapshot(app)
    full = invite(client, aid, "sixth@atelier.example")
    assert full.status_code == 409
    assert 'data-testid="seat-error"' in full.get_data(as_text=True)
    assert snapshot(app) == before


def test_acc6_onb1_the_operator_resends_and_revokes_an_accounts_invitation(
        app, client, auth):
    auth.login(as_=OPERATOR)
    aid = account_id(app)
    assert invite(client, aid, "fifth@atelier.example").status_code == 303
    with app.app_context():
        pending = Invitation.get(Invitation.email == "fifth@atelier.example")
    base = f"/operator/accounts/{aid}/invitations/{pending.id}"
    token = csrf_token(client, f"/operator/accounts/{aid}")
    resent = client.post(f"{base}/resend", data={"csrf_token": token})
    resent.close()
    assert resent.status_code == 303
    revoked = client.post(f"{base}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    page = client.get(f"/operator/accounts/{aid}").get_data(as_text=True)
    assert "was revoked" in page and 'data-testid="pending-invitations"' not in page
    again = client.post(f"{base}/revoke", data={"csrf_token": token})
    assert again.status_code == 303  # no longer pending: said in a flash
    assert "no longer pending" in client.get(f"/operator/accounts/{aid}").get_data(as_text=True)
    with app.app_context():
        operator = User.get(User.email == OPERATOR).id
        done = [(e.action, e.actor_id) for e in AuditEvent.select().where(
            AuditEvent.action.startswith("invitation."), AuditEvent.account == aid)]
        assert done == [("invitation.send", operator), ("invitation.resend", operator),
                        ("invitation.revoke", operator)]
        assert Invitation.get_by_id(pending.id).sent_count == 2


def test_acc6_an_invitation_is_resent_only_from_its_own_accounts_page(app, client, auth):
    with app.test_request_context():
        db.connect(reuse_if_open=True)
        atelier = Account.get(Account.name == "Atelier Space")
        theirs = invitations.invite(atelier, "z@atelier.example", lambda t: t).invitation
    auth.login(as_=OPERATOR)
    corner = account_id(app, "Corner Bakeries")
    token = csrf_token(client, f"/operator/accounts/{corner}")
    for action in ("resend", "revoke"):
        answer = client.post(f"/operator/accounts/{corner}/invitations/{theirs.id}/{action}",
                             data={"csrf_token": token})
        assert answer.status_code == 404
    with app.app_context():
        kept = Invitation.get_by_id(theirs.id)
        assert (kept.revoked_at, kept.sent_count) == (None, 1)
