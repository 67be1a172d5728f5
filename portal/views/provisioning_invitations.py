"""The provisioning API's invitations (rules ACC-6, ONB-1): an operator token with the
scope ``invitations:write`` invites a person (typically the account's first admin) into
an account it opened, through ``portal.accounts.invitations`` (the one way to invite:
the members page, the account API, the operator console and the CSV import use it too).

Answers as ``PUT /api/v1/members/{email}`` does for an invitation: 202 with ``invited``
(or ``unchanged``: one is already pending, not mailed again) and the invitation, the
same whether or not the address has a login elsewhere (no enumeration, ACC-6); the mail
goes out once the answer is sent. An address already a member of the account: 200
``member``. No seat left (CHG-1): 409 ``seats_full``, nothing written.
"""
from __future__ import annotations

from flask import g, jsonify

from ..accounts import invitations, seats
from ..apispec import EMAIL, closed, obj, ref
from ..apispec_provisioning import ACCOUNT_ID
from .api import ApiError, _api_seats_message, invitation_json, member_json
from .invitations import after_the_answer, link_for
from .provisioning import _via, account_or_404, operation

INVITATION_BODY = closed(
    ["email"],
    email=EMAIL,
    role={"type": "string", "enum": ["admin", "member"], "description": "default admin"},
    addon_license={"type": "boolean", "description": "the invitation holds an add-on "
                                                     "license (seat plans); default false"})


@operation("POST", "/provisioning/accounts/<int:account_id>/invitations",
           "Invite a person into an account, by default as its admin (ACC-6, ONB-1): a "
           "mailed, signed link valid 7 days; a pending invitation reserves a seat. 202 "
           "with `result` `invited` (or `unchanged` when one is already pending for the "
           "address: not mailed again) and the `invitation`; the answer is the same "
           "whether or not the address has a login elsewhere. 200 `member` when the "
           "address is already a member of the account. 409 `seats_full` when every "
           "subscribed user (or add-on license) is taken or invited: upgrade first (CHG-1).",
           obj(["result", "member"], result={"type": "string", "enum": ["member"]},
               member=ref("Member")),
           scopes=("invitations:write",), path={"account_id": ACCOUNT_ID},
           body=INVITATION_BODY, refusals=(409, 422),
           accepted=obj(["result", "invitation"],
                        result={"type": "string", "enum": ["invited", "unchanged"]},
                        invitation=ref("Invitation")))
def invite(account_id):
    """Invite ``email`` into the account; the operator who made the token is the actor."""
    account = account_or_404(account_id)
    try:
        sent = invitations.invite(account, g.body["email"], link_for,
                                  role=g.body.get("role", "admin"),
                                  addon=bool(g.body.get("addon_license")),
                                  actor=g.operator_token.created_by_id, via=_via())
    except seats.SeatsFull as full:
        raise ApiError(409, "seats_full", _api_seats_message(full)) from None
    if sent.result == "member":
        return jsonify(result="member", member=member_json(sent.membership))
    response = jsonify(result=sent.result, invitation=invitation_json(sent.invitation))
    response.status_code = 202
    return after_the_answer(response, sent.events)
