"""portal: a self-hosted subscription portal."""
from __future__ import annotations

import os

from flask import Flask
from werkzeug.routing import IntegerConverter

__version__ = "0.1.0"
MAX_ID = 2**63 - 1  # the largest BIGINT primary key


class DatabaseIntConverter(IntegerConverter):
    """``<int:...>`` bounded to what a BIGINT primary key can hold."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def pinned_today():
    """The current app's ``TODAY`` setting (tests and demos pin the date with it), if any."""
    from flask import current_app, has_app_context

    return current_app.config.get("TODAY") if has_app_context() else None


def create_app(config=None) -> Flask:
    """Build the app: config, database, login, CSRF, i18n, plugins, blueprints."""
    app = Flask(__name__, instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None,
                instance_relative_config=True)

    from . import config as settings

    app.config.update(settings.from_environ())
    if config:
        app.config.update(config)
    settings.check_secret_key(app.config)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(app.config["SECURE_COOKIES"]),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=bool(app.config["SECURE_COOKIES"]),
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session
    )
    app.debug = bool(app.config["DEBUG"])
    app.url_map.converters["int"] = DatabaseIntConverter  # huge ids: 404, not a 500
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    from .apispec import MAX_BODY_BYTES
    from .body_limit import BodyLimit

    app.wsgi_app = BodyLimit(app.wsgi_app, lambda path: MAX_BODY_BYTES if path.startswith(
        "/api/") else app.config["MAX_CONTENT_LENGTH"])  # chunked bodies too: 413, not cut
    os.makedirs(app.instance_path, exist_ok=True)

    from . import branding, clock, db, fragments, i18n, plugins, security

    clock.set_source(pinned_today)  # one clock: the app's TODAY setting, else the real date

    branding.init_app(app)
    db.init_app(app)
    fragments.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    plugins.init_app(app)

    from .views import (admin, api, auth, billing_details, cards, changes, documents, errors,
                        language, operator, passwords, subscription, webhooks)

    for module in (auth, subscription, admin, operator, api, cards, webhooks, documents, changes,
                   language, passwords, billing_details):
        app.register_blueprint(module.bp)
    errors.init_app(app)

    from . import cli

    cli.init_app(app)
    plugins.plugin_manager(app).hook.portal_startup(app=app)
    return app
