"""The app served over HTTP from a thread in a test (werkzeug's development server), with
each answer's close callbacks run as soon as its body is written."""
from __future__ import annotations

from werkzeug import serving


def close_after_body(app):
    """``app`` with each answer closed right after its last chunk is written.

    The invitation, password-reset and sign-up mails are handed over after the answer
    (``response.call_on_close``, ACC-6: nothing about the address is looked up before the
    answer). gunicorn, which serves the portal, closes an answer once it is written;
    werkzeug's development server first drains the connection, which can wait until the
    browser closes it, so a test waiting for the mail failed by chance."""

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


def make_server(host: str, port: int, app, **kwargs):
    """``werkzeug.serving.make_server`` serving ``close_after_body(app)``."""
    return serving.make_server(host, port, close_after_body(app), **kwargs)
