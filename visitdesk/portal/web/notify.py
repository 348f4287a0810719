"""Outgoing email and text messages, behind one interface.

- Email: :class:`SmtpMailer` (smtplib, STARTTLS / implicit TLS / plain for loopback) for a
  deployment; :class:`FileDropMailer` writes ``.eml`` files for the demo.
- Text messages: the :class:`TextGateway` protocol; :class:`FileDropTextGateway` writes ``.txt``
  files (a deployment plugs its SMS provider in behind the same protocol).

Messages can carry codes, so nothing here logs a recipient, a subject or a body: only ids.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from visitdesk.portal.web.config import PortalConfig

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """A message could not be handed to the mail server or text gateway."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class TextMessage:
    to: str
    body: str


@dataclass(frozen=True)
class Notice:
    """An email for a patient, sent once the transaction that decided it has committed."""

    to: str
    subject: str
    body: str


def send_notice(messenger: Messenger, notice: Notice | None) -> None:
    """Send `notice` if there is one; a delivery failure is logged (without PHI), not raised:
    the decision stands whether or not the email went out."""
    if notice is None:
        return
    try:
        messenger.mail.send(Email(to=notice.to, subject=notice.subject, body=notice.body))
    except DeliveryFailed:
        log.error("a notice email could not be sent")


class Mailer(Protocol):
    def send(self, message: Email) -> None: ...


class TextGateway(Protocol):
    def send(self, message: TextMessage) -> None: ...


def _mime(message: Email, sender: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = make_msgid(domain="visitdesk.invalid")
    mime.set_content(message.body)
    return mime


def _drop(directory: Path, suffix: str, content: bytes) -> Path:
    """Write a file atomically (a reader never sees half a message); owner-only permissions."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    name = f"{stamp}-{secrets.token_hex(4)}{suffix}"
    tmp = directory / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    final = directory / name
    os.replace(tmp, final)
    return final


class FileDropMailer:
    """Writes each email as an RFC 5322 ``.eml`` file into a directory (the demo's outbox)."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, message: Email) -> None:
        try:
            path = _drop(self.directory, ".eml", bytes(_mime(message, self.sender)))
        except OSError as exc:
            raise DeliveryFailed(type(exc).__name__) from exc
        log.info("email dropped as %s", path.name)


class SmtpMailer:
    """Sends through an SMTP relay; one connection per message (the portal sends few)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 15.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.security, self.username, self._password = security, username, password
        self.timeout = timeout

    def send(self, message: Email) -> None:
        mime = _mime(message, self.sender)
        context = ssl.create_default_context()
        try:
            if self.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=context)
                if self.username:
                    client.login(self.username, self._password)
                client.send_message(mime)
        except (OSError, smtplib.SMTPException) as exc:
            # The exception text can quote the recipient: log its type only.
            log.error("SMTP delivery failed: %s", type(exc).__name__)
            raise DeliveryFailed(type(exc).__name__) from exc
        log.info("email handed to the SMTP relay")


class FileDropTextGateway:
    """Writes each text message as a small ``.txt`` file: a ``To:`` line, a blank line, the body."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: TextMessage) -> None:
        content = f"To: {message.to}\n\n{message.body}\n".encode()
        try:
            path = _drop(self.directory, ".txt", content)
        except OSError as exc:
            raise DeliveryFailed(type(exc).__name__) from exc
        log.info("text message dropped as %s", path.name)


@dataclass(frozen=True)
class Messenger:
    """The portal's outgoing channels, built once per app."""

    mail: Mailer
    text: TextGateway


def build_messenger(config: PortalConfig) -> Messenger:
    mail: Mailer
    if config.mail_transport == "smtp":
        if not config.smtp_host:
            raise ValueError("mail_transport 'smtp' needs smtp_host")
        mail = SmtpMailer(
            config.smtp_host,
            config.smtp_port,
            config.mail_from,
            security=config.smtp_security,
            username=config.smtp_username,
            password=config.smtp_password,
            timeout=config.smtp_timeout_seconds,
        )
    else:
        mail = FileDropMailer(config.resolved_mail_drop_dir, config.mail_from)
    return Messenger(mail=mail, text=FileDropTextGateway(config.resolved_text_drop_dir))


def read_text_drop(path: Path) -> TextMessage:
    """Parse a file written by :class:`FileDropTextGateway` (the demo's simulator reads them)."""
    head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    to = head.removeprefix("To: ").strip()
    return TextMessage(to=to, body=body.rstrip("\n"))
