"""The default document renderer: WeasyPrint turns the document's HTML into a PDF.

Each thread keeps what costs as much to build as a small receipt costs to lay out:
- one WeasyPrint ``FontConfiguration`` (fontconfig and Pango's font map);
- the parsed stylesheets of the documents. A document's stylesheet comes apart from its
  HTML (``documents/_style.css``, which a reseller may override; the hook's
  ``stylesheet``); its text is the key of the parsed ``CSS``, so it is parsed and its
  selectors compiled once per thread and brand colour instead of once per document.
  It is handed to WeasyPrint's public ``write_pdf(stylesheets=...)``, as a "user"
  stylesheet, which ranks, as a first ``<style>`` of the document would, above the
  browser defaults and below any ``<style>`` or ``style`` attribute in the HTML.

WeasyPrint's own fetcher follows any ``http(s)://`` and ``file://`` URL a template names
(a reseller's override, a value printed into a document), which would let a document
request internal addresses or embed local files (``<link rel="attachment">``). Documents
are rendered with ``PortalFetcher``: the portal's own static files (read from the package
directory, never over HTTP), the configured logo and ``data:`` URLs; everything else is
refused and WeasyPrint leaves that resource out.
"""
import functools
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cachetools import LRUCache

from ..hookspecs import hookimpl

_local = threading.local()
STATIC = (Path(__file__).resolve().parent.parent / "static").resolve()
_FETCHERS_KEPT = 8  # per thread: one per configured logo
_STYLESHEETS_KEPT = 16  # per thread: a few brand colours or template folders at most


def font_configuration():
    """This thread's WeasyPrint font configuration, built once."""
    if getattr(_local, "config", None) is None:
        from weasyprint.text.fonts import FontConfiguration

        _local.config = FontConfiguration()
    return _local.config


def allowed_path(url: str, logo: str = "") -> Path | None:
    """The local file a document may read for ``url``, or None to refuse it.

    Allowed: files under the package's ``static`` folder (``file:///static/x`` means the
    same folder, as a page's ``/static/x`` does) and the configured logo; symbolic links
    are resolved first, so one cannot lead outside.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path))
    if path.parts[:2] == ("/", "static"):
        path = STATIC.joinpath(*path.parts[2:])
    path = path.resolve()
    if logo and path == Path(logo).resolve():
        return path
    if path.is_relative_to(STATIC) and path.is_file():
        return path
    return None


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher  # WeasyPrint's public base for fetchers

    class PortalFetcher(URLFetcher):
        """WeasyPrint's fetcher limited to static files, the logo and ``data:``."""

        def __init__(self, logo=""):
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.logo = logo

        def fetch(self, url, headers=None):
            if url[:5].lower() == "data:":
                return super().fetch(url, headers)
            path = allowed_path(url, self.logo)
            if path is None:
                raise ValueError("documents may use only the portal's static files and "
                                 f"the configured logo, not {url[:200]}")
            return super().fetch(path.as_uri(), headers)

    return PortalFetcher


def fetcher(logo: str = ""):
    """This thread's ``PortalFetcher`` for the configured logo."""
    kept = getattr(_local, "fetchers", None)
    if kept is None:
        kept = _local.fetchers = {}
    if logo not in kept:
        if len(kept) >= _FETCHERS_KEPT:
            kept.clear()
        kept[logo] = _fetcher_class()(logo)
    return kept[logo]


def parsed_stylesheet(text: str, logo: str = ""):
    """The parsed stylesheet ``text``, parsed once per thread (and logo: what its
    ``url()`` may read)."""
    from weasyprint import CSS

    kept = getattr(_local, "stylesheets", None)
    if kept is None:
        kept = _local.stylesheets = LRUCache(maxsize=_STYLESHEETS_KEPT)  # one per thread
    css = kept.get((text, logo))
    if css is None:
        css = kept[(text, logo)] = CSS(string=text, font_config=font_configuration(),
                                       url_fetcher=fetcher(logo), base_url=str(STATIC))
    return css


@hookimpl(trylast=True)
def portal_render_document(kind, html, stylesheet, context, config):
    from weasyprint import HTML

    logo = (config or {}).get("LOGO_PATH") or ""
    return HTML(string=html, base_url=context.get("base_url"),
                url_fetcher=fetcher(logo)).write_pdf(
        stylesheets=[parsed_stylesheet(stylesheet, logo)] if stylesheet else [],
        font_config=font_configuration())
