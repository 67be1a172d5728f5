"""The ``email`` channel: each notification as one multipart (text + HTML) mail over SMTP.

Settings: PORTAL_SMTP_HOST (the channel is off while it is empty), PORTAL_SMTP_PORT,
PORTAL_SMTP_USERNAME / PORTAL_SMTP_PASSWORD (login when a username is set),
PORTAL_SMTP_FROM (default: PORTAL_SUPPORT_EMAIL) and PORTAL_SMTP_STARTTLS.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from markupsafe import escape

from ..hookspecs import hookimpl
from ..notifications import Channel, Notification

log = logging.getLogger("portal.mail")

TIMEOUT_SECONDS = 20


def text_to_html(text: str) -> str:
    """A plain-text body as simple HTML paragraphs (for notifications sent without HTML)."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


class EmailChannel(Channel):
    """Sends through the deployment's SMTP server; raises on failure so it is retried."""

    name = "email"

    def __init__(self, config):
        self.host = config["SMTP_HOST"]
        self.port = int(config.get("SMTP_PORT") or 25)
        self.username = config.get("SMTP_USERNAME") or ""
        self.password = config.get("SMTP_PASSWORD") or ""
        self.starttls = bool(config.get("SMTP_STARTTLS"))
        self.sender = config.get("SMTP_FROM") or config.get("SUPPORT_EMAIL") or "portal@localhost"
        self.sender_name = config.get("PRODUCT_NAME") or ""

    def build(self, notification: Notification) -> EmailMessage:
        """The MIME message: plain text first, HTML as the preferred alternative."""
        msg = EmailMessage()
        msg["Subject"] = notification.subject
        msg["From"] = formataddr((self.sender_name, self.sender))
        msg["To"] = ", ".join(notification.recipients)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg.set_content(notification.text)
        msg.add_alternative(notification.html or text_to_html(notification.text),
                            subtype="html")
        return msg

    def send(self, notification: Notification) -> None:
        if not notification.recipients:
            return
        msg = self.build(notification)
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            refused = smtp.send_message(msg, from_addr=self.sender,
                                        to_addrs=list(notification.recipients))
        if refused:  # the others got it: retrying would mail them twice
            log.warning("%s: recipients refused by the SMTP server: %s",
                        notification.kind, ", ".join(sorted(refused)))


@hookimpl(trylast=True)
def portal_register_notification_channels(register, config):
    if config.get("SMTP_HOST"):
        register(EmailChannel(config))
