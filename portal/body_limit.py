"""Request body limits that also hold for streamed (chunked) bodies (issue #13 item 15).

A body with a Content-Length over the limit is refused by Werkzeug (413) as soon as the app
reads it. A chunked body has no Content-Length: Werkzeug then reads it only up to the limit
and silently stops there, so the app saw a truncated body (the API answered 400 "malformed
JSON", a form could lose its last fields). This WSGI middleware reads such a body up to one
byte past its limit before the app runs and hands the app an ordinary body with a
Content-Length: the body itself when it fits, else one byte too many, which Werkzeug then
refuses with 413 like any other oversized body, through the app's error pages (JSON under
/api/). A body is buffered in memory up to its limit, never more.
"""
from __future__ import annotations

import io
from collections.abc import Callable

CHUNK = 64 * 1024


def read_up_to(stream, size: int) -> bytes:
    """At most ``size`` bytes of ``stream`` (fewer when it ends first)."""
    parts, left = [], size
    while left > 0:
        part = stream.read(min(left, CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class BodyLimit:
    """Give streamed request bodies a Content-Length, within ``limit_for(path)`` + 1 bytes."""

    def __init__(self, wsgi_app, limit_for: Callable[[str], int | None]):
        self.wsgi_app, self.limit_for = wsgi_app, limit_for

    def __call__(self, environ, start_response):
        # As Werkzeug reads it: a chunked body's Content-Length (if any) does not count.
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        streamed = environ.get("wsgi.input_terminated") and (
            chunked or environ.get("CONTENT_LENGTH") in (None, ""))
        limit = self.limit_for(environ.get("PATH_INFO", "")) if streamed else None
        if limit is not None:
            body = read_up_to(environ["wsgi.input"], limit + 1)
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # now an ordinary, measured body
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.wsgi_app(environ, start_response)
