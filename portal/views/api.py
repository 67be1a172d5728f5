"""The JSON API under /api/v1/, for the product that owns devices and members.

Token-authenticated (``Authorization: Bearer <token>``; an operator makes one per
account and integration), hence exempt from CSRF. Every answer is JSON; every failure
is ``{"error": {"code", "message"}}`` with its status. A token only ever sees its own
account: another account's object is 404, like one that does not exist. Schemas and
the OpenAPI document (GET /api/v1/openapi.json) come from portal/apispec.py.
"""
from __future__ import annotations

import json
from functools import wraps

import peewee as pw
from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import inventory
from ..accounts import invitations, memberships, operator_tokens, seats
from ..accounts import tokens
from ..accounts.tokens import authenticate
from ..accounts import billing_details
from ..apispec import (BILLING_DETAILS_BODY, EMAIL, ID, LIST_QUERY, MAX_BODY_BYTES, NAME,
                       OPERATIONS, Invalid, Operation, change_of, closed, obj, openapi, page_of,
                       parse_query, ref, validate)
from ..billing import gross, pricing, renewals
from ..models import (Device, Invitation, Invoice, InvoiceLine, Location, Membership, Plan,
                      PriceVersion,
                      Subscription, User)
from ..security import csrf
from ..statuses import Role
from .invitations import after_the_answer, link_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class ApiError(Exception):
    """A refusal answered as JSON."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None):
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify(error=body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
    return response


@bp.errorhandler(ApiError)
def _api_error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.field)


@bp.errorhandler(Invalid)
def _invalid(exc):
    return error_response(exc.status, exc.code, exc.message, exc.field)


@bp.errorhandler(inventory.InventoryError)
@bp.errorhandler(memberships.MembershipError)
def _refused(exc):
    return error_response(exc.status, exc.code, exc.message, exc.field)


HTTP_MESSAGES = {
    400: "The request could not be understood.",
    404: "No such resource.",
    405: "This method is not allowed here.",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes.",
    415: "Send the body as application/json.",
}


@bp.errorhandler(HTTPException)
def _http_error(exc):
    code = {413: "payload_too_large", 415: "unsupported_media_type"}.get(
        exc.code, (exc.name or "error").lower().replace(" ", "_"))
    response = error_response(exc.code, code, HTTP_MESSAGES.get(exc.code, exc.description))
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


@bp.before_request
def _limit_and_authenticate():
    """Cap the body size, then find the account from the bearer token."""
    request.max_content_length = MAX_BODY_BYTES
    if request.endpoint == "api.openapi_document":
        return
    header = request.headers.get("Authorization")
    if operator_tokens.is_operator_token(tokens.bearer(header)):
        raise ApiError(403, "wrong_token", "This is an operator token: it works on the "
                                           "provisioning API (/api/v1/provisioning/) only; "
                                           "this API takes the account's own token (ptk_…).")
    token = authenticate(header)
    if token is None:
        raise ApiError(401, "unauthorized",
                       "Send a valid API token: Authorization: Bearer <token>. Unknown and "
                       "revoked tokens are refused.")
    g.api_token, g.account = token, token.account


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a field appears twice")
    return dict(pairs)


def json_body(schema: dict | None) -> dict:
    """The request's JSON object, checked against ``schema`` (None: no body allowed)."""
    raw = request.get_data(cache=True)  # 413 beyond MAX_BODY_BYTES
    if not raw.strip():
        value = {}
    else:
        if not request.is_json:
            raise ApiError(415, "unsupported_media_type", HTTP_MESSAGES[415])
        try:
            value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                               object_pairs_hook=_no_duplicates)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "malformed_json", f"The body is not valid JSON: {exc}") from None
    validate(schema or closed(), value)
    return value


def operation(method: str, rule: str, summary: str, response: dict, **spec):
    """Register a view as an API operation: route, OpenAPI entry and input checks."""
    op = Operation(method, rule, summary, response, **spec)
    OPERATIONS.append(op)

    def decorate(view):
        @wraps(view)
        def checked(**path):
            for name, value in path.items():
                validate(op.path[name], value, name)
            g.query = parse_query(request.args, op.query)
            g.body = json_body(op.body)
            return view(**path)

        bp.add_url_rule(rule, view_func=checked, methods=[method])
        return checked

    return decorate


