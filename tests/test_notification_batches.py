"""Many notifications at once (portal/notifications/batch.py): a billing batch's mails are
recorded in one statement and delivered in one pass, each once per channel, whatever the
size of the batch; a failing channel records each failure and stops nothing else."""
from portal import notifications
from portal.models import Delivery, OutboxMessage, Receipt
from portal.notifications import Notification
from portal.notifications.batch import attempt_many, notify_many
from portal.plugins import plugin_manager
from support.billing import DEC1, make_due, run
from support.pages import counted_queries


def mails(count, prefix="receipt"):
    return [Notification(kind="receipt_ready", account_id=None, recipients=(f"a{i}@x.example",),
                         subject=f"Receipt {i}", text=f"Paid {i}.", key=f"{prefix}:{i}")
            for i in range(count)]


def statements_to_notify(app, count, prefix) -> int:
    with app.test_request_context(), counted_queries() as counter:
        assert len(notify_many(mails(count, prefix))) == count
    return counter.count


def test_a_batch_of_mails_is_recorded_and_delivered_in_as_many_statements_as_one(app):
    statements_to_notify(app, 1, "warm")  # the connection opened first
    few, many = statements_to_notify(app, 2, "few"), statements_to_notify(app, 30, "many")
    assert few == many <= 8  # insert, claim, outbox rows + sent: not three commits a mail
    with app.app_context():
        assert OutboxMessage.select().count() == 33
        assert {(d.status, d.attempts) for d in Delivery.select()} == {("sent", 1)}


def test_a_key_in_a_batch_is_delivered_once_per_channel(mail_app, smtp_server):
    with mail_app.test_request_context():
        assert len(notify_many(mails(3))) == 6  # outbox and email, three mails each
        assert notify_many(mails(4)) == [  # only the fourth is new
            d.id for d in Delivery.select().where(Delivery.key == "receipt:3")
            .order_by(Delivery.id)]
        assert notifications.notify(mails(1)[0]) == []  # one by one: the same keys
        assert OutboxMessage.select().count() == 4
    assert len(smtp_server.wait_for(4)) == 4
    smtp_server.wait_for(5, timeout=0.5)
    assert len(smtp_server.messages) == 4


def test_a_failing_channel_in_a_batch_records_each_failure_and_the_outbox_keeps_all(
        mail_app, smtp_server):
    smtp_server.stop()
    with mail_app.test_request_context():
        notify_many(mails(3))
        assert {(d.channel, d.status, d.attempts) for d in Delivery.select()} == {
            ("outbox", "sent", 1), ("email", "failed", 1)}
        email = Delivery.select().where(Delivery.channel == "email")
        assert all("ConnectionRefusedError" in d.last_error and d.next_attempt_at is None
                   for d in email)
        assert OutboxMessage.select().count() == 3
    smtp_server.start()
    result = mail_app.test_cli_runner().invoke(args=["deliveries", "retry"])
    assert result.exit_code == 0 and "3 delivery" in result.output, result.output
    assert len(smtp_server.wait_for(3)) == 3
    with mail_app.app_context():
        assert {d.status for d in Delivery.select()} == {"sent"}
        assert OutboxMessage.select().count() == 3  # the outbox did not get them twice


def test_a_batch_sent_already_is_not_sent_again(app):
    with app.test_request_context():
        ids = notify_many(mails(3))
        assert attempt_many(plugin_manager(app), app.config, ids) == {}  # none claimable
        assert OutboxMessage.select().count() == 3


def test_the_billing_run_mails_a_batch_in_as_many_statements_whatever_its_size(app_ctx):
    """Receipt mails were 70% of a billing run: three commits each (docs/performance.md).
    Ten more due subscriptions in the same batch cost no more statements."""
    make_due(2, DEC1, prefix="Few")
    with counted_queries() as few:
        assert run(app_ctx, DEC1).paid == 2
    make_due(12, DEC1.replace(month=12, day=2), prefix="Many")
    with counted_queries() as many:
        assert run(app_ctx, DEC1.replace(day=2)).paid == 12
    assert many.count <= few.count, (few.count, many.count)
    assert Receipt.select().count() == OutboxMessage.select().where(
        OutboxMessage.kind == "receipt_ready").count() == 14


def test_a_batch_of_mails_reads_as_each_mail_rendered_alone_in_its_language(app):
    """render_mails formats a batch's amounts and dates and translates its strings with
    the batch's language looked up once (notifications/formats.py): the texts are those
    Flask's render_template gives with the app's own filters, in English and French, in
    several currencies (one without decimals), a name to escape in HTML included."""
    import datetime as dt
    from decimal import Decimal
    from types import SimpleNamespace

    from flask import render_template
    from flask_babel import force_locale

    def invoice(i, currency):
        return SimpleNamespace(
            currency=currency, number=f"INV-{i:06d}", account_name=f"Bench <{i}> & Co",
            period_start=dt.date(2026, 12, 1), period_end=dt.date(2026, 12, 31),
            total=Decimal("1234.5") + i, due_on=dt.date(2026, 12, 15), status="open")

    contexts = {
        "billing_receipt_ready": lambda i, c: {
            "invoice": invoice(i, c),
            "receipt": SimpleNamespace(number=f"RCP-{i}", amount=Decimal("1234.50") + i,
                                       method="Visa ending 1881")},
        "billing_invoice_issued": lambda i, c: {"invoice": invoice(i, c)},
        "billing_payment_failed": lambda i, c: {
            "invoice": invoice(i, c), "amount": Decimal(i) / 3, "message": "Declined <51>",
            "retry_on": dt.date(2026, 12, 4) if i % 2 else None},
    }
    base = {"product_name": app.config.get("PRODUCT_NAME", "Portal"),
            "support_email": app.config.get("SUPPORT_EMAIL", "")}
    with app.test_request_context():
        for template, make in contexts.items():
            for locale in ("en", "fr"):
                batch = [make(i, c) for i in range(4) for c in ("EUR", "USD", "JPY", "GBP")]
                got = notifications.render_mails(template, locale, batch)
                with force_locale(locale):
                    alone = [(render_template(f"mail/{template}.txt", **c, **base),
                              render_template(f"mail/{template}.html", **c, **base))
                             for c in batch]
                for a, b in zip(got, alone, strict=True):
                    assert a[0] == b[0]
                    assert a[1] == b[1]
                assert len({text for text, _ in got}) == len(batch)
        assert "&lt;0&gt; &amp; Co" in got[0][1]
        assert "1\u202f234,50\xa0€" in notifications.render_mails(
            "billing_receipt_ready", "fr", [contexts["billing_receipt_ready"](0, "EUR")])[0][0]
