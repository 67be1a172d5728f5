"""The provisioning API's schemas (issue #16 item 4), beside portal/apispec.py: what an
operator token sends to open accounts and start subscriptions, and what it reads back.
Importing this module adds its schemas to the one OpenAPI document.
"""
from __future__ import annotations

from .apispec import (BILLING_DETAILS_BODY, COMPONENTS, MONEY, NAME, STAMP, closed, obj,
                      ref)

ACCOUNT_ID = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}
DATE = {"type": "string", "format": "date", "maxLength": 10}
AMOUNT = {"type": "string", "pattern": "^[0-9]{1,9}\\.[0-9]{2}$",
          "description": "An amount in the account's currency, two decimals, as a string "
                         "(never a float)"}
PLAN_CODE = {"type": "string", "minLength": 1, "maxLength": 50,
             "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"}
PRICES = {"monthly": MONEY, "annual": MONEY, "addon_monthly": MONEY, "addon_annual": MONEY}

SUBSCRIPTION_BODY = closed(
    ["plan", "interval", "quantity"],
    plan={**PLAN_CODE, "description": "A plan code from the catalogue, still available "
                                      "(CAT-3) with a price in the account's currency (CAT-1)"},
    interval={"type": "string", "enum": ["monthly", "annual"]},
    quantity={"type": "integer", "minimum": 0, "maximum": 1_000_000},
    addons={"type": "integer", "minimum": 0, "maximum": 1_000_000,
            "description": "add-on licenses (seat plans); default 0"},
    start={**DATE, "description": "default: today"},
    first_payment={**DATE, "description": "default: the first of next month (monthly, "
                                          "CHG-5) or a year after the start (annual); at "
                                          "most one period after the start"},
    negotiated_prices=closed(["monthly", "annual"],
                             monthly=AMOUNT, annual=AMOUNT, addon_monthly=AMOUNT,
                             addon_annual=AMOUNT))
SUBSCRIPTION_BODY["properties"]["negotiated_prices"]["description"] = (
    "CHG-7: prices private to this account (a negotiated contract) instead of the "
    "catalogue's, in the account's currency")

EXTERNAL_REF = {**NAME, "maxLength": 100,
                "description": "The reference your system knows the account by (unique "
                               "among accounts; e.g. your tenant id)"}

ACCOUNT_BODY = closed(
    ["name"],
    name=NAME,
    external_ref=EXTERNAL_REF,
    language={"type": "string", "maxLength": 8, "pattern": "^[A-Za-z_-]*$",
              "description": "en or fr; default en"},
    currency={"type": "string", "maxLength": 3, "pattern": "^[A-Za-z]*$",
              "description": "ISO 4217 code with two decimals (USD, EUR); default USD"},
    negotiated={"type": "boolean", "description": "CHG-7: a negotiated contract; default "
                                                  "false"},
    billing_details={**BILLING_DETAILS_BODY, "description": "BIL-1, checked as in the "
                                                            "console"},
    subscriptions={"type": "array", "items": SUBSCRIPTION_BODY, "maxItems": 20,
                   "description": "Started with the account, in the same transaction: if "
                                  "one is refused, nothing is created. Needs the scope "
                                  "subscriptions:write too."})

SUBSCRIPTION = obj(
    ["id", "plan", "interval", "quantity", "addon_quantity", "status", "currency",
     "price_version", "negotiated", "started_on", "next_payment_date"],
    id={"type": "integer"}, plan={"type": "string"}, interval={"type": "string"},
    quantity={"type": "integer"}, addon_quantity={"type": "integer"},
    status={"type": "string"}, currency={"type": "string"},
    price_version={"type": "integer", "description": "CAT-2: the version it pays"},
    negotiated={"type": "boolean", "description": "CHG-7: pays a price private to the "
                                                  "account"},
    started_on={"type": "string", "format": "date"},
    next_payment_date={"type": "string", "format": "date"})

ACCOUNT_SUMMARY = obj(
    ["id", "name", "external_ref", "language", "currency", "negotiated", "status",
     "created_at"],
    id={"type": "integer"}, name={"type": "string"},
    external_ref={"type": "string", "nullable": True}, language={"type": "string"},
    currency={"type": "string"}, negotiated={"type": "boolean"},
    status={"type": "string"}, created_at=STAMP)

PROVISIONED_ACCOUNT = {**ACCOUNT_SUMMARY,
                       "required": ACCOUNT_SUMMARY["required"] + ["billing_details",
                                                                  "subscriptions"],
                       "properties": {**ACCOUNT_SUMMARY["properties"],
                                      "billing_details": ref("BillingDetails"),
                                      "subscriptions": {"type": "array",
                                                        "items": ref("ProvisionedSubscription")}}}

PRICE = obj(["currency", "version", "monthly", "annual", "addon_monthly", "addon_annual",
             "current", "existing_from"],
            currency={"type": "string"}, version={"type": "integer"},
            current={"type": "boolean", "description": "CAT-2: what new subscriptions pay"},
            existing_from={"type": "string", "format": "date", "nullable": True,
                           "description": "existing subscriptions move to it at their first "
                                          "renewal on or after this day; null: never "
                                          "(grandfathered), or the first version"},
            **PRICES)
PLAN = obj(["code", "name", "kind", "rank", "trial_days", "available", "prices"],
           code={"type": "string"}, name={"type": "string"},
           kind={"type": "string", "enum": ["device", "location", "seat"]},
           rank={"type": "integer"}, trial_days={"type": "integer"},
           available={"type": "boolean", "description": "false: retired (CAT-3), takes no "
                                                        "new subscriptions"},
           prices={"type": "array", "items": ref("Price")})

COMPONENTS.update({"ProvisionedAccount": PROVISIONED_ACCOUNT,
                   "AccountSummary": ACCOUNT_SUMMARY,
                   "ProvisionedSubscription": SUBSCRIPTION, "Plan": PLAN, "Price": PRICE})

ACCOUNTS_QUERY = {
    "page": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    "name": {"type": "string", "minLength": 1, "maxLength": 200,
             "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]+$",
             "description": "only accounts whose name contains this (any case)"},
    "external_ref": {**EXTERNAL_REF, "description": "only the account with this reference"},
}
ACCOUNTS_PAGE = obj(["accounts", "page", "next_page"],
                    accounts={"type": "array", "items": ref("AccountSummary")},
                    page={"type": "integer"},
                    next_page={"type": "integer", "nullable": True})
