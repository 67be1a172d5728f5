"""Notifications through a real SMTP server (aiosmtpd): the new-device mail (DEV-2, DEV-3,
ACC-4), deliveries recorded per channel, retried by huey and visible to operators."""
import datetime as dt
import re
import threading

import pytest

from portal import jobs, notifications
from portal.models import Delivery, OutboxMessage, utcnow
from portal.notifications import Notification
from support.api import call, csrf_token, login, parts, snapshot

SUPPORT_LINE = ("If you did not authorise this device, contact customer success at "
                "success@portal.test.")


def test_dev2_new_device_mail_to_admins_and_members_with_device_location_time_and_support(
        mail_app, mail_client, tokens, smtp_server):
    before = utcnow().replace(microsecond=0)
    r = call(mail_client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
             json={"location": "york"})
    assert r.status_code == 201
    [msg] = smtp_server.wait_for(1)
    assert sorted(msg.envelope_to) == ["admin@northwind.example", "member@northwind.example"]
    assert msg.envelope_from == "portal@portal.test"
    assert msg["Subject"] == "New device NW-york-09 at York"
    assert msg.get_content_type() == "multipart/alternative"
    body = parts(msg)
    assert set(body) == {"text/plain", "text/html"}
    text, html = body["text/plain"], body["text/html"]
    for part in (text, html):
        assert "NW-york-09" in part and "York" in part and "Northwind Retail" in part
        assert "UTC" in part  # the time, said in which zone
    assert SUPPORT_LINE in text and SUPPORT_LINE in re.sub(r"<[^>]+>", "", html)
    assert 'href="mailto:success@portal.test"' in html
    when = dt.datetime.strptime(text.split("Time: ")[1].split(" UTC")[0],
                                "%B %d, %Y, %I:%M:%S %p")
    assert before <= when <= utcnow() + dt.timedelta(seconds=1)


