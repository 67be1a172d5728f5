"""Branding without forking: name, logo, colours, addresses and template overrides.

- PORTAL_TEMPLATE_DIR: a folder whose templates win over the built-in ones (same paths,
  e.g. ``base.html`` or ``documents/invoice.html``).
- PORTAL_LOGO_PATH: a PNG or SVG shown in the page header and on the PDFs.
- PORTAL_BRAND_COLOR: the accent colour (``#rrggbb``) of pages and PDFs, served as a tiny
  stylesheet so the Content-Security-Policy needs no inline style.
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


@bp.route("/brand.css")
def stylesheet():
    """The deployment's colours as CSS custom properties."""
    css = f":root {{ --accent: {accent_colour(current_app.config)}; }}\n"
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
