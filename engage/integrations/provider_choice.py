"""The email and SMS provider each channel uses, chosen by settings."""

from __future__ import annotations

from engage.config import Settings
from engage.integrations.notification_providers import NotificationProvider
from engage.integrations.notification_providers import OutboxProvider
from engage.integrations.sendgrid_email import SendGridEmail
from engage.integrations.smtp_email import SmtpEmail
from engage.integrations.twilio_sms import TwilioSms


def email_provider(settings: Settings) -> NotificationProvider:
    if settings.email_provider == "sendgrid":
        return SendGridEmail(settings)
    if settings.email_provider == "smtp":
        return SmtpEmail(settings)
    return OutboxProvider("email")


def sms_provider(settings: Settings) -> NotificationProvider:
    if settings.sms_provider == "twilio":
        return TwilioSms(settings)
    return OutboxProvider("sms")


def providers_for(settings: Settings) -> dict[str, NotificationProvider]:
    """The configured provider per channel."""
    return {"email": email_provider(settings), "sms": sms_provider(settings)}