def test_acc4_deactivated_members_get_no_device_mail(mail_client, tokens, smtp_server):
    call(mail_client, "POST", "/api/v1/members/member@northwind.example/deactivate",
         tokens["nw"])
    call(mail_client, "PUT", "/api/v1/members/new@northwind.example", tokens["nw"], json={})
    call(mail_client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"], json={"location": "york"})
    [msg] = smtp_server.wait_for(1)
    assert sorted(msg.envelope_to) == ["admin@northwind.example", "new@northwind.example"]


def test_dev3_rma_replacement_sends_no_mail(mail_app, mail_client, tokens, smtp_server):
    r = call(mail_client, "PUT", "/api/v1/devices/NW-york-R1", tokens["nw"],
             json={"location": "york", "replaces": "NW-york-01"})
    assert r.status_code == 201
    # a normal device afterwards proves the server was listening all along
    call(mail_client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"], json={"location": "york"})
    messages = smtp_server.wait_for(1)
    assert [m["Subject"] for m in messages] == ["New device NW-york-09 at York"]
    with mail_app.app_context():
        assert Delivery.select().where(Delivery.kind == "device_added").count() == 2  # 2 channels


def test_dev2_a_retried_api_call_sends_one_mail(mail_app, mail_client, tokens, smtp_server):
    for _ in range(4):
        r = call(mail_client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
                 json={"location": "york"})
        assert r.status_code in (200, 201)
    call(mail_client, "PUT", "/api/v1/devices/NW-york-10", tokens["nw"], json={"location": "york"})
    messages = smtp_server.wait_for(2)
    assert [m["Subject"] for m in messages] == ["New device NW-york-09 at York",
                                                "New device NW-york-10 at York"]


def test_dev2_concurrent_retries_of_one_call_send_one_mail(mail_app, tokens, smtp_server):
    """Eight clients send the same new device at once (a product retrying on timeouts)."""
    statuses, start = [], threading.Barrier(8)

    def send():
        client = mail_app.test_client()
        start.wait()
        r = call(client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
                 json={"location": "york"})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 7 + [201]
    smtp_server.wait_for(2, timeout=1)
    assert len(smtp_server.messages) == 1


def test_dev2_a_device_brought_back_is_announced_again(mail_client, tokens, smtp_server):
    nw = tokens["nw"]
    call(mail_client, "PUT", "/api/v1/devices/NW-york-09", nw, json={"location": "york"})
    call(mail_client, "DELETE", "/api/v1/devices/NW-york-09", nw)
    call(mail_client, "PUT", "/api/v1/devices/NW-york-09", nw, json={"location": "york"})
    call(mail_client, "PUT", "/api/v1/devices/NW-york-09", nw, json={"location": "york"})
    assert len(smtp_server.wait_for(2)) == 2


def test_other_events_keep_the_notify_signature_and_get_an_html_part(mail_app, smtp_server):
    with mail_app.test_request_context():
        ids = notifications.notify(Notification(
            kind="order_placed", account_id=None, recipients=("a@x.example", "b@x.example"),
            subject="Order placed", text="Your order is placed.\n\nThank you & bye <3"))
        assert len(ids) == 2
        assert {d.channel: d.status for d in Delivery.select()} == {"outbox": "sent",
                                                                    "email": "sent"}
    [msg] = smtp_server.wait_for(1)
    body = parts(msg)
    assert body["text/plain"].strip().startswith("Your order is placed.")
    assert "<p>Thank you &amp; bye &lt;3</p>" in body["text/html"]


def test_recipients_for_account_lists_active_admins_first(app_ctx):
    from portal.models import Account

    nw = Account.get(Account.name == "Northwind Retail").id
    assert notifications.recipients_for_account(nw) == ("admin@northwind.example",
                                                        "member@northwind.example")
    assert notifications.recipients_for_account(nw, admins_only=True) == (
        "admin@northwind.example",)
    atelier = Account.get(Account.name == "Atelier Space").id
    assert "eve@atelier.example" not in notifications.recipients_for_account(atelier)


def test_a_key_is_delivered_once_per_channel(mail_app, smtp_server):
    n = Notification(kind="receipt_ready", account_id=None, recipients=("a@x.example",),
                     subject="Receipt", text="Paid.", key="receipt:1")
    with mail_app.test_request_context():
        assert len(notifications.notify(n)) == 2
        assert notifications.notify(n) == []
    smtp_server.wait_for(2, timeout=0.5)
    assert len(smtp_server.messages) == 1


# --- failures: recorded, retried by huey, visible, never lost silently ---

@pytest.fixture
def queued():
    """huey as a consumer sees it (not immediate) for one test; drained afterwards."""
    jobs.huey.immediate = False
    try:
        yield jobs.huey
    finally:
        jobs.huey.flush()
        jobs.huey.immediate = True


def run_pending(huey) -> int:
    """Do what a consumer's worker does with every job in the queue."""
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def run_scheduled(huey, minutes: int) -> int:
    """What a consumer does once ``minutes`` have passed: run the retries then due."""
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=minutes)
    due = huey.read_schedule(later)
    for task in due:
        huey.execute(task, timestamp=later)
    return len(due)


def test_dev2_failed_mail_is_recorded_then_retried_by_huey(mail_app, tokens, smtp_server,
                                                           queued):
    smtp_server.stop()  # the mail server is down when the device arrives
    client = mail_app.test_client()
    r = call(client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"], json={"location": "york"})
    assert r.status_code == 201  # the request never waits for mail
    with mail_app.app_context():
        assert [d.status for d in Delivery.select().order_by(Delivery.id)] == ["pending",
                                                                            "pending"]
        assert run_pending(queued) == 2
        email = Delivery.get(Delivery.channel == "email")
        assert email.status == "failed" and email.attempts == 1
        assert "ConnectionRefusedError" in email.last_error and email.next_attempt_at
        assert Delivery.get(Delivery.channel == "outbox").status == "sent"
        assert queued.scheduled_count() == 1  # huey keeps the retry
        smtp_server.start()
        assert run_scheduled(queued, minutes=2) == 1
        email = Delivery.get_by_id(email.id)
        assert (email.status, email.attempts) == ("sent", 2), email.last_error
        assert OutboxMessage.select().count() == 1  # the outbox did not get it twice
    assert len(smtp_server.wait_for(1)) == 1


def test_a_delivery_that_runs_out_of_retries_stays_failed_and_visible(mail_app, tokens,
                                                                      smtp_server, queued):
    smtp_server.stop()
    client = mail_app.test_client()
    call(client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"], json={"location": "york"})
    with mail_app.app_context():
        run_pending(queued)
        tries = 1
        while run_scheduled(queued, minutes=60):
            tries += 1
        email = Delivery.get(Delivery.channel == "email")
        assert tries == jobs.DELIVERY_RETRIES + 1 == email.attempts
        assert email.status == "failed" and email.next_attempt_at is None
    # the operator sees it, with its error, and can send it once the server is back
    login(client, "operator@example.com")
    page = client.get("/operator/deliveries?status=failed").get_data(as_text=True)
    assert f'id="delivery-{email.id}" data-status="failed"' in page
    assert "ConnectionRefusedError" in page and "no more automatic tries" in page
    smtp_server.start()
    jobs.huey.immediate = True
    r = client.post(f"/operator/deliveries/{email.id}/retry",
                    data={"csrf_token": csrf_token(client, "/operator/deliveries")},
                    follow_redirects=True)
    assert f"Delivery {email.id} sent." in r.get_data(as_text=True)
    assert len(smtp_server.wait_for(1)) == 1
    with mail_app.app_context():
        assert Delivery.get_by_id(email.id).status == "sent"


def test_immediate_mode_failure_is_recorded_and_the_cli_retries_it(mail_app, tokens,
                                                                   smtp_server):
    smtp_server.stop()
    client = mail_app.test_client()
    r = call(client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"], json={"location": "york"})
    assert r.status_code == 201
    with mail_app.app_context():
        email = Delivery.get(Delivery.channel == "email")
        assert (email.status, email.attempts, email.next_attempt_at) == ("failed", 1, None)
    smtp_server.start()
    result = mail_app.test_cli_runner().invoke(args=["deliveries", "retry"])
    assert result.exit_code == 0 and "1 delivery" in result.output
    assert len(smtp_server.wait_for(1)) == 1
    with mail_app.app_context():
        assert Delivery.get_by_id(email.id).status == "sent"


def test_a_failing_channel_does_not_stop_the_others(mail_app, smtp_server):
    """The outbox keeps the notification although the email channel fails."""
    smtp_server.stop()
    with mail_app.test_request_context():
        notifications.notify(Notification(kind="quote_ready", account_id=None,
                                          recipients=("a@x.example",), subject="Quote",
                                          text="Ready."))
        assert {d.channel: d.status for d in Delivery.select()} == {"outbox": "sent",
                                                                    "email": "failed"}
        assert OutboxMessage.get().subject == "Quote"


def test_no_mail_channel_without_smtp_host(app):
    with app.test_request_context():
        notifications.notify(Notification(kind="payment_failed", account_id=None,
                                          recipients=("a@x.example",), subject="S", text="T"))
        assert [d.channel for d in Delivery.select()] == ["outbox"]


def test_refused_api_calls_send_no_mail(mail_app, mail_client, tokens, smtp_server):
    before = snapshot(mail_app)
    call(mail_client, "PUT", "/api/v1/devices/NW-york-09", tokens["revoked"],
         json={"location": "york"})
    call(mail_client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
         json={"location": "nowhere"})
    assert snapshot(mail_app) == before
    smtp_server.wait_for(1, timeout=0.3)
    assert smtp_server.messages == []
