"""Slot arithmetic: weekly availability in clinic local time → bookable UTC instants.

Pure functions, no I/O. Windows are anchored in local wall time (09:00 is 09:00 in both
winter and summer); slots then step in real elapsed time from the window's start, so a
window spanning a DST change yields slots of true length, and a wall time that does not
exist (spring forward) or exists twice (fall back) is handled by zoneinfo's fold rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from engage.models.appointment import BUCKET_MINUTES
from engage.models.clinic import Availability


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC
    end: datetime  # UTC


def parse_clock(value: str) -> time | None:
    """ "HH:MM" → time; "24:00" → None (the end of the day)."""
    if value == "24:00":
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def local_instant(day: date, clock: str, tz: ZoneInfo) -> datetime:
    """A local wall-clock time on a date as a UTC instant ("24:00" is the next midnight)."""
    parsed = parse_clock(clock)
    if parsed is None:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return datetime.combine(day, parsed, tzinfo=tz).astimezone(UTC)


def windows_for_date(availability: Availability, day: date, tz: ZoneInfo) -> list[Window]:
    """The open windows of one local date: its exception if any, else the weekly pattern."""
    iso = day.isoformat()
    for exception in availability.exceptions:
        if exception.date == iso:
            if exception.closed or not exception.start or not exception.end:
                return []
            return [Window(local_instant(day, exception.start, tz), local_instant(day, exception.end, tz))]
    weekday = day.weekday()
    windows = [
        Window(local_instant(day, w.start, tz), local_instant(day, w.end, tz)) for w in availability.weekly if w.weekday == weekday
    ]
    return sorted(windows, key=lambda w: w.start)


def slot_starts_in_window(availability: Availability, window: Window) -> list[datetime]:
    length = timedelta(minutes=availability.slot_minutes)
    step = timedelta(minutes=availability.slot_minutes + availability.buffer_minutes)
    starts: list[datetime] = []
    current = window.start
    while current + length <= window.end:
        starts.append(current)
        current += step
    return starts


def slot_starts(availability: Availability, tz: ZoneInfo, first_day: date, last_day: date) -> list[datetime]:
    """Every slot start (UTC) on the local dates first_day..last_day inclusive, sorted."""
    starts: list[datetime] = []
    day = first_day
    while day <= last_day:
        for window in windows_for_date(availability, day, tz):
            starts.extend(slot_starts_in_window(availability, window))
        day += timedelta(days=1)
    return sorted(set(starts))


def slot_end(availability: Availability, start: datetime) -> datetime:
    return start + timedelta(minutes=availability.slot_minutes)


def place_in_availability(availability: Availability, tz: ZoneInfo, start: datetime) -> str:
    """Where an instant falls: "slot" (a slot start), "off_boundary" (inside a window) or "outside"."""
    day = start.astimezone(tz).date()
    inside = False
    for candidate in (day - timedelta(days=1), day):  # "24:00" windows end on the next date
        for window in windows_for_date(availability, candidate, tz):
            if start in slot_starts_in_window(availability, window):
                return "slot"
            if window.start <= start < window.end:
                inside = True
    return "off_boundary" if inside else "outside"


def buckets(start: datetime, end: datetime) -> list[datetime]:
    """The BUCKET_MINUTES-aligned instants an interval covers; the unique indexes are built on them."""
    step = timedelta(minutes=BUCKET_MINUTES)
    epoch_minutes = int(start.timestamp() // 60)
    current = datetime.fromtimestamp((epoch_minutes - epoch_minutes % BUCKET_MINUTES) * 60, UTC)
    covered: list[datetime] = []
    while current < end:
        covered.append(current)
        current += step
    return covered


def local_view(start: datetime, tz: ZoneInfo) -> dict[str, str]:
    """How an instant reads on the clinic's wall clock (the offset disambiguates the fall-back hour)."""
    local = start.astimezone(tz)
    return {"local_start": local.isoformat(), "local_date": local.date().isoformat(), "local_time": local.strftime("%H:%M")}
