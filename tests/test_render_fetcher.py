"""The PDF renderer reads only what a document may use (issue 13, item 14): the portal's
own static files, the configured logo and ``data:`` URLs. A template that names an
``http://`` address or a local file renders without them: no request leaves, no file is
embedded (WeasyPrint's ``<link rel="attachment">`` would put it inside the PDF)."""
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from pypdf import PdfReader

from portal.documents import render_pdf
from portal.plugins import render_weasyprint as renderer


class Recorder(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.server.seen.append(self.path)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    """A local HTTP server that records every request it receives."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT root:x:0:0\n")
    return secret


def test_documents_fetch_only_static_files_and_the_logo(make_app, tmp_path, web_server,
                                                        secret_file):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (12, 12), (200, 30, 30)).save(logo)
    outside = f"http://127.0.0.1:{web_server.server_address[1]}"
    templates = tmp_path / "templates" / "documents"
    templates.mkdir(parents=True)
    (templates / "receipt.html").write_text(f"""<!doctype html><html><head>
<link rel="stylesheet" href="{outside}/style.css">
<link rel="attachment" href="file:///etc/passwd">
<link rel="attachment" href="file://{secret_file}">
<link rel="attachment" href="static/portal.css"></head>
<body><p><img src="{{{{ brand.logo_url }}}}" alt="logo"> Receipt</p>
<img src="{outside}/x.png"><img src="file:///etc/passwd"><img src="file://{secret_file}">
<p style="background: url({outside}/bg.png)">text</p></body></html>""")
    app = make_app(TEMPLATE_DIR=str(tmp_path / "templates"), LOGO_PATH=str(logo))
    with app.test_request_context():
        pdf = render_pdf("receipt")
    assert web_server.seen == []  # no request left the renderer
    reader = PdfReader(io.BytesIO(pdf))
    attached = reader.attachments
    assert list(attached) == ["portal.css"]  # the static file, and only it
    assert b"TOP-SECRET" not in pdf and b"root:x:0:0" not in pdf
    assert not any(b"root:" in b"".join(v) for v in attached.values())
    assert len(reader.pages[0].images) == 1  # the logo still appears
    assert "Receipt" in reader.pages[0].extract_text()


@pytest.mark.parametrize("url, allowed", [
    ("file:///static/portal.css", True),
    (f"file://{renderer.STATIC}/htmx-2.0.11.min.js", True),
    (f"file://{renderer.STATIC}/../documents.py", False),
    (f"file://{renderer.STATIC}/nonesuch.css", False),
    ("file:///static/../../../../etc/passwd", False),
    ("file://otherhost/static/portal.css", False),
    ("file:///etc/passwd", False),
    ("http://127.0.0.1/static/portal.css", False),
    ("https://example.com/logo.png", False),
    ("ftp://example.com/x", False),
])
def test_allowed_paths(url, allowed):
    assert (renderer.allowed_path(url) is not None) is allowed


def test_a_link_out_of_static_is_refused(tmp_path, monkeypatch):
    static = tmp_path / "static"
    static.mkdir()
    (static / "leak").symlink_to("/etc/passwd")
    monkeypatch.setattr(renderer, "STATIC", static.resolve())
    assert renderer.allowed_path(f"file://{static}/leak") is None


def test_data_urls_are_kept():
    """data: carries its bytes inside the document: nothing is fetched (kept on purpose)."""
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, format="PNG")
    import base64

    src = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    pdf = renderer.portal_render_document(kind="receipt", html=f'<img src="{src}">', stylesheet="",
                                          context={}, config={})
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1
