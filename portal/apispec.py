"""The JSON API's contract: its schemas, the validation of what clients send, and the
OpenAPI document built from the same declarations, so the document cannot drift from
what the views accept (a test also compares it with the URL map).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from . import text
from email_validator import EmailNotValidError, validate_email

API_VERSION = "1.0.0"
MAX_BODY_BYTES = 16 * 1024  # the largest request body the API reads (413 beyond)

ID = {"type": "string", "minLength": 1, "maxLength": 100,
      "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]*$",
      "description": "Letters, digits and . _ : - (first a letter or digit), at most 100."}
# The pattern tells clients the shape (dot-atoms, domain labels without leading, trailing or
# doubled hyphens, a top-level domain ending in a letter); email-validator is the check.
EMAIL = {"type": "string", "minLength": 3, "maxLength": 254, "format": "email",
         "pattern": "^[A-Za-z0-9_+-]+(\\.[A-Za-z0-9_+-]+)*"
                    "@([A-Za-z0-9]+(-[A-Za-z0-9]+)*\\.)+([A-Za-z0-9]+-)*[A-Za-z0-9]*[A-Za-z]$"}
# Names refuse control, bidi and zero-width characters (portal/text.py, "x-text": "name").
NAME = {"type": "string", "minLength": 1, "maxLength": 200, "x-text": "name",
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f"
                   "\\u200b-\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufeff]+$"}
STAMP = {"type": "string", "format": "date-time"}
MAYBE_STAMP = {**STAMP, "nullable": True}
MONEY = {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$", "description": "USD, two decimals"}
CHANGE = {"type": "string", "enum": ["created", "reactivated", "moved", "updated", "removed",
                                     "activated", "deactivated", "promoted", "demoted",
                                     "unchanged"]}


def obj(required=(), **properties) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


COMPONENTS = {
    "Error": obj(["error"], error=obj(["code", "message"], code={"type": "string"},
                                      message={"type": "string"}, field={"type": "string"})),
    "Location": obj(["external_id", "name", "active", "devices", "subscriptions", "created_at",
                     "removed_at"],
                    external_id=ID, name={"type": "string"}, active={"type": "boolean"},
                    devices={"type": "integer", "description": "counting devices (DEV-3)"},
                    subscriptions={"type": "integer",
                                   "description": "LOC-1: max(1, ceil(devices / 4)); 0 once "
                                                  "the location is removed"},
                    created_at=STAMP, removed_at=MAYBE_STAMP),
    "Device": obj(["serial", "location", "active", "rma_replacement_of", "created_at",
                   "removed_at"],
                  serial=ID, location=ID, active={"type": "boolean"},
                  rma_replacement_of={**ID, "nullable": True}, created_at=STAMP,
                  removed_at=MAYBE_STAMP),
    "Invitation": obj(["email", "role", "addon_license", "status", "created_at",
                       "expires_at"],
                      email={"type": "string"},
                      role={"type": "string", "enum": ["admin", "member"]},
                      addon_license={"type": "boolean"},
                      status={"type": "string", "enum": ["pending"]},
                      created_at=STAMP, expires_at=STAMP),
    "Member": obj(["email", "name", "role", "active"], email={"type": "string"},
                  name={"type": "string"}, role={"type": "string", "enum": ["admin", "member"]},
                  active={"type": "boolean"}),
    "Usage": obj(["devices", "locations", "location_subscriptions", "seats", "addon_licenses"],
                 devices={"type": "integer"}, locations={"type": "integer"},
                 location_subscriptions={"type": "integer"}, seats={"type": "integer"},
                 addon_licenses={"type": "integer"}),
    "Subscription": obj(
        ["id", "plan", "interval", "quantity", "addon_quantity", "status", "list_price",
         "currency", "price_version", "next_payment_date", "trial_ends_on", "estimate",
         "usage"],
        id={"type": "integer"},
        plan=obj(["code", "name", "kind"], code={"type": "string"}, name={"type": "string"},
                 kind={"type": "string"}),
        interval={"type": "string"}, quantity={"type": "integer"},
        addon_quantity={"type": "integer"}, status={"type": "string"}, list_price=MONEY,
        currency={"type": "string", "description": "ISO 4217 code of every amount here "
                                                   "(CAT-1: the account's)"},
        price_version={"type": "integer", "description": "CAT-2: the version of the plan's "
                                                         "prices this subscription pays"},
        next_payment_date={"type": "string", "format": "date"},
        trial_ends_on={"type": "string", "format": "date", "nullable": True,
                       "description": "TRI-1: the last day of its trial (status "
                                      "\"trialing\" until then): it converts that day with "
                                      "a usable payment method (the estimate's charge, "
                                      "due_on), else it ends with nothing charged"},
        estimate=obj(["quantity", "addon_quantity", "total", "net", "tax", "gross",
                      "currency", "due_on", "plan", "interval", "ends_on"],
                     quantity={"type": "integer"}, addon_quantity={"type": "integer"},
                     total={**MONEY, "description": "SUB-4: the total of the invoice due_on "
                                                    "will issue, tax included (= gross)"},
                     net={**MONEY, "description": "TAX-3: before tax"},
                     tax={**MONEY, "description": "TAX-3: the tax the invoice will carry, "
                                                  "every rate together (0.00 with no tax "
                                                  "plugin, TAX-1, or a reverse charge)"},
                     gross={**MONEY, "description": "net + tax"},
                     currency={"type": "string", "description": "ISO 4217 code of the "
                                                               "estimate's amounts"},
                     due_on={"type": "string", "format": "date"},
                     plan={"type": "string",
                           "description": "SUB-4: the plan code billed on due_on, scheduled "
                                          "changes included"},
                     interval={"type": "string", "description": "the interval billed on "
                                                                "due_on"},
                     ends_on={"type": "string", "format": "date", "nullable": True,
                              "description": "last day of a subscription cancelled before "
                                             "due_on: nothing is billed then (total 0.00)"}),
        usage={"type": "array", "items": obj(["unit", "used", "subscribed", "state"],
                                             unit={"type": "string"}, used={"type": "integer"},
                                             subscribed={"type": "integer"},
                                             state={"type": "string",
                                                    "enum": ["ok", "full", "over"]})}),
    "Invoice": obj(["number", "status", "issued_on", "due_on", "period_start", "period_end",
                    "total", "currency", "paid", "lines"],
                   number={"type": "string"}, status={"type": "string"},
                   currency={"type": "string", "description": "ISO 4217 code of its amounts"},
                   issued_on={"type": "string", "format": "date"},
                   due_on={"type": "string", "format": "date"},
                   period_start={"type": "string", "format": "date", "nullable": True},
                   period_end={"type": "string", "format": "date", "nullable": True},
                   total=MONEY, paid={"type": "boolean"},
                   lines={"type": "array", "items": obj(
                       ["description", "quantity", "unit_price", "amount"],
                       description={"type": "string"}, quantity={"type": "integer"},
                       unit_price=MONEY, amount=MONEY)}),
    "BillingDetails": obj(
        ["legal_name", "address_line1", "address_line2", "postal_code", "city", "country",
         "tax_id", "invoice_emails", "po_reference"],
        legal_name={"type": "string", "maxLength": 200},
        address_line1={"type": "string", "maxLength": 200},
        address_line2={"type": "string", "maxLength": 200},
        postal_code={"type": "string", "maxLength": 20},
        city={"type": "string", "maxLength": 100},
        country={"type": "string", "maxLength": 2,
                 "description": "ISO 3166 alpha-2 code (FR, DE, US), or empty"},
        tax_id={"type": "string", "maxLength": 32,
                "description": "BIL-1: checked by checksum (python-stdnum) before it is "
                               "saved: an EU VAT number with its country prefix, or the "
                               "country's tax number"},
        invoice_emails={"type": "string", "maxLength": 1000,
                        "description": "up to 5 e-mail addresses separated by commas; "
                                       "invoices and receipts are mailed there too"},
        po_reference={"type": "string", "maxLength": 100,
                      "description": "purchase-order reference printed on invoices"}),
}
# What a client may send to change billing details: any of the fields, none required.
# One line of text: no control characters nor line breaks (portal/text.py, "line").
LINE_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
BILLING_DETAILS_BODY = {"type": "object", "additionalProperties": False,
                        "properties": {k: {**v, "pattern": LINE_PATTERN} for k, v in
                                       COMPONENTS["BillingDetails"]["properties"].items()}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def closed(required=(), **properties) -> dict:
    """A request body: an object with exactly these fields (unknown fields refused)."""
    return {**obj(required, **properties), "additionalProperties": False}


def change_of(name: str) -> dict:
    return obj(["result", name], result=CHANGE, **{name: ref(name.capitalize())})


def page_of(name: str, item: str) -> dict:
    return obj([name, "next_offset"], **{name: {"type": "array", "items": ref(item)}},
               next_offset={"type": "integer", "nullable": True})


LIST_QUERY = {"limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200},
              "offset": {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
              "include_removed": {"type": "boolean", "default": False}}


@dataclass
class Operation:
    """One documented route: how it is called and what it answers."""

    method: str
    rule: str  # Flask rule under the blueprint, e.g. "/devices/<serial>"
    summary: str
    response: dict
    path: dict = field(default_factory=dict)  # path parameter -> schema
    query: dict = field(default_factory=dict)
    body: dict | None = None
    created: bool = False  # answers 201 when it created something
    refusals: tuple[int, ...] = ()  # 409 / 422 where the operation may refuse
    accepted: dict | None = None  # answers 202 with this when it only started something
    # the provisioning API (portal/views/provisioning.py): an operator token with these
    # scopes; its POSTs take an Idempotency-Key header
    scopes: tuple[str, ...] = ()
    security: str = "token"  # or "operator_token"


# the provisioning API's scopes, for the document (portal/accounts/operator_tokens.py
# checks them; tests compare the two)
SCOPE_WORDS = {"accounts:read": "list accounts and read one",
               "accounts:write": "open accounts (with subscriptions in the same call: also "
                                 "`subscriptions:write`)",
               "subscriptions:write": "start subscriptions",
               "catalogue:read": "read the plans and prices",
               "invitations:write": "invite people (an account's first admin) into an "
                                    "account (ACC-6)"}
OPERATIONS: list[Operation] = []  # the per-account API (portal/views/api.py)
PROVISIONING_OPERATIONS: list[Operation] = []  # the provisioning API
IDEMPOTENCY_KEY = {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": "^[\\x21-\\x7e]+$",
                   "description": "Printable ASCII without spaces, at most 255 characters; a "
                                  "UUID is a good choice."}


class Invalid(Exception):
    """Input that does not match its schema: a code, a sentence, the field at fault."""

    def __init__(self, code: str, message: str, field_name: str | None = None,
                 status: int = 400):
        super().__init__(message)
        self.code, self.message, self.field, self.status = code, message, field_name, status


TYPE_WORDS = {"object": "a JSON object", "string": "a string", "boolean": "true or false",
              "integer": "an integer", "array": "a JSON array"}
_TYPES = {"object": dict, "string": str, "boolean": bool, "integer": int, "array": list}


def _pattern(pattern: str):
    # JSON Schema's "$" means the very end; Python's also accepts a final newline.
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


def validate(schema: dict, value, where: str = "body") -> None:
    """Raise ``Invalid`` unless ``value`` matches ``schema`` (the subset used here)."""
    kind = schema.get("type")
    if value is None:
        if schema.get("nullable"):
            return
        raise Invalid("invalid_type", f"{where} must be {TYPE_WORDS[kind]}, not null.", where)
    if not isinstance(value, _TYPES[kind]) or (kind == "integer" and isinstance(value, bool)):
        raise Invalid("invalid_type", f"{where} must be {TYPE_WORDS[kind]}.", where)
    if kind == "object":
        props = schema.get("properties", {})
        unknown = sorted(k for k in value if k not in props)
        if unknown and schema.get("additionalProperties") is False:
            allowed = ", ".join(props) or "none"
            raise Invalid("unknown_field",
                          f"Unknown field {unknown[0]!r} (allowed: {allowed}).", unknown[0])
        for name in schema.get("required", ()):
            if name not in value:
                raise Invalid("missing_field", f"The field {name!r} is required.", name)
        for name, sub in props.items():
            if name in value:
                validate(sub, value[name], name if where == "body" else f"{where}.{name}")
    elif kind == "array":
        if len(value) > schema.get("maxItems", 10**9):
            raise Invalid("invalid_value",
                          f"{where} has more than {schema['maxItems']} items.", where)
        for i, item in enumerate(value):
            validate(schema["items"], item, f"{where}[{i}]")
    elif kind == "string":
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("invalid_value", f"{where} is not valid text.", where) from None
        char = text.forbidden(value, schema.get("x-text", "line"))
        if char:
            raise Invalid("forbidden_character",
                          f"{where} contains the character {text.describe(char)}, which is "
                          "not allowed (control characters; in names also bidi and "
                          "zero-width characters).", where)
        if len(value) < schema.get("minLength", 0):
            raise Invalid("invalid_value", f"{where} must not be empty.", where)
        if len(value) > schema.get("maxLength", 10**9):
            raise Invalid("invalid_value",
                          f"{where} is longer than {schema['maxLength']} characters.", where)
        if schema.get("format") == "email":
            _check_email(schema, value, where)
        if schema.get("format") == "date":
            _check_date(value, where)
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            raise Invalid("invalid_value", f"{where} has characters that are not allowed"
                          + (f" ({schema['description']})" if "description" in schema else "")
                          + ".", where)
        if "enum" in schema and value not in schema["enum"]:
            raise Invalid("invalid_value", f"{where} must be one of {schema['enum']}.", where)
    elif kind == "integer" and (value < schema.get("minimum", value)
                                or value > schema.get("maximum", value)):
        raise Invalid("invalid_value", f"{where} must be between {schema.get('minimum')} "
                      f"and {schema.get('maximum')}.", where)


def _check_date(value: str, where: str) -> None:
    """A calendar day written YYYY-MM-DD (RFC 3339 full-date)."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid("invalid_value", f"{where} must be a date written YYYY-MM-DD.",
                      where) from None


