"""Branding without forking: name, logo, colours, addresses and template overrides.

- PORTAL_TEMPLATE_DIR: a folder whose templates win over the built-in ones (same paths,
  e.g. ``base.html`` or ``documents/invoice.html``).
- PORTAL_LOGO_PATH: a PNG or SVG shown in the page header and on the PDFs.
- PORTAL_BRAND_COLOR: the accent colour (``#rrggbb``) of pages and PDFs, served as a tiny
  stylesheet so the Content-Security-Policy needs no inline style; with it a darker shade
  for text in the accent and black or white for text on it, so any colour stays AA.
"""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
from flask import Blueprint, abort, current_app, send_file

bp = Blueprint("branding", __name__)

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_ACCENT = "#2457c5"
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg"}


def accent_colour(config) -> str:
    """The configured accent colour; a malformed one is refused at start-up."""
    return config.get("BRAND_COLOR") or DEFAULT_ACCENT


def check(config) -> None:
    """Refuse to start with a brand setting that cannot work, naming the variable."""
    colour = config.get("BRAND_COLOR") or ""
    if colour and not HEX_COLOUR.match(colour):
        raise RuntimeError(f"PORTAL_BRAND_COLOR={colour!r}: use a #rrggbb colour")
    logo = config.get("LOGO_PATH") or ""
    if logo and (not Path(logo).is_file() or Path(logo).suffix.lower() not in LOGO_TYPES):
        raise RuntimeError(f"PORTAL_LOGO_PATH={logo!r}: not a PNG, SVG or JPEG file")
    folder = config.get("TEMPLATE_DIR") or ""
    if folder and not Path(folder).is_dir():
        raise RuntimeError(f"PORTAL_TEMPLATE_DIR={folder!r}: no such folder")


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


PAGE_BACKGROUND = "#f6f7f9"  # portal.css --bg; white cards read at least as well
AA = 4.5


def on_accent(colour: str) -> str:
    """Black or white, whichever reads better on the accent (text of primary buttons)."""
    return "#ffffff" if contrast(colour, "#ffffff") >= contrast(colour, "#000000") else "#111111"


def readable_accent(colour: str) -> str:
    """The accent darkened step by step until text in it reads on the page (AA, 4.5:1)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    while contrast(f"#{r:02x}{g:02x}{b:02x}", PAGE_BACKGROUND) < AA:
        r, g, b = (int(c * 0.9) for c in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


@bp.route("/brand.css")
def stylesheet():
    """The deployment's colours as CSS custom properties, each kept readable (WCAG AA)."""
    accent = accent_colour(current_app.config)
    css = (f":root {{ --accent: {accent}; --accent-text: {readable_accent(accent)}; "
           f"--on-accent: {on_accent(accent)}; }}\n")
    response = current_app.response_class(css, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/brand/logo")
def logo():
    """The deployment's logo file, if one is configured."""
    path = current_app.config.get("LOGO_PATH") or ""
    if not path:
        abort(404)
    return send_file(Path(path).resolve(), mimetype=LOGO_TYPES[Path(path).suffix.lower()],
                     max_age=300)


def init_app(app) -> None:
    """Check the settings, put the override folder first, serve the brand assets."""
    check(app.config)
    folder = app.config.get("TEMPLATE_DIR") or ""
    if folder:
        app.jinja_loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder),
                                                app.jinja_loader])
    app.register_blueprint(bp)

    @app.context_processor
    def _brand():
        return {"brand_logo": bool(app.config.get("LOGO_PATH"))}
