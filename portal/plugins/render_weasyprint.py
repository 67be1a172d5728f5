"""The default document renderer: WeasyPrint turns the document's HTML into a PDF.

Each thread keeps what costs as much to build as a small receipt costs to lay out:
- one WeasyPrint ``FontConfiguration`` (fontconfig and Pango's font map);
- the parsed stylesheets of the documents. Our document templates put their stylesheet
  in one ``<style>`` element (``documents/_style.html``, which a reseller may override);
  its text is the key of the parsed ``CSS``, so the stylesheet is parsed and its
  selectors compiled once per thread and brand colour instead of once per document.
  It is applied as WeasyPrint's "user" stylesheet, which ranks, as the first ``<style>``
  of a document did, above the browser defaults and below any later ``<style>`` or
  ``style`` attribute. The HTML handed to other renderers is unchanged.
"""
import re
import threading

from ..hookspecs import hookimpl

_local = threading.local()
STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_STYLESHEETS_KEPT = 16  # per thread: a few brand colours or template folders at most


def font_configuration():
    """This thread's WeasyPrint font configuration, built once."""
    if getattr(_local, "config", None) is None:
        from weasyprint.text.fonts import FontConfiguration

        _local.config = FontConfiguration()
    return _local.config


def stylesheet(text: str):
    """The parsed stylesheet ``text``, parsed once per thread."""
    from weasyprint import CSS

    kept = getattr(_local, "stylesheets", None)
    if kept is None:
        kept = _local.stylesheets = {}
    css = kept.get(text)
    if css is None:
        if len(kept) >= _STYLESHEETS_KEPT:
            kept.clear()
        css = kept[text] = CSS(string=text, font_config=font_configuration())
    return css


def split_stylesheet(html: str) -> tuple[str, list]:
    """The HTML without its first ``<style>`` element, and that stylesheet parsed."""
    found = STYLE.search(html)
    if found is None:
        return html, []
    return html[:found.start()] + html[found.end():], [stylesheet(found.group(1))]


@hookimpl(trylast=True)
def portal_render_document(kind, html, context, config):
    from weasyprint import HTML

    body, stylesheets = split_stylesheet(html)
    return HTML(string=body, base_url=context.get("base_url")).write_pdf(
        stylesheets=stylesheets, font_config=font_configuration())
