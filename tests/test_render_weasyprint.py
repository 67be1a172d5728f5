"""The WeasyPrint renderer parses each document stylesheet once per thread and brand
colour, and still applies it: the PDF looks as the HTML says (rule DOC-3: amounts read
back from the PDF elsewhere, tests/test_billing_documents.py). The stylesheet comes
apart from the HTML (the hook's ``stylesheet``): nothing is cut out of a document."""
import io
import re

from pypdf import PdfReader

from portal.plugins import render_weasyprint as renderer

PAGE = """<!doctype html><html><head>{style}</head>
<body><p class="lines">first line
second line</p></body></html>"""
PRE_LINE = ".lines { white-space: pre-line; }"


def text_of(pdf: bytes) -> list[str]:
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def render(html, stylesheet=""):
    return renderer.portal_render_document(kind="receipt", html=html, stylesheet=stylesheet,
                                           context={}, config={})


def test_the_stylesheet_is_parsed_once_and_still_applied():
    sheet = renderer.parsed_stylesheet(PRE_LINE)
    assert renderer.parsed_stylesheet(PRE_LINE) is sheet
    assert renderer.parsed_stylesheet(PRE_LINE.replace("pre-line", "normal")) is not sheet
    # pre-line keeps the newline; without the stylesheet both lines would run together
    assert text_of(render(PAGE.format(style=""), PRE_LINE)) == ["first line", "second line"]
    assert text_of(render(PAGE.format(style=""))) == ["first line second line"]


def test_a_style_element_of_the_document_still_wins_over_the_stylesheet():
    later = "<style>.lines { white-space: normal; }</style>"
    assert text_of(render(PAGE.format(style=later), PRE_LINE)) == ["first line second line"]


def test_the_kept_stylesheets_are_bounded():
    for n in range(renderer._STYLESHEETS_KEPT * 2):
        renderer.parsed_stylesheet(f"p {{ margin: {n}pt; }}")
    assert len(renderer._local.stylesheets) <= renderer._STYLESHEETS_KEPT
    assert re.match(r"p \{ margin: \d+pt; \}", next(iter(renderer._local.stylesheets))[0])


def test_documents_come_without_style_elements_and_with_their_stylesheet(make_app, tmp_path):
    from pathlib import Path

    from portal.documents import render_pdf
    from portal.hookspecs import hookimpl
    from portal.plugins import plugin_manager

    shipped = Path(renderer.__file__).resolve().parent.parent / "templates" / "documents"
    assert not [p.name for p in shipped.glob("*.html") if "<style" in p.read_text()]
    templates = tmp_path / "templates" / "documents"
    templates.mkdir(parents=True)
    (templates / "receipt.html").write_text(PAGE.format(style=""))
    seen = []

    class Spy:
        @hookimpl(tryfirst=True)
        def portal_render_document(self, html, stylesheet):
            seen.append((html, stylesheet))

    app = make_app(TEMPLATE_DIR=str(tmp_path / "templates"))
    plugin_manager(app).register(Spy())
    with app.test_request_context():
        pdf = render_pdf("receipt")
    [(html, stylesheet)] = seen
    assert "<style" not in html and "@page" in stylesheet and ".lines" in stylesheet
    assert text_of(pdf) == ["first line", "second line"]  # _style.css's pre-line applied
