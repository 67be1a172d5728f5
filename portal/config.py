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
            "Signs sessions and CSRF tokens. Outside demo mode: at least 32 random bytes."),
    Setting("DATABASE_URL", None,
            "peewee URL: sqlite:///path/to/file or postgresql://user@host:port/db. "
            "Default: a SQLite file portal.sqlite3 in the instance folder."),
    Setting("SQLITE_BUSY_TIMEOUT_MS", 5000,
            "SQLite only: how long a write waits for another writer before a 503.", int),
    Setting("DEMO", False, "Demo mode: the default secret key is allowed, and the demo's "
            "seller and taxes (DEMO_SETTINGS) where none are set (never in production).", bool),
    Setting("DEBUG", False, "Flask debug mode (never in production).", bool),
    Setting("PRODUCT_NAME", "Portal", "Product name shown in pages, mails and PDFs."),
    Setting("SUPPORT_EMAIL", "support@example.com",
            "Customer success address shown in notices, PDFs and CHG-7 pages."),
    Setting("BRAND_COLOR", "",
            "Accent colour of pages and PDFs, #rrggbb; empty: the default blue."),
    Setting("TEMPLATE_DIR", "",
            "A folder of templates that win over the built-in ones (same relative paths)."),
    Setting("DEFAULT_LOCALE", "en", "Language when neither user nor browser picks one."),
    Setting("GATEWAY", "fake", "Name of the payment gateway plugin to use."),
    Setting("MANUAL_MINIMUMS", "USD=1000.00,EUR=1000.00",
            "PAY-3: per currency, one billing period's amount from which an account may ask "
            "to pay by invoice (CODE=amount, comma-separated); a currency not listed: never."),
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
            "portal.worker.huey. Read at import time."),
    Setting("LOGIN_RATE_LIMIT", "10 per minute",
            "Failed logins allowed per client address and per login (limits syntax)."),
    Setting("RATELIMIT_STORAGE_URI", "",
            "Where failed logins are counted; empty: the portal's database, shared by every "
            "worker. Or redis://... (shared), memory:// (one process only)."),
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
    Setting("BILLING_BATCH", 100,
            "Subscriptions a billing run claims, invoices and charges per transaction; their "
            "mails are recorded and delivered together.", int),
    # --- the seller and taxes (issue 19: rules BIL-1, TAX-1..3) ---
    Setting("SELLER_LEGAL_NAME", "",
            "The seller's legal name printed on every document; empty: PRODUCT_NAME."),
    Setting("SELLER_ADDRESS", "",
            "The seller's street address lines (\\n between lines); empty: BILLING_ADDRESS."),
    Setting("SELLER_POSTAL_CODE", "", "The seller's postal code."),
    Setting("SELLER_CITY", "", "The seller's city."),
    Setting("SELLER_COUNTRY", "", "The seller's country, ISO 3166 code (FR, NL, ...): "
            "decides domestic VAT (TAX-2) and the French mentions of documents."),
    Setting("SELLER_TAX_ID", "", "The seller's VAT number (e.g. FR40303265045)."),
    Setting("SELLER_REGISTRATIONS", (), "Comma list of LABEL=number registrations printed "
            "on documents, e.g. SIREN=303265045,SIRET=30326504500020,RCS=Paris B 303265045.",
            tuple),
    Setting("LATE_PAYMENT_RATE", "",
            "Late-payment penalty rate printed on French documents (Code de commerce "
            "L441-10), e.g. '10 %'; empty: three times the legal interest rate."),
    Setting("TAXES", "none", "Tax plugin: none (no tax) or eu_vat (EU VAT, rule TAX-2); "
            "an outside tax plugin enabled in PLUGINS wins over both."),
    Setting("VIES_URL", "", "URL of the VIES VAT-number check (REST, POST); empty: VAT "
            "numbers are checked by checksum only. E.g. https://ec.europa.eu/taxation_"
            "customs/vies/rest-api/check-vat-number"),
    # --- request limits (issue 13) ---
    # --- self-serve sign-up (issue #16 item 6) ---
    Setting("SIGNUP", False, "Self-serve sign-up: the public pricing page (/pricing) and "
            "sign-up with a mailed verification link (off: those pages answer 404).", bool),
    Setting("MAX_CONTENT_LENGTH", 1_048_576,
            "Largest request body in bytes outside the JSON API (which allows 16 KB); a "
            "larger one is refused with 413.", int),
)


