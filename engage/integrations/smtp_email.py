"""Email through a clinic's own SMTP relay (aiosmtplib)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from engage.config import Settings
from engage.integrations.notification_providers import OutgoingMessage
from engage.integrations.notification_providers import PermanentProviderError
from engage.integrations.notification_providers import TransientProviderError


class SmtpEmail:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.email_from
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(localtime=False)
        # Deterministic: if a message is ever sent twice (see README's narrow window), mail clients fold them.
        email["Message-ID"] = f"<notification-{message.notification_id}@engage>"
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, message: OutgoingMessage) -> str:
        s = self.settings
        email = self.build(message)
        try:
            await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                use_tls=s.smtp_security == "tls",
                start_tls=True if s.smtp_security == "starttls" else False,
                timeout=s.provider_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            cls = TransientProviderError if all(400 <= c < 500 for c in codes) else PermanentProviderError
            raise cls(f"smtp refused recipient: {codes}", codes[0] if codes else None) from None
        except aiosmtplib.SMTPResponseException as exc:
            cls = TransientProviderError if 400 <= exc.code < 500 else PermanentProviderError
            raise cls(f"smtp {exc.code}: {exc.message[:200]}", exc.code) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientProviderError(f"smtp unreachable: {type(exc).__name__}") from None
        return email["Message-ID"]

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        raise NotImplementedError  # SMTP has no lookup; the Message-ID stays the same on a resend

    async def close(self) -> None:
        return None
