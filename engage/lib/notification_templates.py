"""Rendering notifications from Jinja2 templates, per kind and channel, in the recipient's timezone.

engage/templates/notifications/<kind>/ holds subject.txt, email.txt and email.html for email and
sms.txt for SMS. Templates receive only the kind's context (see BRIEF: no message text, vitals or
diagnoses), the recipient's name and the app's URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "notifications"

# GSM 03.38 basic set: an SMS made only of these fits 160 characters per segment (else 70).
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _short(value: Any, length: int) -> str:
    text = str(value)
    return text if len(text) <= length else text[: length - 1].rstrip() + "."


@lru_cache(maxsize=64)
def _environment(timezone: str) -> Environment:
    tz = ZoneInfo(timezone)
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,  # a missing context field fails loudly instead of sending a blank
        keep_trailing_newline=False,
        trim_blocks=True,
    )
    # "%-d" is glibc-only; build day numbers by hand so it works everywhere.
    env.filters["when"] = lambda v: (lambda t: f"{t:%a} {t.day} {t:%b %Y}, {t:%H:%M} {t.tzname()}")(_instant(v).astimezone(tz))
    env.filters["when_short"] = lambda v: (lambda t: f"{t:%a} {t.day} {t:%b} {t:%H:%M}")(_instant(v).astimezone(tz))
    env.filters["short"] = _short
    return env


def sms_segments(text: str) -> int:
    """How many SMS segments a text takes (GSM-7: 160/153 chars, otherwise UCS-2: 70/67)."""
    single, multi = (160, 153) if set(text) <= GSM7 else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


def render_notification(kind: str, channel: str, context: dict[str, Any], recipient_name: str, timezone: str, app_url: str | None) -> Rendered:
    """Subject/text/HTML for email, text for SMS, with times shown in `timezone`."""
    env = _environment(timezone)
    values = {**context, "recipient_name": recipient_name, "app_url": app_url or ""}
    if channel == "sms":
        text = " ".join(env.get_template(f"{kind}/sms.txt").render(values).split())
        return Rendered(subject=None, text=text, html=None)
    subject = " ".join(env.get_template(f"{kind}/subject.txt").render(values).split())
    text = env.get_template(f"{kind}/email.txt").render(values).strip() + "\n"
    html = env.get_template(f"{kind}/email.html").render(values)
    return Rendered(subject=subject, text=text, html=html)
