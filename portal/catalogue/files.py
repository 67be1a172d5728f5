"""The catalogue as a file (``portal catalogue apply|export``, docs/catalogue.toml): read,
checked as a whole before anything is written, applied in one transaction, idempotent.

Format (TOML): an optional top-level ``notice_days`` (default 30), then one ``[[plans]]``
table per plan with ``code``, ``name``, ``counts`` (device | location | seat), ``rank``,
``trial_days``, ``available`` and one ``[plans.prices.<CURRENCY>]`` table per currency
with ``monthly``, ``annual``, ``addon_monthly``, ``addon_annual`` (strings: never floats).
A changed price makes a new version; how it reaches existing subscriptions (CAT-2) is
said beside it: ``existing_from = 2027-01-01``, ``notice_days = 60`` or
``grandfathered = true``; else the top-level notice.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field

from ..db import db
from ..models import Plan, PriceVersion
from ..statuses import PlanKind
from . import CatalogueError, Prices, add_price_version, amount, currency_code, price_changed, \
    save_plan

DEFAULT_NOTICE_DAYS = 30
PLAN_KEYS = {"code", "name", "counts", "rank", "trial_days", "available", "prices"}
PRICE_KEYS = {"monthly", "annual", "addon_monthly", "addon_annual", "existing_from",
              "notice_days", "grandfathered"}


@dataclass
class PriceSpec:
    prices: Prices
    existing_from: dt.date | None  # None: grandfathered (CAT-2)


@dataclass
class PlanSpec:
    code: str
    name: str
    counts: PlanKind
    rank: int
    trial_days: int
    available: bool
    prices: list[PriceSpec] = field(default_factory=list)


def _integer(value, where: str, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogueError(where, f"{value!r} must be a whole number, zero or more")
    return value


def _reach(block: dict, where: str, today: dt.date, notice_days: int) -> dt.date | None:
    """When a changed price reaches existing subscriptions (CAT-2); None: never."""
    given = [k for k in ("existing_from", "notice_days", "grandfathered") if k in block]
    if len(given) > 1:
        raise CatalogueError(where, f"say one of existing_from, notice_days, grandfathered "
                                    f"(got {', '.join(given)})")
    if block.get("grandfathered") is True:
        return None
    if "grandfathered" in block and block["grandfathered"] is not False:
        raise CatalogueError(f"{where}.grandfathered", "must be true or false")
    if "existing_from" in block:
        day = block["existing_from"]
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise CatalogueError(f"{where}.existing_from", "must be a date (2027-01-01)")
        return day
    return today + dt.timedelta(days=_integer(block.get("notice_days"), f"{where}.notice_days",
                                              notice_days))


def parse(text: str, *, today: dt.date) -> list[PlanSpec]:
    """The plans of a catalogue file, every value checked; CatalogueError names the first
    wrong one (``plans[2].prices.EUR.monthly: ...``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError("file", f"not valid TOML: {exc}") from None
    unknown = set(data) - {"notice_days", "plans"}
    if unknown:
        raise CatalogueError("file", f"unknown key(s): {', '.join(sorted(unknown))}")
    notice = _integer(data.get("notice_days"), "notice_days", DEFAULT_NOTICE_DAYS)
    specs, seen = [], set()
    for i, raw in enumerate(data.get("plans", [])):
        where = f"plans[{i}]"
        extra = set(raw) - PLAN_KEYS
        if extra:
            raise CatalogueError(where, f"unknown key(s): {', '.join(sorted(extra))}")
        code = str(raw.get("code", "")).strip()
        if not code or len(code) > 50 or code in seen:
            raise CatalogueError(f"{where}.code", "a unique code of 1 to 50 characters is needed")
        seen.add(code)
        where = f"plans[{i}] ({code})"
        name = str(raw.get("name", "")).strip()
        if not name or len(name) > 200:
            raise CatalogueError(f"{where}.name", "a name of 1 to 200 characters is needed")
        try:
            counts = PlanKind(raw.get("counts"))
        except ValueError:
            raise CatalogueError(f"{where}.counts", "must be device, location or seat") from None
        available = raw.get("available", True)
        if not isinstance(available, bool):
            raise CatalogueError(f"{where}.available", "must be true or false")
        spec = PlanSpec(code, name, counts, _integer(raw.get("rank"), f"{where}.rank"),
                        _integer(raw.get("trial_days"), f"{where}.trial_days"), available)
        prices = raw.get("prices") or {}
        if not prices:
            raise CatalogueError(f"{where}.prices", "at least one currency's prices are needed")
        for cur, block in prices.items():
            at = f"{where}.prices.{cur}"
            extra = set(block) - PRICE_KEYS
            if extra:
                raise CatalogueError(at, f"unknown key(s): {', '.join(sorted(extra))}")
            for key in ("monthly", "annual"):
                if key not in block:
                    raise CatalogueError(f"{at}.{key}", "is required")
            spec.prices.append(PriceSpec(
                Prices(currency_code(cur, at), *(amount(block.get(k, "0"), f"{at}.{k}") for k in
                                                 ("monthly", "annual", "addon_monthly",
                                                  "addon_annual"))),
                _reach(block, at, today, notice)))
        specs.append(spec)
    return specs


def apply(specs: list[PlanSpec], *, dry_run: bool = False, actor=None) -> list[str]:
    """Make the catalogue say what ``specs`` say, in one transaction (rolled back on a dry
    run): plans created or changed, a new price version for each changed price. Plans not
    in the file are left as they are (retire one with ``available = false``). Returns what
    was (or would be) done; empty when nothing changes (idempotent)."""
    done: list[str] = []
    with db.atomic() as txn:
        for spec in specs:
            plan, said = save_plan(spec.code, name=spec.name, kind=spec.counts, rank=spec.rank,
                                   trial_days=spec.trial_days, available=spec.available,
                                   actor=actor)
            done += said
            for price in spec.prices:
                if not price_changed(plan, price.prices):
                    continue
                version = add_price_version(plan, price.prices, existing_from=price.existing_from,
                                            actor=actor)
                reach = ("" if version.number == 1 else
                         "; existing subscriptions keep their price (grandfathered)"
                         if version.existing_from is None else
                         f"; existing subscriptions from their first renewal on or after "
                         f"{version.existing_from.isoformat()}")
                amounts = ", ".join(str(a) for a in price.prices.amounts())
                done.append(f"plan {plan.code}: {version.currency} price version "
                            f"{version.number} ({amounts})" + reach)
        if dry_run:
            txn.rollback()
    return done


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def export() -> str:
    """The catalogue as a file ``apply`` reads back unchanged: every plan, the newest
    version of its prices per currency."""
    out = ["# The plan catalogue: `portal catalogue apply` this file (docs/catalogue.toml).",
           f"notice_days = {DEFAULT_NOTICE_DAYS}", ""]
    versions: dict[int, dict[str, PriceVersion]] = {}
    for v in PriceVersion.select().order_by(PriceVersion.number):
        versions.setdefault(v.plan_id, {})[v.currency] = v
    for plan in Plan.select().order_by(Plan.rank, Plan.code):
        out += ["[[plans]]", f"code = {_q(plan.code)}", f"name = {_q(plan.name)}",
                f"counts = {_q(str(plan.kind))}", f"rank = {plan.rank}",
                f"trial_days = {plan.trial_days}",
                f"available = {'true' if plan.available else 'false'}", ""]
        for cur, v in sorted(versions.get(plan.id, {}).items()):
            out += [f"[plans.prices.{cur}]", f"monthly = {_q(str(v.monthly_price))}",
                    f"annual = {_q(str(v.annual_price))}",
                    f"addon_monthly = {_q(str(v.addon_monthly_price))}",
                    f"addon_annual = {_q(str(v.addon_annual_price))}", ""]
    return "\n".join(out)
