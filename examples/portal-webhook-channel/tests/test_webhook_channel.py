"""The webhook channel against a real HTTP server on 127.0.0.1."""
import hashlib
import hmac
import json

import pytest

from portal.notifications import Notification
from portal.testing.receiver import Receiver
from portal_webhook import WebhookChannel, sign


@pytest.fixture
def receiver():
    """A local HTTP server that fails the next ``receiver.fail`` requests with 500, then
    answers 204."""
    with Receiver("/hook") as server:
        yield server


EVENT = Notification(kind="device_added", account_id=7, recipients=("a@example.com",),
                     subject="New device", text="Device X at Leeds", data={"serial": "X"})


def test_posts_signed_json(receiver):
    WebhookChannel(receiver.url, "s3cret").send(EVENT)
    (headers, body), = receiver.requests
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Portal-Signature"] == expected == sign("s3cret", body)
    assert headers["X-Portal-Event"] == "device_added"
    payload = json.loads(body)
    assert payload["kind"] == "device_added" and payload["data"] == {"serial": "X"}


def test_retries_on_server_error_then_succeeds(receiver):
    receiver.fail = 2
    WebhookChannel(receiver.url, "k", attempts=3, backoff=0).send(EVENT)
    assert len(receiver.requests) == 3


def test_gives_up_after_the_last_attempt_and_raises(receiver):
    receiver.fail = 5
    with pytest.raises(OSError):
        WebhookChannel(receiver.url, "k", attempts=2, backoff=0).send(EVENT)
    assert len(receiver.requests) == 2
