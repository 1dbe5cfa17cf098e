"""Reading vitals back: trend buckets (a MongoDB aggregation in the patient's time zone), lists."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from engage.errors import ApiError
from engage.lib.vitals import CANONICAL_UNIT
from engage.models.base import utcnow
from engage.models.user import User
from engage.models.vitals import VitalReading
from schemas.vitals import BucketStats
from schemas.vitals import TrendBucket
from schemas.vitals import TrendOut

# The longest span per bucket size, so one request cannot ask for millions of buckets.
MAX_SPAN = {"hour": timedelta(days=31), "day": timedelta(days=2 * 366), "week": timedelta(days=10 * 366)}
DEFAULT_SPAN = {"hour": timedelta(days=2), "day": timedelta(days=30), "week": timedelta(days=26 * 7)}


def trend_pipeline(patient: User, vital_type: str, start: datetime, end: datetime, bucket: str) -> list[dict]:
    """$dateTrunc with the patient's IANA zone: local midnights and DST shifts are the server's job."""
    trunc: dict = {"date": "$taken_at", "unit": bucket, "timezone": patient.timezone}
    if bucket == "week":
        trunc["startOfWeek"] = "monday"  # ISO weeks
    group: dict = {"_id": {"$dateTrunc": trunc}, "count": {"$sum": 1}}
    if vital_type == "blood_pressure":
        for part in ("systolic", "diastolic"):
            group.update({f"{part}_min": {"$min": f"${part}"}, f"{part}_avg": {"$avg": f"${part}"}, f"{part}_max": {"$max": f"${part}"}})
    else:
        group.update({"min": {"$min": "$value"}, "avg": {"$avg": "$value"}, "max": {"$max": "$value"}})
    return [
        {"$match": {"patient_id": patient.id, "type": vital_type, "taken_at": {"$gte": start, "$lt": end}}},
        {"$group": group},
        {"$sort": {"_id": 1}},
    ]


async def vital_trends(patient: User, vital_type: str, start: datetime | None, end: datetime | None, bucket: str) -> TrendOut:
    end = end or utcnow()
    start = start or end - DEFAULT_SPAN[bucket]
    if start >= end:
        raise ApiError(422, "validation_error", "from must be before to.", field="from")
    if end - start > MAX_SPAN[bucket]:
        raise ApiError(422, "range_too_large", f"A {bucket} trend spans at most {MAX_SPAN[bucket].days} days.", field="from")
    zone = ZoneInfo(patient.timezone)
    buckets: list[TrendBucket] = []
    cursor = await VitalReading.get_pymongo_collection().aggregate(trend_pipeline(patient, vital_type, start, end, bucket))
    async for row in cursor:
        local = row["_id"].astimezone(zone)
        if vital_type == "blood_pressure":
            parts = {p: BucketStats(min=row[f"{p}_min"], avg=round(row[f"{p}_avg"], 2), max=row[f"{p}_max"]) for p in ("systolic", "diastolic")}
            buckets.append(TrendBucket(start=row["_id"], start_local=local.isoformat(), count=row["count"], **parts))
        else:
            buckets.append(TrendBucket(start=row["_id"], start_local=local.isoformat(), count=row["count"],
                                       min=row["min"], avg=round(row["avg"], 2), max=row["max"]))
    return TrendOut(patient_id=str(patient.id), type=vital_type, unit=CANONICAL_UNIT[vital_type], bucket=bucket,
                    timezone=patient.timezone, from_=start, to=end, buckets=buckets)


async def recent_readings(patient: User, vital_type: str | None, start: datetime | None, end: datetime | None, limit: int) -> list[VitalReading]:
    query: dict = {"patient_id": patient.id}
    if vital_type:
        query["type"] = vital_type
    span: dict = {}
    if start:
        span["$gte"] = start
    if end:
        span["$lt"] = end
    if span:
        query["taken_at"] = span
    rows = await VitalReading.find(query).sort(-VitalReading.taken_at).limit(limit).to_list()
    return list(reversed(rows))
