"""Field types shared by requests: ids, emails, phones, time zones, dates and times."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError
from zoneinfo import available_timezones

import phonenumbers
from bson import ObjectId
from pydantic import AfterValidator
from pydantic import AwareDatetime
from pydantic import BeforeValidator
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


# Every date or time a client sends must fall in these years: far enough for birth dates and
# long schedules, and far from datetime's limits (years 1 and 9999), so adding a day, a window
# or a time zone offset to an accepted value can never overflow.
MIN_YEAR = 1900
MAX_YEAR = 2200


def _in_supported_years(value: date | datetime) -> date | datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


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
# The only types for a date or time from outside (bodies, query strings, socket payloads).
AwareTimestamp = Annotated[AwareDatetime, AfterValidator(_in_supported_years)]  # with a UTC offset
CalendarDate = Annotated[date, AfterValidator(_in_supported_years)]


def _id_text(value: object) -> object:
    return str(value) if isinstance(value, ObjectId) else value


# Output models read straight from stored documents (Model.model_validate(document)): a stored
# ObjectId becomes the string the API shows.
IdOut = Annotated[str, BeforeValidator(_id_text)]


class FromDocument(BaseModel):
    """A response shape that matches its document field for field, so it is read from one."""

    model_config = ConfigDict(from_attributes=True)
