"""When doses fall: local wall-clock times in the patient's zone, turned into UTC instants (DST-aware)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from engage.models.medication import MedicationDose
from engage.models.medication import Prescription


def local_dose_instant(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """The UTC instant of HH:MM on a local day.

    A time skipped by a spring-forward (02:30) resolves with fold=0 to the offset before the gap,
    i.e. one hour later on the new clock (03:30): the dose still happens that day. A repeated
    time at fall-back (01:30) takes its first occurrence, so the dose is not given twice.
    """
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


def dose_slots(times: list[str], start_date: date, end_date: date, timezone: str,
               after: datetime, until: datetime) -> list[tuple[datetime, str, str]]:
    """(UTC instant, local date, local time) of every dose in (after, until], in order, without repeats."""
    zone = ZoneInfo(timezone)
    first = max(start_date, after.astimezone(zone).date() - timedelta(days=1))
    last = min(end_date, until.astimezone(zone).date() + timedelta(days=1))
    slots: dict[datetime, tuple[datetime, str, str]] = {}
    day = first
    while day <= last:
        for hhmm in times:
            at = local_dose_instant(day, hhmm, zone)
            if after < at <= until and at not in slots:
                slots[at] = (at, day.isoformat(), hhmm)
        day += timedelta(days=1)
    return [slots[at] for at in sorted(slots)]


def adherence(prescription: Prescription, doses: list[MedicationDose]) -> dict:
    """Taken, missed and pending counts, the adherence percentage and the current run of misses."""
    taken = sum(d.status == "taken" for d in doses)
    missed = sum(d.status == "missed" for d in doses)
    pending = sum(d.status == "pending" for d in doses)
    run = 0
    for dose in sorted((d for d in doses if d.status != "pending"), key=lambda d: d.scheduled_at, reverse=True):
        if dose.status != "missed":
            break
        run += 1
    return {
        "prescription_id": str(prescription.id),
        "taken": taken,
        "missed": missed,
        "pending": pending,
        "adherence_percent": round(100 * taken / (taken + missed), 1) if taken + missed else None,
        "consecutive_missed": run,
    }
