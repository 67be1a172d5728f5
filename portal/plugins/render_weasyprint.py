"""The default document renderer: WeasyPrint turns the document's HTML into a PDF."""
from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def portal_render_document(kind, html, context, config):
    from weasyprint import HTML

    return HTML(string=html, base_url=context.get("base_url")).write_pdf()
