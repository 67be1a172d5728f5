"""A real HTTP server on 127.0.0.1 that keeps what it is sent: the far end of a webhook or
any other outgoing HTTP channel, for the portal's tests and a plugin's own.

    with Receiver("/hook") as receiver:
        channel = WebhookChannel(receiver.url, "secret")
        receiver.fail = 2  # the next two requests get a 500
        ...
        (headers, body), *_ = receiver.requests
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Keeps each POST as (headers, body); answers 500 to the next ``fail`` ones, else 204."""

    def __init__(self, path: str = "/"):
        self.path, self.fail, self.requests = path, 0, []
        self.url, self._server = "", None

    def __enter__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = 500 if receiver.fail > 0 else 204
                receiver.fail -= 1
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"
        return self

    @property
    def bodies(self) -> list[bytes]:
        return [body for _headers, body in self.requests]

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
