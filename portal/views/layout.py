"""The page header, rendered once per worker for each kind of reader (issue #20).

Every page's header (brand, menu, language menu, log-out form) is the same for everyone
who sees it with the same language, role, page (``request.endpoint``: which link is the
current one), URL prefix and settings; only three things in it belong to one request: the
CSRF token, the page's own path (where the language menu comes back to) and the email
shown. The header is rendered with a marker in their place (``slot``), kept per worker
(portal/fragments.py) under everything else it shows, and each request puts its own
three values in (escaped, as the template would). A person in several accounts (the
switcher lists their accounts) and an operator (the operator menu) are rendered every
time, as is every header while templates reload (debug).
"""
from __future__ import annotations

from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from .. import fragments

SLOTS = ("csrf", "path", "email")
EXTENSION = "portal.layout"  # its own cache: a few kinds of reader times the pages


def slot(name: str) -> Markup:
    """Where the header shows this request's ``name`` (one of ``SLOTS``)."""
    return Markup(f"<!--portal-slot:{name}-->")


def slot_values(user) -> dict[str, str]:
    return {"csrf": generate_csrf(),
            "path": request.full_path if request.method == "GET" else "",
            "email": user.email if user.is_authenticated else ""}


def header_key(user, brand_logo) -> tuple | None:
    """Everything the header shows but its slots; None when it is rendered each time."""
    if current_app.jinja_env.auto_reload or current_app.config.get("TEMPLATE_DIR"):
        return None  # templates that change, or overrides that may not use the slots
    config = current_app.config
    who = None
    if user.is_authenticated:
        if user.is_operator or (user.account_count or 0) > 1:
            return None
        who = (bool(user.account_id), bool(user.is_account_admin), user.language or "")
    return ("layout-header", str(get_locale()), request.script_root, request.endpoint,
            request.method == "GET", who, config.get("PRODUCT_NAME"), bool(config.get("SIGNUP")),
            bool(brand_logo))


def header(brand_logo, caller) -> Markup:
    """``{% call layout_header(brand_logo) %}...{% endcall %}``: the header with this
    request's slots filled in."""
    user = current_user
    key, values = header_key(user, brand_logo), slot_values(user)
    if key is None:
        text = str(caller())
    else:
        def render() -> str:
            text = str(caller())
            if any(values[name] and str(escape(values[name])) in text
                   for name in ("csrf", "email")):
                raise Personal(text)  # shown outside a slot: never kept for another
            return text

        try:
            text = current_app.extensions[EXTENSION].get_or_render(key, render)
        except Personal as shown:
            text = shown.text
    for name, value in values.items():
        text = text.replace(str(slot(name)), str(escape(value)))
    return Markup(text)


class Personal(Exception):
    """A header rendered with this request's token or email in it (not in a slot)."""

    def __init__(self, text: str):
        super().__init__("personal header")
        self.text = text


def init_app(state) -> None:
    """Register ``layout_header`` and ``layout_slot`` for every template."""
    state.app.extensions[EXTENSION] = fragments.FragmentCache(size=512)
    state.app.jinja_env.globals.update(layout_header=header, layout_slot=slot)
