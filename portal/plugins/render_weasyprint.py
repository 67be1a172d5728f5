"""The default document renderer: WeasyPrint turns the document's HTML into a PDF.

Each thread keeps one WeasyPrint ``FontConfiguration``: building it (fontconfig and
Pango's font map) costs as much as laying out a small receipt, and it is not shared
between threads.
"""
import threading

from ..hookspecs import hookimpl

_fonts = threading.local()


def font_configuration():
    """This thread's WeasyPrint font configuration, built once."""
    if getattr(_fonts, "config", None) is None:
        from weasyprint.text.fonts import FontConfiguration

        _fonts.config = FontConfiguration()
    return _fonts.config


@hookimpl(trylast=True)
def portal_render_document(kind, html, context, config):
    from weasyprint import HTML

    return HTML(string=html, base_url=context.get("base_url")).write_pdf(
        font_config=font_configuration())