# What the demo sells as (issue 19): a French seller with EU VAT on, so Librairie Papillon
# pays French VAT. Demo mode (PORTAL_DEMO=1) takes these where the environment says nothing,
# so every command the README and ``portal demo`` print bills as the demo's server does
# (they used to live in the Makefile alone: the README's billing run billed without VAT).
DEMO_SETTINGS = {
    "TAXES": "eu_vat", "SELLER_LEGAL_NAME": "Portal Demo SAS",
    "SELLER_ADDRESS": "12 avenue de l'Opéra", "SELLER_POSTAL_CODE": "75001",
    "SELLER_CITY": "Paris", "SELLER_COUNTRY": "FR", "SELLER_TAX_ID": "FR40303265045",
    "SELLER_REGISTRATIONS": "SIREN=303265045,SIRET=30326504500020",
}


def from_environ(environ=None) -> dict:
    """Return ``{name: value}`` for every setting, from ``environ`` or the defaults (in
    demo mode, ``DEMO_SETTINGS`` before the defaults).

    Any other ``PORTAL_<NAME>`` variable is passed through as the string
    ``config["<NAME>"]``: that is how a plugin reads its own settings.
    """
    environ = os.environ if environ is None else environ
    values = {key[len("PORTAL_"):]: raw for key, raw in environ.items()
              if key.startswith("PORTAL_") and len(key) > len("PORTAL_")}
    demo = Setting("DEMO", False, "", bool).parse(environ.get("PORTAL_DEMO") or "")
    for s in SETTINGS:
        raw = environ.get(s.env)
        if raw in (None, "") and demo:
            raw = DEMO_SETTINGS.get(s.name)
        values[s.name] = s.default if raw in (None, "") else s.parse(raw)
    return values


MIN_SECRET_KEY_BYTES = 32
# Every secret key printed anywhere in this repository (the code's default, the env file
# example, docs): anyone can read them, so anyone could sign an operator's session cookie
# with them. tests/test_secret_key.py greps the repository to keep this list complete.
KNOWN_SECRET_KEYS = frozenset({
    DEFAULT_SECRET_KEY,
    "change-me-to-64-random-hex-characters",  # deploy/portal.env.example
})
PLACEHOLDER_MARKS = ("change-me", "changeme", "change_me")
MAKE_ONE = 'make one with: python -c "import secrets; print(secrets.token_hex(32))"'


class ConfigurationError(RuntimeError):
    """A setting the app refuses to start with; the message is one line for the operator."""


def secret_key_problem(key) -> str | None:
    """Why ``key`` cannot sign sessions in production, or None if it can."""
    if key in (None, "") or key == DEFAULT_SECRET_KEY:
        return "PORTAL_SECRET_KEY is not set"
    raw = key.encode() if isinstance(key, str) else bytes(key)
    text = raw.decode(errors="replace").strip()
    if text in KNOWN_SECRET_KEYS or any(m in text.lower() for m in PLACEHOLDER_MARKS):
        return ("PORTAL_SECRET_KEY is a value printed in portal's own files, so anyone could "
                "forge sessions with it")
    if len(raw) < MIN_SECRET_KEY_BYTES:
        return (f"PORTAL_SECRET_KEY is too short ({len(raw)} byte(s); at least "
                f"{MIN_SECRET_KEY_BYTES})")
    return None


def check_secret_key(config) -> None:
    """Refuse to start with a missing, short or published secret key; only demo mode
    (PORTAL_DEMO=1) lifts this, never debug or testing mode."""
    if config.get("DEMO"):
        return
    problem = secret_key_problem(config.get("SECRET_KEY"))
    if problem:
        raise ConfigurationError(f"Refusing to start: {problem}; {MAKE_ONE} "
                                 "(or set PORTAL_DEMO=1 for a demo).")
