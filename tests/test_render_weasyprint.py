"""The WeasyPrint renderer parses each document stylesheet once per thread and brand
colour, and still applies it: the PDF looks as the HTML says (rule DOC-3: amounts read
back from the PDF elsewhere, tests/test_billing_documents.py)."""
import io
import re

from pypdf import PdfReader

from portal.plugins import render_weasyprint as renderer

PAGE = """<!doctype html><html><head>{style}</head>
<body><p class="lines">first line
second line</p></body></html>"""
PRE_LINE = "<style>.lines { white-space: pre-line; }</style>"


def text_of(pdf: bytes) -> list[str]:
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def render(html):
    return renderer.portal_render_document(kind="receipt", html=html, context={}, config={})


def test_the_stylesheet_is_parsed_once_and_still_applied():
    body, sheets = renderer.split_stylesheet(PAGE.format(style=PRE_LINE))
    assert "<style>" not in body and len(sheets) == 1
    assert renderer.split_stylesheet(PAGE.format(style=PRE_LINE))[1][0] is sheets[0]
    other = PRE_LINE.replace("pre-line", "normal")
    assert renderer.split_stylesheet(PAGE.format(style=other))[1][0] is not sheets[0]
    # pre-line keeps the newline; without the stylesheet both lines would run together
    assert text_of(render(PAGE.format(style=PRE_LINE))) == ["first line", "second line"]
    assert text_of(render(PAGE.format(style=""))) == ["first line second line"]


def test_a_later_style_element_still_wins_over_the_first():
    later = PRE_LINE + "<style>.lines { white-space: normal; }</style>"
    assert text_of(render(PAGE.format(style=later))) == ["first line second line"]


def test_the_kept_stylesheets_are_bounded():
    for n in range(renderer._STYLESHEETS_KEPT * 2):
        renderer.stylesheet(f"p {{ margin: {n}pt; }}")
    assert len(renderer._local.stylesheets) <= renderer._STYLESHEETS_KEPT
    assert re.match(r"p \{ margin: \d+pt; \}", next(iter(renderer._local.stylesheets))[0])
