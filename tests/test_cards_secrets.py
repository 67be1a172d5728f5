"""Rule PAY-2: no card number, CVV or nonce ends up in the database, the logs or a mail.

Every card flow runs against the real SDK and the fake Braintree server, with mail sent
to a real SMTP server (aiosmtpd) and every logger captured at DEBUG; then the database
(the SQLite file and its WAL, byte by byte, plus every row), the log records and the
mails are searched for the secrets the flows handled. A client that posts raw card
fields anyway (a broken integration) is covered too: they are ignored, never stored.
"""
import logging

import pytest

from portal.models import Account, PaymentMethod
from support.database import database_text

NONCES = ("fake-valid-visa-nonce", "fake-valid-amex-nonce", "fake-valid-mastercard-nonce",
          "fake-valid-discover-nonce", "fake-valid-jcb-nonce",
          "fake-processor-declined-visa-nonce", "fake-consumed-nonce",
          "fake-luhn-invalid-nonce", "tokencc_bh_zx8g7m_xyz_one_time")
CARD_NUMBERS = ("4111111111111111", "378282246310005", "5555555555554444",
                "6011111111111117", "4012888888881881")
CVV = "737"


@pytest.fixture
def app(make_app, fake_braintree, smtp_server):
    """Braintree on the fake server, mail to a real SMTP server."""
    return make_app(**fake_braintree.portal_config(timeout="1"), **smtp_server.config())


def test_pay2_no_card_data_in_database_logs_or_mail(app, client, auth, fake_braintree,  # noqa: E501
                                                    smtp_server, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's HTTP client included

    def post(path, **data):
        data["csrf_token"] = auth.csrf_token("/admin/cards/")
        return client.post(path, data=data)

    auth.login(as_="admin@northwind.example")
    for nonce in NONCES:
        post("/admin/cards/", payment_method_nonce=nonce)
    # a broken client that posts raw card fields next to the nonce
    post("/admin/cards/", payment_method_nonce="fake-valid-mastercard-nonce",
         card_number=CARD_NUMBERS[0], cvv=CVV, number=CARD_NUMBERS[1])
    fake_braintree.inject("reset", path="/payment_methods", method="POST", times=1)
    post("/admin/cards/", payment_method_nonce="fake-valid-amex-nonce")
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        methods = list(PaymentMethod.select().where(PaymentMethod.account == account)
                       .order_by(PaymentMethod.id))
    assert [m.brand for m in methods] == ["Visa", "American Express", "MasterCard",
                                          "MasterCard"]
    post(f"/admin/cards/{methods[1].id}/default")
    post(f"/admin/cards/{methods[0].id}/remove")
    client.post("/webhooks/braintree",
                data=fake_braintree.webhook("payment_method_revoked_by_customer",
                                            methods[2].token))
    auth.logout()
    auth.login(as_="admin@atelier.example")
    post("/admin/cards/manual", note="PO 1")

    mails = smtp_server.wait_for(4)
    assert len(mails) >= 4  # added x3, removed, ... : the search below reads real mail
    mail_text = "\n".join(m.as_string() for m in mails)
    assert "Visa ending 1111" in mail_text
    logs = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "/payment_methods" in logs  # the HTTP client's debug log was captured
    stored = database_text(app)
    assert b"card.added" in stored and methods[1].token.encode() in stored

    for secret in NONCES + CARD_NUMBERS:
        assert secret.encode() not in stored, f"{secret} in the database"
        assert secret not in logs, f"{secret} in the logs"
        assert secret not in mail_text, f"{secret} in a mail"
    assert f"cvv={CVV}" not in logs and f"'{CVV}'" not in repr(stored)
