"""A portal notification channel: each event is POSTed as JSON, signed with HMAC-SHA256.

Settings: PORTAL_WEBHOOK_URL (where to POST), PORTAL_WEBHOOK_SECRET (signing key),
PORTAL_WEBHOOK_ATTEMPTS (default 3). The receiver checks the ``X-Portal-Signature``
header: ``sha256=`` + hex HMAC-SHA256(secret, raw body).
"""
import hashlib
import hmac
import json
import time
import urllib.request
from dataclasses import asdict

from portal.hookspecs import hookimpl
from portal.notifications import Channel


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, url, secret, attempts=3, backoff=0.5):
        self.url, self.secret, self.attempts, self.backoff = url, secret, attempts, backoff

    def send(self, notification):
        body = json.dumps(asdict(notification), default=str, sort_keys=True).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "X-Portal-Event": notification.kind,
            "X-Portal-Signature": sign(self.secret, body)})
        for attempt in range(1, self.attempts + 1):
            try:
                with urllib.request.urlopen(request, timeout=10):
                    return  # any 2xx; urlopen raises on 4xx/5xx
            except OSError:  # URLError, HTTPError, timeouts
                if attempt == self.attempts:
                    raise
                time.sleep(self.backoff * attempt)


@hookimpl
def portal_startup(app):
    missing = [f"PORTAL_{k}" for k in ("WEBHOOK_URL", "WEBHOOK_SECRET") if not app.config.get(k)]
    if missing:
        raise RuntimeError(f"portal-webhook-channel is enabled: set {' and '.join(missing)}")


@hookimpl
def portal_register_notification_channels(register, config):
    register(WebhookChannel(config["WEBHOOK_URL"], config["WEBHOOK_SECRET"],
                            int(config.get("WEBHOOK_ATTEMPTS") or 3)))