def _check_email(schema: dict, value: str, where: str) -> None:
    """A real validator (email-validator): the old pattern alone let "0f5@0.-.t" through.
    Not the documented shape: 400 ``invalid_value``. The shape but still no usable address
    (a reserved domain such as .test or .local, a label over 63 characters): 422
    ``invalid_email``."""
    try:
        validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        shaped = _pattern(schema["pattern"]).search(value)
        raise Invalid("invalid_email" if shaped else "invalid_value",
                      f"{where} is not a valid email address: {exc}", where,
                      status=422 if shaped else 400) from None


def parse_query(args, spec: dict) -> dict:
    """Query parameters as typed values (defaults filled in), or ``Invalid``; unknown
    parameters are refused like unknown fields (a typo must not be silently ignored)."""
    unknown = sorted(name for name in args if name not in spec)
    if unknown:
        allowed = ", ".join(spec) or "none"
        raise Invalid("unknown_parameter",
                      f"Unknown query parameter {unknown[0]!r} (allowed: {allowed}).", unknown[0])
    if any(len(args.getlist(name)) > 1 for name in args):
        raise Invalid("invalid_value", "Each query parameter may be given once.")
    values = {}
    for name, schema in spec.items():
        raw = args.get(name)
        if raw is None:
            values[name] = schema.get("default")
            continue
        if schema["type"] == "integer":
            if not re.fullmatch(r"[0-9]{1,9}", raw):
                raise Invalid("invalid_type", f"{name} must be an integer.", name)
            value = int(raw)
        elif schema["type"] == "boolean":
            if raw not in ("true", "false"):
                raise Invalid("invalid_type", f"{name} must be true or false.", name)
            value = raw == "true"
        else:
            value = raw
        validate(schema, value, name)
        values[name] = value
    return values


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": ref("Error")}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


