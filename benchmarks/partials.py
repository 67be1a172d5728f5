"""Throughput of the htmx partials against the bare Flask endpoint (issues #9 and #20).

The companion of subscription_page.py, with the same seed (an account of 10,000 devices
over 2,500 locations and one of 10 devices), servers (the portal and bare_app.py under
wrkload.GUNICORN) and method (wrk in turns, every answer checked for status 200 and a marker
of the expected partial; the ratio is the median of the rounds' ratios). It loads, at
10,000 devices unless said otherwise:

- the tab partial: ``GET /subscription/active`` with ``HX-Request`` and ``HX-Target: tabs``
  (the Active subscriptions tab alone), and the usage partial: ``GET /subscription/`` (the
  usage tab's URL: ``/subscription/usage`` redirects there) with ``HX-Request``; their
  payload is compared with the full page of the same tab;
- the wizard's live price preview (``GET /admin/subscription/<id>/change?...`` with
  ``HX-Target: preview``), PRICED: the seat plan from 1 user to 2 (an upgrade; the marker
  ``data-change="upgrade"`` is absent from a refused preview), at 10 and at 10,000 devices,
  and the location plan to the device plan (priced on the account's usage: what grows with
  the account), at 10 and at 10,000 devices.

Prints the detailed table and ``row:`` lines: partials >= 0.8x the bare endpoint with a
payload <= 1/5 of the full page; the preview >= 0.7x and flat (its 10,000-device ratio over
its 10-device ratio).

    .venv/bin/python benchmarks/partials.py [--seconds 2] [--rounds 6]
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import wrkload  # noqa: E402
from subscription_page import (BIG, SMALL, Gunicorn, Target, add_options,  # noqa: E402
                               compare, describe, errors_of, ratio_text, seed, server_env,
                               session_cookie)

PARTIAL_TARGET, PAYLOAD_TARGET = 0.8, 1 / 5
PREVIEW_TARGET, FLAT_TARGET = 0.7, 0.8  # flat: the 10,000-device ratio >= 0.8 x the 10's


def subscription_ids(url: str) -> dict[str, dict[str, int]]:
    """{admin's email: {plan code: subscription id}} of the two benchmark accounts."""
    from portal.db import open_database
    from portal.models import Membership, Subscription, User

    database = open_database(url)
    found: dict[str, dict[str, int]] = {}
    with database.connection_context():
        for spec in (SMALL, BIG):
            account = (Membership.select(Membership.account).join(User)
                       .where(User.email == spec["email"]).scalar())
            found[spec["email"]] = {sub.plan.code: sub.id for sub in
                                    Subscription.select().where(Subscription.account == account)}
    database.close()
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="portal-partials-")
    url = f"sqlite:///{tmp.name}/partials.sqlite3"
    needed = seed(url)
    subs = subscription_ids(url)
    env = server_env(url, tmp.name)
    with contextlib.ExitStack() as stack:
        bare = stack.enter_context(Gunicorn("bare_app:app", env))
        portal = stack.enter_context(Gunicorn("wsgi:app", env))
        cookie = {spec["email"]: {"Cookie": session_cookie(portal.port, spec["email"])}
                  for spec in (SMALL, BIG)}
        big = cookie[BIG["email"]]
        hx = {**big, "HX-Request": "true"}
        used = f'data-used="{needed[BIG["email"]]}"'
        targets = [
            Target("bare Flask endpoint (session, 1 query)", f"{bare.url}/bare",
                   "<p>Bench Big Chain</p>", big),
            Target("tab partial (htmx, active tab)", f"{portal.url}/subscription/active",
                   'id="active-tab"', {**hx, "HX-Target": "tabs"}),
            # the usage tab's own URL is /subscription/ (/subscription/usage redirects there)
            Target("usage partial (htmx, usage tab)", f"{portal.url}/subscription/",
                   used, {**hx, "HX-Target": "tabs"}),
        ]
        for spec in (SMALL, BIG):
            n, mine = spec["devices"], subs[spec["email"]]
            preview = {**cookie[spec["email"]], "HX-Request": "true", "HX-Target": "preview"}
            change = f"{portal.url}/admin/subscription/{{}}/change?"
            targets.append(Target(
                f"preview, seat plan 1 -> 2 users, {n:,} devices",
                change.format(mine["team"]) + "plan=team&interval=monthly&quantity=2"
                "&addon_quantity=0", 'data-change="upgrade"', preview))
            # the location plan to the device plan: priced on the account's devices (an
            # upgrade at 10 devices, a downgrade at 10,000: either is priced, never refused)
            targets.append(Target(
                f"preview, location -> device plan, {n:,} devices",
                change.format(mine["locations"]) + "plan=devices&interval=monthly",
                'data-change="upgrade"' if n == SMALL["devices"] else
                'data-change="downgrade"', preview))
        # payload: each partial and the full page of the same tab, at both sizes (sizes only:
        # subscription_page.py loads the full page)
        payload = {}
        for spec in (SMALL, BIG):
            mark = f'data-used="{needed[spec["email"]]}"'
            for tab, path, marker in (("active", "/subscription/active", 'id="active-tab"'),
                                      ("usage", "/subscription/", mark)):
                headers = cookie[spec["email"]]
                payload[spec["devices"], tab] = (
                    wrkload.check(f"{portal.url}{path}", marker,
                                  {**headers, "HX-Request": "true", "HX-Target": "tabs"}),
                    wrkload.check(f"{portal.url}{path}", marker, headers))
        sizes = {t.label: t.check() for t in targets}
        series = compare(targets, args.seconds, args.rounds, args.connections)
    tmp.cleanup()

    print(f"\n{describe(args)}\n")
    print(wrkload.table(series, base=targets[0].label))
    print("\npayload (bytes): " + "; ".join(f"{label} {size:,}" for label, size in
                                          sizes.items()) + "\n")
    base = series[targets[0].label]
    for label, tab, name in ((targets[1].label, "active", "htmx tab partial (active tab)"),
                             (targets[2].label, "usage", "htmx usage partial")):
        value, text = ratio_text(series[label], base)
        wrkload.row(f"{name}, 10,000 devices / bare Flask endpoint", text,
                    f">= {PARTIAL_TARGET}x", value >= PARTIAL_TARGET)
        for n in (SMALL["devices"], BIG["devices"]):
            part, page = payload[n, tab]
            wrkload.row(f"{name} payload / full page, {n:,} devices",
                        f"{part / page:.2f} ({part:,} of {page:,} bytes)", "<= 1/5",
                        part / page <= PAYLOAD_TARGET)
    for kind in ("seat plan 1 -> 2 users", "location -> device plan"):
        values = {}
        for n in (SMALL["devices"], BIG["devices"]):
            values[n], text = ratio_text(series[f"preview, {kind}, {n:,} devices"], base)
            wrkload.row(f"wizard live preview (priced, {kind}), {n:,} devices / bare Flask "
                        "endpoint", text, f">= {PREVIEW_TARGET}x", values[n] >= PREVIEW_TARGET)
        flat = values[BIG["devices"]] / values[SMALL["devices"]] if values[SMALL["devices"]] \
            else 0.0
        wrkload.row(f"wizard live preview (priced, {kind}) flat: 10,000 / 10 devices",
                    f"{flat:.2f}", f">= {FLAT_TARGET}", flat >= FLAT_TARGET)
    return errors_of(series)


if __name__ == "__main__":
    sys.exit(main())
