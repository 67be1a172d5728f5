"""Every setting in one place: read from PORTAL_* environment variables, with defaults.

Each setting is declared once in ``SETTINGS`` with its default and a one-line
description; the README's configuration table is checked against this list by a test.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"


@dataclass(frozen=True)
class Setting:
    name: str  # key in app.config; the environment variable is PORTAL_<name>
    default: object
    doc: str
    kind: type = str

    @property
    def env(self) -> str:
        return f"PORTAL_{self.name}"

    def parse(self, raw: str):
        if self.kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if self.kind is int:
            return int(raw)
        if self.kind is tuple:
            return tuple(p.strip() for p in raw.split(",") if p.strip())
        return raw


SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", DEFAULT_SECRET_KEY,
            "Signs sessions and CSRF tokens. Must be set outside demo/debug mode."),
    Setting("DATABASE_URL", None,
            "peewee URL: sqlite:///path/to/file or postgresql://user@host:port/db. "
            "Default: a SQLite file portal.sqlite3 in the instance folder."),
    Setting("SQLITE_BUSY_TIMEOUT_MS", 5000,
            "SQLite only: how long a write waits for another writer before a 503.", int),
    Setting("DEMO", False, "Demo mode: the default secret key is allowed.", bool),
    Setting("DEBUG", False, "Flask debug mode (never in production).", bool),
    Setting("PRODUCT_NAME", "Portal", "Product name shown in pages, mails and PDFs."),
    Setting("SUPPORT_EMAIL", "support@example.com",
            "Customer success address shown in notices, PDFs and CHG-7 pages."),
    Setting("BRAND_COLOR", "", "Accent colour of pages and PDFs, #rrggbb; empty: the default blue."),
    Setting("TEMPLATE_DIR", "",
            "A folder of templates that win over the built-in ones (same relative paths)."),
    Setting("DEFAULT_LOCALE", "en", "Language when neither user nor browser picks one."),
    Setting("GATEWAY", "fake", "Name of the payment gateway plugin to use."),
    # --- payments: the ``braintree`` gateway (registered when chosen or configured) ---
    Setting("BRAINTREE_ENVIRONMENT", "sandbox",
            "sandbox, production, or the URL of a Braintree-compatible server "
            "(http://127.0.0.1:PORT: the test suite's fake Braintree server)."),
    Setting("BRAINTREE_MERCHANT_ID", "", "Braintree merchant id."),
    Setting("BRAINTREE_PUBLIC_KEY", "", "Braintree API public key."),
    Setting("BRAINTREE_PRIVATE_KEY", "", "Braintree API private key (a secret)."),
    Setting("BRAINTREE_TIMEOUT", "20", "Seconds to wait for Braintree's answer."),
    Setting("PLUGINS", (), "Comma list of outside plugins (entry-point names) to enable; "
            "'*' enables every installed one.", tuple),
    Setting("DISABLE_PLUGINS", (), "Comma list of plugins to disable, defaults included.",
            tuple),
    Setting("TRACE_HOOKS", False, "Log every plugin hook call (name, arguments, result).",
            bool),
    Setting("JOBS", "immediate",
            "Where background jobs run: 'immediate' (in-process), or a huey queue URL "
            "(sqlite:///..., postgresql://..., redis://...) served by huey_consumer "
            "portal.jobs.huey. Read at import time."),
    Setting("LOGIN_RATE_LIMIT", "10 per minute",
            "Failed logins allowed per client address (Flask-Limiter syntax)."),
    Setting("RATELIMIT_STORAGE_URI", "memory://",
            "Where login attempts are counted: memory:// (one process) or redis://... "
            "shared by every worker."),
    Setting("PROXY_FIX", 0,
            "Number of reverse proxies in front of the app whose X-Forwarded-* headers "
            "to trust (0: none).", int),
    Setting("SECURE_COOKIES", False,
            "Send session cookies only over HTTPS (set it behind TLS).", bool),
    # --- mail (the ``notify_email`` channel; off while SMTP_HOST is empty) ---
    Setting("SMTP_HOST", "", "SMTP server for notification mail; empty: no mail channel."),
    Setting("SMTP_PORT", 25, "SMTP server port.", int),
    Setting("SMTP_USERNAME", "", "SMTP login; empty: no authentication."),
    Setting("SMTP_PASSWORD", "", "SMTP password."),
    Setting("SMTP_FROM", "", "Sender address of notification mail; empty: SUPPORT_EMAIL."),
    Setting("SMTP_STARTTLS", False, "Upgrade the SMTP connection with STARTTLS.", bool),
    # --- billing and documents (issue 6) ---
    Setting("BILLING_ADDRESS", "",
            "The deployment's own postal address, printed on invoices, receipts and credit "
            "notes (use \\n or real newlines between lines)."),
    Setting("LOGO_PATH", "", "Path to a PNG or SVG logo printed on PDFs; empty: the name."),
    Setting("DUNNING_DAYS", ("3", "5", "7"),
            "Dunning: days between a failed charge and each retry; once the last retry "
            "fails the account is past due.", tuple),
    Setting("BILLING_RECONCILE_AFTER", 600,
            "Seconds after which a charge with an unknown outcome that the gateway still "
            "cannot find under its key is sent again (same key).", int),
    # --- request limits (issue 13) ---
    Setting("MAX_CONTENT_LENGTH", 1_048_576,
            "Largest request body in bytes outside the JSON API (which allows 16 KB); a "
            "larger one is refused with 413.", int),
)


def from_environ(environ=None) -> dict:
    """Return ``{name: value}`` for every setting, from ``environ`` or the defaults.

    Any other ``PORTAL_<NAME>`` variable is passed through as the string
    ``config["<NAME>"]``: that is how a plugin reads its own settings.
    """
    environ = os.environ if environ is None else environ
    values = {key[len("PORTAL_"):]: raw for key, raw in environ.items()
              if key.startswith("PORTAL_") and len(key) > len("PORTAL_")}
    for s in SETTINGS:
        raw = environ.get(s.env)
        values[s.name] = s.default if raw in (None, "") else s.parse(raw)
    return values


def check_secret_key(config) -> None:
    """Refuse to start with the default secret key unless in demo, debug or testing mode."""
    relaxed = config.get("DEMO") or config.get("DEBUG") or config.get("TESTING")
    if config.get("SECRET_KEY") == DEFAULT_SECRET_KEY and not relaxed:
        raise RuntimeError(
            "Refusing to start with the default secret key: set PORTAL_SECRET_KEY to a long "
            "random value (python -c 'import secrets; print(secrets.token_hex(32))'), "
            "or set PORTAL_DEMO=1 for a demo."
        )
