"""The ``outbox`` channel: every notification is stored for operators to read."""
from ..hookspecs import hookimpl
from ..models import OutboxMessage
from ..notifications import Channel


class OutboxChannel(Channel):
    name = "outbox"

    def send(self, notification):
        OutboxMessage.create(account=notification.account_id, kind=notification.kind,
                             recipients=", ".join(notification.recipients),
                             subject=notification.subject, body=notification.text)


@hookimpl(trylast=True)
def portal_register_notification_channels(register, config):
    register(OutboxChannel())
