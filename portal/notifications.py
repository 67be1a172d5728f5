"""Notification channels and the events they receive.

Every enabled channel gets every event; a channel's ``send`` raises on failure so the
delivery can be retried and shown, never lost silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Notification:
    """One event for people: what happened, to whom, in plain text and HTML."""

    kind: str  # device_added | order_placed | quote_ready | payment_failed | ...
    account_id: int | None
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str = ""
    data: dict = field(default_factory=dict)


class Channel:
    """Base class of a notification channel."""

    name: str = ""

    def send(self, notification: Notification) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def registered_channels(pm, config) -> list[Channel]:
    """Every channel the enabled plugins register."""
    found: list[Channel] = []
    pm.hook.portal_register_notification_channels(register=found.append, config=config)
    return found


def broadcast(pm, config, notification: Notification) -> dict[str, str]:
    """Send ``notification`` to every channel; return {channel: "sent" or the error}."""
    outcome = {}
    for channel in registered_channels(pm, config):
        try:
            channel.send(notification)
            outcome[channel.name] = "sent"
        except Exception as exc:  # a failed channel must not stop the others
            outcome[channel.name] = f"failed: {exc}"
    return outcome


def notify(notification: Notification) -> None:
    """Queue ``notification`` for every channel; never blocks the request on delivery."""
    from .jobs import deliver_notification

    deliver_notification(notification)
