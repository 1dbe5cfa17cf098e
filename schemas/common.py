"""Field types shared by requests: ids, emails, phones, time zones."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError
from zoneinfo import available_timezones

import phonenumbers
from bson import ObjectId
from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import StringConstraints


class RequestModel(BaseModel):
    """Base of every inbound payload: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _object_id(value: str) -> str:
    if not ObjectId.is_valid(value):
        raise ValueError("must be a 24-character hex id")
    return value


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("must be a phone number in E.164 form, like +14155550100") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("must be a valid phone number in E.164 form, like +14155550100")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_TIMEZONES = available_timezones()


def _iana_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("must be an IANA time zone name, like Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name, like Europe/Paris") from None
    return value


ObjectIdStr = Annotated[str, AfterValidator(_object_id)]
PhoneE164 = Annotated[str, AfterValidator(_e164)]
TimezoneName = Annotated[str, AfterValidator(_iana_timezone)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
