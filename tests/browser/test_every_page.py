"""Every page of every role at 390 px and 1280 px (issue 17, item 5): no horizontal
scrolling, no axe-core violation of any impact, valid HTML (Nu Html Checker; htmx's
``hx-*`` attributes aside). One walk (tests/support/sweep.py) serves the three checks and
writes the screenshots the README points to (docs/screenshots/).
"""
from __future__ import annotations

import datetime as dt
import secrets
import threading

import pytest
from support.serving import make_server

from portal import create_app, demo
from portal.db import db, migrate

from support import sweep

DEMO_TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def walked(browser, login, tmp_path_factory):
    """The app in demo mode on the demo with its year of history, walked once for the
    whole module."""
    missing = [p for p in (sweep.AXE, sweep.VNU) if not p.exists()]
    if missing:
        pytest.fail(f"{missing} missing: run `npm ci` in tests/browser (scripts/test does).",
                    pytrace=False)
    folder = tmp_path_factory.mktemp("every-page")
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite3'}",
                      "TODAY": DEMO_TODAY, "SUPPORT_EMAIL": "success@portal.test",
                      "DEMO": True,  # the login page with its one-click demo logins
                      "SIGNUP": True})  # and the public pricing and sign-up pages
    with app.app_context():
        db.connect(reuse_if_open=True)
        migrate()
        demo.load(DEMO_TODAY, history=True)
        db.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    html_dir = folder / "html"
    html_dir.mkdir()
    try:
        yield sweep.walk(browser, f"http://127.0.0.1:{server.server_port}", app, html_dir,
                         login)
    finally:
        server.shutdown()
        server.server_close()
        if not db.is_closed():
            db.close()


def test_every_role_sees_its_pages(walked):
    roles = {v.role for v in walked.visits}
    assert roles == set(sweep.ROLES)
    assert not [v for v in walked.visits if v.status >= 500]
    admin_pages = {v.final.split("?")[0] for v in walked.visits if v.role == "admin"}
    # the wizard's three steps and the admin's own pages were reached
    for path in ("/admin/", "/admin/members", "/admin/invoices", "/admin/cards/",
                 "/admin/subscription/quotes", "/subscription/", "/subscription/active"):
        assert path in admin_pages, sorted(admin_pages)
    assert any(p.endswith("/survey") for p in admin_pages)
    assert any(p.endswith("/review") for p in admin_pages)
    assert any(p.endswith("/cancel") for p in admin_pages)  # the one-page cancellation


def test_no_page_scrolls_sideways(walked):
    wide = [(v.role, v.width, v.final, v.overflow) for v in walked.visits if v.overflow > 0]
    assert not wide, "\n".join(map(str, wide))


def test_axe_finds_no_violation(walked):
    found = [f"{v.role} {v.width}px {v.final}: {x['impact']} {x['id']} ({x['help']}) "
             f"{x['nodes']}" for v in walked.visits for x in v.violations]
    assert not found, f"{len(found)} violations:\n" + "\n".join(found)


def test_nu_html_checker_finds_no_error(walked):
    files = sorted({v.html_file for v in walked.visits if v.width == sweep.WIDTHS[0]})
    errors = sweep.nu_check(files)
    listed = [f"{name}: {e}" for name, es in sorted(errors.items()) for e in es]
    assert not listed, f"{len(listed)} errors:\n" + "\n".join(listed)
