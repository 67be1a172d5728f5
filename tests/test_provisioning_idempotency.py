"""Idempotency-Key on the provisioning API's POSTs (issue #16 item 4), as Stripe does it:
the first answer is kept 24 hours and replayed to the same request, a key reused for
another request is refused, two requests racing with one key never open two accounts
(two threads, on SQLite and PostgreSQL alike), and expired keys are purged."""
import datetime as dt
import sqlite3
import threading
import time

import pytest

from portal.models import Account, AuditEvent, IdempotencyKey, OperatorToken
from support.api import call, snapshot
from support.database import PG_URL

URL = "/api/v1/provisioning/accounts"
BODY = {"name": "Fjord Cafés", "currency": "EUR",
        "subscriptions": [{"plan": "team", "interval": "monthly", "quantity": 5}]}


def post(client, token, body, key):
    headers = {} if key is None else {"Idempotency-Key": key}
    return call(client, "POST", URL, token, json=body, headers=headers)


def opened(app, name="Fjord Cafés") -> int:
    with app.app_context():
        return Account.select().where(Account.name == name).count()


def test_a_replay_answers_the_first_answer_and_creates_nothing_more(app, client,
                                                                    operator_tokens):
    token = operator_tokens["all"]
    first = post(client, token, BODY, "key-1")
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    with app.app_context():
        audit = AuditEvent.select().count()
    again = post(client, token, BODY, "key-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert opened(app) == 1
    with app.app_context():
        assert AuditEvent.select().count() == audit  # nothing written, nothing audited


def test_the_same_key_with_another_body_is_422_and_writes_nothing(app, client,
                                                                  operator_tokens):
    token = operator_tokens["all"]
    assert post(client, token, BODY, "key-1").status_code == 201
    before = snapshot(app), opened(app, "Other")
    r = post(client, token, {**BODY, "name": "Other"}, "key-1")
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "idempotency_key_reused"
    assert (snapshot(app), opened(app, "Other")) == before


def test_keys_belong_to_one_token(app, client, operator_tokens):
    assert post(client, operator_tokens["all"], BODY, "shared").status_code == 201
    other = post(client, operator_tokens["accounts"], {"name": "Fjord Cafés"}, "shared")
    assert other.status_code == 201 and other.headers["Idempotent-Replayed"] == "false"
    assert opened(app) == 2


def test_a_post_without_a_key_is_400_and_writes_nothing(app, client, operator_tokens):
    before = snapshot(app)
    r = post(client, operator_tokens["all"], BODY, None)
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "idempotency_key_missing"
    r = post(client, operator_tokens["all"], BODY, "has space")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "Idempotency-Key"
    assert snapshot(app) == before and opened(app) == 0


def test_a_refusal_keeps_no_key_so_a_corrected_retry_runs(app, client, operator_tokens):
    token = operator_tokens["all"]
    refused = post(client, token, {**BODY, "currency": "JPY"}, "key-1")
    assert refused.status_code == 422
    with app.app_context():
        assert IdempotencyKey.select().count() == 0
    assert post(client, token, BODY, "key-1").status_code == 201


def test_expired_keys_are_purged_and_the_key_can_be_used_again(app, client,
                                                              operator_tokens):
    from portal.periodic import purge_idempotency_keys

    token = operator_tokens["all"]
    assert post(client, token, BODY, "key-1").status_code == 201
    long_ago = dt.datetime(2020, 1, 1)
    with app.app_context():
        IdempotencyKey.update(expires_at=long_ago).execute()
    # the next write purges them: the old key runs again as a new request
    again = post(client, token, {**BODY, "name": "Later"}, "key-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "false"
    with app.app_context():
        IdempotencyKey.update(expires_at=long_ago).execute()
        assert purge_idempotency_keys.call_local() == 1
        assert IdempotencyKey.select().count() == 0


def hold_the_writers(database_url):
    """Another writer holding what opening an account waits for: SQLite's write lock, or
    the idempotency keys' table on PostgreSQL. Returns the function that lets go."""
    if database_url.startswith("sqlite"):
        blocker = sqlite3.connect(database_url.split(":///", 1)[1], timeout=0)
        blocker.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        blocker = psycopg.connect(database_url)
        blocker.execute("LOCK TABLE idempotency_key IN EXCLUSIVE MODE")

    def release():
        blocker.rollback()
        blocker.close()
    return release


def test_two_requests_racing_with_one_key_open_one_account(app, database_url,
                                                           operator_tokens):
    token = operator_tokens["all"]
    clients = [app.test_client() for _ in range(2)]
    barrier, answers = threading.Barrier(2), []

    def send(client):
        barrier.wait()
        r = post(client, token, BODY, "race-1")
        answers.append((r.status_code, r.headers.get("Idempotent-Replayed"), r.get_json()))

    release = hold_the_writers(database_url)
    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # both requests are past their token and wait to write
    finally:
        release()
    for thread in threads:
        thread.join(30)
    assert opened(app) == 1
    assert sorted(a[:2] for a in answers) in (
        [(201, "false"), (201, "true")],  # the second waited, then was replayed the answer
        [(201, "false"), (409, None)])  # or it gave up waiting: idempotency_key_in_use
    if answers[0][0] == answers[1][0]:
        assert answers[0][2] == answers[1][2]


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's lock_timeout (SQLite has one writer)")
def test_a_request_that_waits_too_long_for_its_key_is_409_in_use(app, database_url,
                                                                 operator_tokens, monkeypatch):
    import psycopg

    from portal.accounts.tokens import hash_token
    from portal.views import idempotency

    monkeypatch.setattr(idempotency, "WAIT", "1s")
    with app.app_context():
        token_id = OperatorToken.get(
            OperatorToken.token_hash == hash_token(operator_tokens["all"])).id
    busy = psycopg.connect(database_url)  # another request, still answering with this key
    busy.execute("INSERT INTO idempotency_key (token_id, key, request_hash, status, body, "
                 "created_at, expires_at) VALUES (%s, 'busy-1', 'x', 0, '', now(), "
                 "now() + interval '1 day')", (token_id,))
    try:
        r = post(app.test_client(), operator_tokens["all"], BODY, "busy-1")
    finally:
        busy.rollback()
        busy.close()
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "idempotency_key_in_use"
    assert opened(app) == 0
