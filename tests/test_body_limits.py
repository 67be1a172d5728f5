"""Request limits and the API's email check (issue #13 item 15): MAX_CONTENT_LENGTH for
pages and forms (PORTAL_MAX_CONTENT_LENGTH), 16 KB for the API, both also for streamed
(chunked) bodies, which were cut at the limit instead of refused; emails in the API checked
by email-validator. (The zip's and PDFs' Cache-Control are asserted in the documents' and
quotes' tests.)"""
import http.client
import io
import json
import threading

import pytest
from werkzeug.serving import make_server

from portal import config, demo
from portal.apispec import MAX_BODY_BYTES
from support.api import call, snapshot

CHUNKED = {"wsgi.input_terminated": True}  # what gunicorn and Werkzeug set for chunked bodies


def chunked(client, path, body: bytes, content_type, headers=None):
    """POST/PUT ``body`` with no Content-Length, as a server hands a chunked body over."""
    return client.open(path, method="PUT" if path.startswith("/api/") else "POST",
                       input_stream=io.BytesIO(body), content_type=content_type,
                       headers={"Transfer-Encoding": "chunked", **(headers or {})},
                       environ_overrides=CHUNKED)


def padded(value: dict, size: int) -> bytes:
    """``value`` as JSON of exactly ``size`` bytes (spaces before the closing brace)."""
    text = json.dumps(value)
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def test_max_content_length_has_a_default_and_a_setting():
    assert config.from_environ({})["MAX_CONTENT_LENGTH"] == 1_048_576
    assert config.from_environ({"PORTAL_MAX_CONTENT_LENGTH": "5000"})["MAX_CONTENT_LENGTH"] \
        == 5000


def test_a_form_over_the_limit_is_413_with_a_page(make_app):
    client = make_app(MAX_CONTENT_LENGTH=4096).test_client()
    big = {"email": "x@example.com", "password": "y" * 5000}
    response = client.post("/login", data=big)
    assert response.status_code == 413
    assert "too large for this page" in response.get_data(as_text=True)
    streamed = chunked(client, "/login", b"email=x%40example.com&password=" + b"y" * 5000,
                       "application/x-www-form-urlencoded")
    assert streamed.status_code == 413
    assert "too large for this page" in streamed.get_data(as_text=True)


def test_a_chunked_form_within_the_limit_arrives_whole(client, auth):
    token = auth.csrf_token()
    body = (f"email=admin%40northwind.example&password={demo.PASSWORD}&csrf_token={token}").encode()
    response = chunked(client, "/login", body, "application/x-www-form-urlencoded")
    assert response.status_code == 302  # logged in: every field arrived
    assert client.get("/subscription/").status_code == 200


def test_api_chunked_body_over_16_kb_is_413_json_and_writes_nothing(app, client, tokens):
    before = snapshot(app)
    auth = {"Authorization": f"Bearer {tokens['nw']}"}
    body = padded({"location": "york"}, MAX_BODY_BYTES + 1)
    response = chunked(client, "/api/v1/devices/NEW-1", body, "application/json", auth)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert snapshot(app) == before
    exact = chunked(client, "/api/v1/devices/NEW-1", padded({"location": "york"},
                                                            MAX_BODY_BYTES),
                    "application/json", auth)
    assert exact.status_code == 201  # exactly at the limit: read whole, accepted


@pytest.fixture
def served(app):
    """The app on a real HTTP server (Werkzeug's, threaded) on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()


def test_api_real_chunked_request_over_16_kb_is_413(app, served, tokens):
    def put(body: bytes):
        conn = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
        chunks = (body[i:i + 1000] for i in range(0, len(body), 1000))
        conn.request("PUT", "/api/v1/devices/NEW-2", body=chunks, encode_chunked=True,
                     headers={"Authorization": f"Bearer {tokens['nw']}",
                              "Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.status, json.loads(response.read())
        conn.close()
        return answer

    status, answer = put(padded({"location": "york"}, 20_000))
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    status, answer = put(padded({"location": "york"}, 3000))
    assert status == 201 and answer["device"]["serial"] == "NEW-2"


@pytest.mark.parametrize("email", ["0f5@0.-.t", "a@-b.example", "a..b@northwind.example",
                                   ".a@northwind.example", "a@northwind.1", "a@b-.example"])
def test_api_refuses_invalid_emails(app, client, tokens, email):
    before = snapshot(app)
    response = call(client, "PUT", f"/api/v1/members/{email}", tokens["nw"], json={})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_value" and "not a valid email address" in error["message"]
    assert snapshot(app) == before


@pytest.mark.parametrize("email", ["new@portal.test", "new@intranet.local",
                                   "new@" + "b" * 64 + ".example"])
def test_api_refuses_well_shaped_emails_that_cannot_receive_mail_with_422(app, client, tokens,
                                                                          email):
    before = snapshot(app)
    response = call(client, "PUT", f"/api/v1/members/{email}", tokens["nw"], json={})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_email" and "not a valid email address" in error["message"]
    assert snapshot(app) == before


def test_the_openapi_document_describes_the_email_check(client):
    document = client.get("/api/v1/openapi.json").get_json()
    put = document["paths"]["/api/v1/members/{email}"]["put"]
    assert "cannot receive mail" in put["responses"]["422"]["description"]
    [param] = put["parameters"]
    assert param["schema"]["format"] == "email"


def test_api_accepts_a_valid_email(client, tokens):
    response = call(client, "PUT", "/api/v1/members/new.person+x@north-wind.example",
                    tokens["cb"], json={"name": "New"})
    assert response.status_code == 202  # an invitation (ACC-6)