REFUSALS = {409: "Refused: conflicts with the account's current state",
            422: "Refused: a reference in the body is unknown or not allowed"}
PROVISIONING_REFUSALS = {
    409: "`idempotency_key_in_use`: another request with this Idempotency-Key is still "
         "being answered; try again",
    422: "Refused: a field is invalid (`error.field` names it, `error.fields` lists every "
         "one), or `idempotency_key_reused`: this key came with another request"}
EMAIL_REFUSAL = ("Refused: the email address has the documented shape but cannot receive "
                 "mail (a reserved domain such as .test or .local, a label over 63 characters)")


def openapi(prefix: str, product_name: str = "Portal") -> dict:
    """The OpenAPI 3.0 document of every registered operation."""
    paths: dict = {}
    for op in OPERATIONS + PROVISIONING_OPERATIONS:
        responses = {("201" if op.created else "200"): _json(op.response, "Done")}
        if op.created and op.security == "operator_token":
            responses = {"201": _json(op.response, "Created; a replay of the same request "
                                                   "with the same Idempotency-Key answers the "
                                                   "same, with `Idempotent-Replayed: true`")}
        elif op.created:
            responses["200"] = _json(op.response, "Already there: nothing was changed, or "
                                                  "what changed is in `result`")
        if op.accepted is not None:
            responses["202"] = _json(op.accepted, "Accepted: an invitation is pending (sent "
                                                  "now, or already pending: `result`)")
        responses["400"] = _error("Malformed JSON, unknown field, wrong type or value")
        responses["401"] = _error("Missing, unknown or revoked token")
        responses["404"] = _error("No such object in the token's account")
        refusals = REFUSALS
        if op.security == "operator_token":
            responses["403"] = _error("`insufficient_scope`: the token lacks a scope this "
                                      "operation needs; `wrong_token`: an account's token")
            responses["404"] = _error("No such object")
            refusals = PROVISIONING_REFUSALS
        else:
            responses["403"] = _error("`wrong_token`: an operator token (the provisioning "
                                      "API's) is not an account's token")
        for status in op.refusals:
            responses[str(status)] = _error(refusals[status])
        if any(s.get("format") == "email" for s in op.path.values()):
            described = responses.get("422", {}).get("description")
            responses["422"] = _error(f"{described}; or: {EMAIL_REFUSAL}" if described
                                      else EMAIL_REFUSAL)
        if op.body is not None:
            responses["413"] = _error(f"Body larger than {MAX_BODY_BYTES} bytes")
            responses["415"] = _error("Body is not application/json")
        responses["default"] = _error("Any other error, in the same shape")
        params = [{"name": n, "in": "path", "required": True, "schema": s}
                  for n, s in op.path.items()]
        params += [{"name": n, "in": "query", "required": False, "schema": s}
                   for n, s in op.query.items()]
        entry = {"summary": op.summary, "operationId": f"{op.method.lower()}_{op.rule}",
                 "responses": responses, "security": [{op.security: []}]}
        if op.security == "operator_token":
            entry["x-scopes"] = list(op.scopes)
            entry["description"] = ("Operator token with the scope(s): "
                                    + ", ".join(f"`{s}`" for s in op.scopes) + ".")
            entry["tags"] = ["provisioning"]
            if op.method == "POST":
                params.append({"name": "Idempotency-Key", "in": "header", "required": True,
                               "schema": IDEMPOTENCY_KEY,
                               "description": "Makes a retry safe: the first answer is kept "
                                              "24 hours and replayed to the same request."})
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": bool(op.body.get("required")),
                                    "content": {"application/json": {"schema": op.body}}}
        paths.setdefault(prefix + _openapi_path(op.rule), {})[op.method.lower()] = entry
    for spec in paths.values():
        for entry in spec.values():
            entry["operationId"] = re.sub(r"[^A-Za-z0-9_]+", "_", entry["operationId"]).strip("_")
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{product_name} API", "version": API_VERSION,
                 "description": "Report an account's devices, locations and members; read its "
                                "subscriptions, usage and invoices. Send `Authorization: Bearer "
                                "<token>` (an operator creates the token). Errors are "
                                "`{\"error\": {\"code\", \"message\"}}`."},
        "paths": paths,
        "components": {"schemas": COMPONENTS,
                       "securitySchemes": {
                           "token": {"type": "http", "scheme": "bearer",
                                     "description": "An account's token (`ptk_…`): the "
                                                    "account API only."},
                           "operator_token": {
                               "type": "http", "scheme": "bearer",
                               "description": "An operator token (`pop_…`) for the "
                                              "provisioning API (/api/v1/provisioning/), with "
                                              "scopes: " + "; ".join(
                                                  f"`{k}`: {v}" for k, v in SCOPE_WORDS.items())
                                              + ". A call without the scope it needs is 403 "
                                                "`insufficient_scope`."}}},
    }
