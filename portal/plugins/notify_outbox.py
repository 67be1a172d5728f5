"""The ``outbox`` channel: every notification is stored for operators to read."""
from ..billing.bulk import insert_rows
from ..hookspecs import hookimpl
from ..models import OutboxMessage
from ..notifications import Channel


class OutboxChannel(Channel):
    name = "outbox"
    in_database = True

    def send(self, notification):
        OutboxMessage.create(**row(notification))

    def send_many(self, notifications):
        """All in one statement (a billing batch's receipts)."""
        insert_rows(OutboxMessage, [row(n) for n in notifications])
        return [None] * len(notifications)


def row(notification) -> dict:
    return {"account": notification.account_id, "kind": notification.kind,
            "recipients": ", ".join(notification.recipients),
            "subject": notification.subject, "body": notification.text}


@hookimpl(trylast=True)
def portal_register_notification_channels(register, config):
    register(OutboxChannel())