def stamp(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def day(value):
    return value.isoformat() if value else None


def money(value) -> str:
    return f"{value:.2f}"


def answer(change, name: str, show):
    """What a write answers: its result and the object as ``show`` gives it (201 if new)."""
    return (jsonify({"result": change.result, name: show(change.obj)}),
            201 if change.created else 200)


def paged(query):
    """One page of ``query`` (ordered) as ``limit`` and ``offset`` ask: the rows, and the
    offset of the next page (None on the last one)."""
    q = g.query
    found = list(query.offset(q["offset"]).limit(q["limit"] + 1))
    return found[:q["limit"]], q["offset"] + q["limit"] if len(found) > q["limit"] else None


def listed(model, shape=lambda query: query):
    """One page of the account's ``model`` rows by id, active ones only unless
    include_removed=true; ``shape`` joins or filters the query further."""
    query = model.select().where(model.account == g.account.id)
    if not g.query["include_removed"]:
        query = query.where(model.active == True)  # noqa: E712
    return paged(shape(query).order_by(model.id))


# --- reading: usage, subscriptions, invoices ---

@operation("GET", "/usage", "The account's live usage (USE-1, LOC-1, LOC-2)", ref("Usage"))
def usage():
    """Devices, locations, location subscriptions, seats and add-on licenses in use now."""
    u = pricing.account_usage(g.account.id)
    return jsonify(devices=u.devices, locations=u.locations,
                   location_subscriptions=u.location_subscriptions, seats=u.seats,
                   addon_licenses=u.addon_licenses)


@operation("GET", "/subscriptions", "The account's subscriptions with usage and estimates",
           obj(["subscriptions"], subscriptions={"type": "array", "items": ref("Subscription")}))
def subscriptions():
    """Every subscription: plan, quantity, list price, estimated next charge, usage bars."""
    u = pricing.account_usage(g.account.id)
    subs = list(Subscription.select(Subscription, Plan, PriceVersion).join(Plan)
                .switch(Subscription).join(PriceVersion)
                .where(Subscription.account == g.account.id).order_by(Subscription.id))
    charges = renewals.next_charges(subs, u)  # rule SUB-4: what the billing run will bill
    taxed = gross.of_next_charges(charges, g.account)  # TAX-3: as the run taxes it
    rows = []
    for s in subs:
        e, t = charges[s.id], taxed[s.id]
        rows.append({
            "id": s.id, "plan": {"code": s.plan.code, "name": s.plan.name, "kind": s.plan.kind},
            "interval": s.interval, "quantity": s.quantity, "addon_quantity": s.addon_quantity,
            "status": s.status, "list_price": money(s.price_version.unit_price(s.interval)),
            "currency": s.price_version.currency, "price_version": s.price_version.number,
            "next_payment_date": day(s.next_payment_date),
            "trial_ends_on": day(s.trial_ends_on),
            "estimate": {"quantity": e.quantity, "addon_quantity": e.addon_quantity,
                         "total": money(t.gross), "net": money(t.net), "tax": money(t.tax),
                         "gross": money(t.gross),
                         "currency": e.currency or s.price_version.currency,
                         "due_on": day(e.due_on),
                         "plan": e.subscription.plan.code,
                         "interval": e.subscription.interval, "ends_on": day(e.ends_on)},
            "usage": [{"unit": i.unit, "used": i.used, "subscribed": i.subscribed,
                       "state": i.state} for i in pricing.usage_items(s, u)]})
    return jsonify(subscriptions=rows)


@operation("GET", "/invoices", "The account's issued invoices, newest first",
           page_of("invoices", "Invoice"), query={k: LIST_QUERY[k] for k in ("limit", "offset")})
def invoices():
    """Issued invoices with their lines and totals."""
    page, next_offset = paged(Invoice.select().where(Invoice.account == g.account.id)
                              .order_by(Invoice.issued_on.desc(), Invoice.id.desc()))
    lines = {}
    for line in (InvoiceLine.select().where(InvoiceLine.invoice.in_([i.id for i in page]))
                 .order_by(InvoiceLine.position)) if page else ():
        lines.setdefault(line.invoice_id, []).append(
            {"description": line.description, "quantity": line.quantity,
             "unit_price": money(line.unit_price), "amount": money(line.amount)})
    return jsonify(invoices=[{
        "number": i.number, "status": i.status, "issued_on": day(i.issued_on),
        "due_on": day(i.due_on), "period_start": day(i.period_start),
        "period_end": day(i.period_end), "total": money(i.total), "currency": i.currency,
        "paid": i.paid_at is not None,
        "lines": lines.get(i.id, [])} for i in page], next_offset=next_offset)


# --- locations ---

def _counts(account_id, location_ids=None) -> dict[int, int]:
    """Counting devices (DEV-3) per location."""
    query = (pricing.counting_devices(account_id)
             .select(Device.location, pw.fn.COUNT(Device.id).alias("n"))
             .group_by(Device.location))
    if location_ids is not None:
        query = query.where(Device.location.in_(location_ids))
    return {row.location_id: row.n for row in query}


def location_json(loc: Location, devices: int) -> dict:
    return {"external_id": loc.external_id, "name": loc.name, "active": bool(loc.active),
            "devices": devices,
            "subscriptions": pricing.location_subscriptions_for(devices) if loc.active else 0,
            "created_at": stamp(loc.created_at), "removed_at": stamp(loc.removed_at)}


def one_location(loc: Location) -> dict:
    return location_json(loc, _counts(g.account.id, [loc.id]).get(loc.id, 0))


@operation("GET", "/locations", "The account's locations with their devices (LOC-1)",
           page_of("locations", "Location"), query=LIST_QUERY)
def list_locations():
    """Locations, active ones only unless include_removed=true."""
    page, next_offset = listed(Location)
    counts = _counts(g.account.id, [loc.id for loc in page]) if page else {}
    return jsonify(locations=[location_json(loc, counts.get(loc.id, 0)) for loc in page],
                   next_offset=next_offset)


@operation("GET", "/locations/<external_id>", "One location", ref("Location"),
           path={"external_id": ID})
def get_location(external_id):
    """One location by its external id."""
    return jsonify(one_location(inventory.location_of(g.account, external_id)))


@operation("PUT", "/locations/<external_id>", "Add a location, or rename or restore it",
           change_of("location"), path={"external_id": ID}, body=closed(name=NAME),
           created=True)
def put_location(external_id):
    """Idempotent: the same call again answers 200 and result "unchanged"."""
    return answer(inventory.put_location(g.account, external_id, g.body.get("name")),
                  "location", one_location)


@operation("DELETE", "/locations/<external_id>",
           "Remove a location and its devices (DEV-1: billed less from the next payment)",
           change_of("location"), path={"external_id": ID})
def delete_location(external_id):
    """Removing an already removed location answers result "unchanged"."""
    return answer(inventory.remove_location(g.account, external_id), "location", one_location)


# --- devices ---

def _device_rows(query):
    original = Device.alias("original")
    return (query.select(Device, Location.external_id.alias("location_ref"),
                         original.serial.alias("replaces_ref"))
            .join(Location, on=(Device.location == Location.id))
            .switch(Device)
            .join(original, pw.JOIN.LEFT_OUTER, on=(Device.rma_replacement_of == original.id))
            .objects())


def device_json(d) -> dict:
    return {"serial": d.serial, "location": d.location_ref, "active": bool(d.active),
            "rma_replacement_of": d.replaces_ref, "created_at": stamp(d.created_at),
            "removed_at": stamp(d.removed_at)}


def one_device(device: Device) -> dict:
    return device_json(_device_rows(Device.select().where(Device.id == device.id)).get())


@operation("GET", "/devices", "The account's devices", page_of("devices", "Device"),
           query={**LIST_QUERY, "location": ID})
def list_devices():
    """Devices, active ones only unless include_removed=true; optionally at one location."""
    at = g.query["location"]

    def shape(query):
        rows = _device_rows(query)
        return rows.where(Location.external_id == at) if at else rows

    page, next_offset = listed(Device, shape)
    return jsonify(devices=[device_json(d) for d in page], next_offset=next_offset)


@operation("GET", "/devices/<serial>", "One device", ref("Device"), path={"serial": ID})
def get_device(serial):
    """One device by its serial."""
    return jsonify(one_device(inventory.device_of(g.account, serial)))


@operation("PUT", "/devices/<serial>",
           "Add a device at a location (DEV-2 mail to the account's people, once), move it, "
           "or bring it back; with `replaces` it is an RMA replacement (DEV-3: no mail, not "
           "billed on top)",
           change_of("device"), path={"serial": ID},
           body=closed(["location"], location=ID, replaces=ID), created=True,
           refusals=(409, 422))
def put_device(serial):
    """Idempotent on the serial: the same call again answers 200, "unchanged", no mail."""
    body = g.body
    return answer(inventory.put_device(g.account, serial, body["location"], body.get("replaces")),
                  "device", one_device)


@operation("DELETE", "/devices/<serial>",
           "Remove a device (DEV-1: billed less from the next payment date on)",
           change_of("device"), path={"serial": ID})
def delete_device(serial):
    """Removing an already removed device answers result "unchanged"."""
    return answer(inventory.remove_device(g.account, serial), "device", one_device)


@operation("PUT", "/devices/<serial>/rma",
           "Mark the device as the RMA replacement of another (DEV-3); null clears the mark",
           change_of("device"), path={"serial": ID},
           body=closed(["replaces"], replaces={**ID, "nullable": True}), refusals=(409, 422))
def put_rma(serial):
    """Set or clear which device this one replaces."""
    return answer(inventory.mark_rma(g.account, serial, g.body["replaces"]), "device", one_device)


# --- members (rules ACC-4, ACC-5, ACC-7: memberships of the token's account) ---

def member_json(m: Membership) -> dict:
    return {"email": m.email, "name": m.name, "role": m.role, "active": bool(m.active)}


def _via() -> str:
    """Who acts through the API, for the audit entry: the token's name."""
    return f"API token {g.api_token.name}"


@operation("GET", "/members", "The account's people (ACC-4: active ones occupy a seat)",
           page_of("members", "Member"), query=LIST_QUERY)
def list_members():
    """People of the account, active ones only unless include_removed=true."""
    page, next_offset = listed(Membership, lambda q: q.select_extend(User).join(User))
    return jsonify(members=[member_json(m) for m in page], next_offset=next_offset)


@operation("GET", "/members/<email>", "One member", ref("Member"), path={"email": EMAIL})
def get_member(email):
    """One person of the account by email."""
    return jsonify(member_json(memberships.membership_of(g.account.id, email=email)))


def invitation_json(i: Invitation) -> dict:
    """An invitation as the API shows it: nothing about the address's login (ACC-6)."""
    return {"email": i.email, "role": i.role, "addon_license": bool(i.holds_addon_license),
            "status": "pending", "created_at": stamp(i.created_at),
            "expires_at": stamp(invitations.expires_at(i))}


@operation("PUT", "/members/<email>",
           "Invite a person into the account (ACC-6), or rename a member. An address that "
           "is not a member of the token's account gets an invitation by mail (a signed "
           "link, valid 7 days; a pending invitation reserves a seat): 202 with `result` "
           "`invited` (or `unchanged` when one is already pending) and the `invitation`; "
           "the answer is the same whether or not the address has a login elsewhere. The "
           "person becomes a member when they accept. For a member of the account: 200 "
           "`unchanged` or `updated` (the name, changed only while the person belongs to "
           "this account alone) with the `member`; `role` and `addon_license` apply to "
           "invitations only (use promote/demote). 409 `seats_full` when every subscribed "
           "user (or add-on license) is taken or invited: upgrade first (CHG-1).",
           change_of("member"), path={"email": EMAIL},
           body=closed(name=NAME, role={"type": "string", "enum": ["admin", "member"]},
                       addon_license={"type": "boolean"}),
           refusals=(409,),
           accepted=obj(["result", "invitation"],
                        result={"type": "string", "enum": ["invited", "unchanged"]},
                        invitation=ref("Invitation")))
def put_member(email):
    """Idempotent on the email address: an invitation already pending is not sent again."""
    try:
        sent = invitations.invite(g.account, email, link_for, role=g.body.get("role", "member"),
                                  addon=bool(g.body.get("addon_license")),
                                  name=g.body.get("name") or "", via=_via())
    except seats.SeatsFull as full:
        raise ApiError(409, "seats_full", _api_seats_message(full)) from None
    if sent.result == "member":
        return answer(memberships.add_membership(g.account, email, name=g.body.get("name"),
                                                 via=_via()), "member", member_json)
    response = jsonify(result=sent.result, invitation=invitation_json(sent.invitation))
    response.status_code = 202
    return after_the_answer(response, sent.events)


def _api_seats_message(full) -> str:
    if full.unit == "licenses":
        return (f"Every add-on license of the subscription is taken or invited: upgrade to "
                f"{full.needed} add-on licenses first (CHG-1), or invite without one.")
    return (f"Every user of the subscription is taken or invited: upgrade to {full.needed} "
            f"users first (CHG-1), or deactivate a member or revoke an invitation.")


@operation("POST", "/members/<email>/activate",
           "Activate a member (ACC-4: takes a seat; 409 seats_full, with the number of users "
           "to upgrade to, when the seat plan has none left, CHG-1)",
           change_of("member"), path={"email": EMAIL}, refusals=(409,))
def activate_member(email):
    """Activating an active member answers result "unchanged"."""
    return answer(memberships.set_active(g.account, email, True, via=_via()), "member",
                  member_json)


@operation("POST", "/members/<email>/deactivate",
           "Deactivate a member (ACC-4: frees the seat; the last active admin stays, ACC-7)",
           change_of("member"), path={"email": EMAIL}, refusals=(409,))
def deactivate_member(email):
    """Deactivating a deactivated member answers result "unchanged"."""
    return answer(memberships.set_active(g.account, email, False, via=_via()), "member",
                  member_json)


@operation("POST", "/members/<email>/promote", "Make a member an admin of the account (ACC-2)",
           change_of("member"), path={"email": EMAIL})
def promote_member(email):
    """Promoting an admin answers result "unchanged"."""
    return answer(memberships.set_role(g.account, email, Role.ADMIN, via=_via()), "member",
                  member_json)


@operation("POST", "/members/<email>/demote",
           "Make an admin a member (the last active admin stays, ACC-7: 409 last_admin)",
           change_of("member"), path={"email": EMAIL}, refusals=(409,))
def demote_member(email):
    """Demoting a member answers result "unchanged"."""
    return answer(memberships.set_role(g.account, email, Role.MEMBER, via=_via()), "member",
                  member_json)


@operation("DELETE", "/members/<email>",
           "Take a person out of the account (their login and other accounts stay; the last "
           "active admin stays, ACC-7: 409 last_admin)",
           change_of("member"), path={"email": EMAIL}, refusals=(409,))
def remove_member(email):
    """Answers result "removed" with the member as it was."""
    return answer(memberships.remove(g.account, email, via=_via()), "member", member_json)


# --- billing details (BIL-1) ---

def details_json(account) -> dict:
    return billing_details.details_of(account)


@operation("GET", "/billing-details", "The account's billing details (BIL-1)",
           ref("BillingDetails"))
def get_billing_details():
    """What documents issued from now on print as the buyer."""
    return jsonify(details_json(g.account))


@operation("PATCH", "/billing-details",
           "Change the account's billing details (BIL-1: the tax ID is checked first)",
           ref("BillingDetails"), body=BILLING_DETAILS_BODY)
def patch_billing_details():
    """Only the fields sent change; an invalid field answers 422 and nothing is saved.
    Documents already issued keep the details they were issued with."""
    try:
        account = billing_details.update(g.account, g.body,
                                         actor_id=g.api_token.created_by_id,
                                         via=f"API token {g.api_token.prefix}")
    except billing_details.DetailsRefused as refused:
        name, message = next(iter(refused.errors.items()))
        raise ApiError(422, "invalid_billing_details", message, name) from None
    return jsonify(details_json(account))


@bp.route("/openapi.json")
def openapi_document():
    """The OpenAPI 3.0 document of this API (no token needed)."""
    return jsonify(openapi("/api/v1", current_app.config.get("PRODUCT_NAME", "Portal")))
