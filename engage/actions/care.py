"""Care relations: created by a patient's conversation, an admin, or emergency access; ended by an
admin or by time; and the audit log read back by the patient and the admins."""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId

from engage.actions.notifications import request_notification
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import not_found
from engage.events import publish_to_users
from engage.events import remove_user_from_room
from engage.events.vitals import vitals_room
from engage.lib.care import CareLink
from engage.lib.care import care_links
from engage.lib.care import is_care_related
from engage.lib.users import access_user
from engage.models.audit import AuditEvent
from engage.models.base import utcnow
from engage.models.care import CareRelation
from engage.models.care import CareSource
from engage.models.user import Role
from engage.models.user import User
from schemas.care import AuditEntryOut
from schemas.care import AuditPage
from schemas.care import CareRelationOut
from schemas.care import EmergencyAccessEvent
from schemas.users import PublicUserOut

log = logging.getLogger(__name__)

EMERGENCY_ACCESS_EVENT = "care:emergency_access"


def _public(user: User | None) -> PublicUserOut | None:
    return PublicUserOut(id=str(user.id), name=user.name, role=user.role.value) if user else None


async def _users_by_id(ids: set[str]) -> dict[str, User]:
    oids = [PydanticObjectId(i) for i in ids]
    return {str(u.id): u for u in await User.find({"_id": {"$in": oids}}).to_list()} if oids else {}


def _relation_out(relation: CareRelation, doctor: User) -> CareRelationOut:
    return CareRelationOut(
        id=str(relation.id), patient_id=str(relation.patient_id), doctor=_public(doctor), source=relation.source.value,
        since=relation.since, until=relation.until, reason=relation.reason, ended_at=relation.ended_at,
    )


async def do_relate_through_conversation(patient_id: PydanticObjectId, doctor_id: PydanticObjectId) -> None:
    """The patient opened a conversation with the doctor: the doctor joins their care team (once)."""
    open_one = {"patient_id": patient_id, "doctor_id": doctor_id, "source": CareSource.conversation.value, "ended_at": None}
    if await CareRelation.find_one(open_one) is None:
        await CareRelation(patient_id=patient_id, doctor_id=doctor_id, source=CareSource.conversation, granted_by=patient_id).insert()


async def check_emergency_access(doctor: User, patient_id: str, reason: str) -> CareRelationOut:
    """Break glass: a doctor with no relation gets 24 h of access, flagged, and the patient and admins are told."""
    patient = await access_user(patient_id, Role.patient, what="Patient")
    now = utcnow()
    relation = CareRelation(
        patient_id=patient.id, doctor_id=doctor.id, source=CareSource.emergency, since=now,
        until=now + timedelta(hours=get_settings().emergency_access_hours), reason=reason, granted_by=doctor.id,
    )
    await relation.insert()
    await AuditEvent(
        actor_id=doctor.id, actor_role=doctor.role.value, subject_id=patient.id, action="care.emergency_access",
        resource=f"care_relation:{relation.id}", reason=reason, emergency=True,
    ).insert()
    log.warning("emergency access to patient %s by doctor %s (relation %s)", patient.id, doctor.id, relation.id)
    out = _relation_out(relation, doctor)
    await publish_to_users(EMERGENCY_ACCESS_EVENT, EmergencyAccessEvent(relation=out), [str(patient.id)])
    context = {"doctor_name": doctor.name, "until": relation.until.isoformat()}
    await request_notification(
        recipient_id=str(patient.id), kind="emergency_access", idempotency_key=f"emergency_access:{relation.id}", context=context, critical=True
    )
    for admin in await User.find({"role": Role.admin.value}).to_list():
        await request_notification(
            recipient_id=str(admin.id), kind="emergency_access_review", idempotency_key=f"emergency_access:{relation.id}:{admin.id}",
            context={**context, "relation_id": str(relation.id)}, critical=True,
        )
    return out


async def check_assign_relation(admin: User, patient_id: str, doctor_id: str, reason: str | None) -> CareRelationOut:
    """An admin puts a doctor in a patient's care team (until an admin ends it)."""
    patient = await access_user(patient_id, Role.patient, what="Patient")
    doctor = await access_user(doctor_id, Role.doctor, what="Doctor")
    if not doctor.approved:
        raise ApiError(409, "doctor_not_approved", "This doctor has not been approved yet.", field="doctor_id")
    relation = CareRelation(patient_id=patient.id, doctor_id=doctor.id, source=CareSource.assigned, reason=reason, granted_by=admin.id)
    await relation.insert()
    return _relation_out(relation, doctor)


async def check_end_relation(admin: User, relation_id: str, reason: str | None) -> CareRelationOut:
    """An admin ends a stored relation; the doctor's sockets stop following the patient at once."""
    relation = await CareRelation.get(PydanticObjectId(relation_id)) if PydanticObjectId.is_valid(relation_id) else None
    if relation is None:
        raise not_found("Care relation")
    if relation.ended_at is None:
        await CareRelation.get_pymongo_collection().update_one(
            {"_id": relation.id, "ended_at": None}, {"$set": {"ended_at": utcnow(), "ended_by": admin.id, "ended_reason": reason}}
        )
        relation = await CareRelation.get(relation.id)
        await do_care_may_have_ended(str(relation.patient_id), str(relation.doctor_id))
    return _relation_out(relation, await access_user(str(relation.doctor_id)))


async def do_care_may_have_ended(patient_id: str, doctor_id: str) -> None:
    """After a relation ended or an appointment was cancelled: if nothing else relates the doctor to
    the patient any more, every socket of the doctor leaves the patient's rooms, on every process."""
    if not await is_care_related(doctor_id, patient_id):
        await remove_user_from_room(doctor_id, vitals_room(patient_id))


async def do_end_expired_relations(now: datetime | None = None, batch: int = 500) -> int:
    """Mark relations whose time ran out (emergency access) as ended, and take the doctors' sockets
    out of the patients' rooms; returns how many ended. Run by a periodic job."""
    now = now or utcnow()
    expired = await CareRelation.find({"ended_at": None, "until": {"$ne": None, "$lte": now}}).limit(batch).to_list()
    ended = 0
    for relation in expired:
        result = await CareRelation.get_pymongo_collection().update_one(
            {"_id": relation.id, "ended_at": None}, {"$set": {"ended_at": relation.until, "ended_reason": "expired"}}
        )
        if result.modified_count:
            ended += 1
            await do_care_may_have_ended(str(relation.patient_id), str(relation.doctor_id))
    return ended


async def care_team_out(patient_id: str) -> list[CareRelationOut]:
    """The patient's current care team: one entry per reason a doctor has access."""
    links: list[CareLink] = await care_links(patient_id)
    doctors = await _users_by_id({link.doctor_id for link in links})
    return [
        CareRelationOut(
            id=link.relation_id, patient_id=patient_id, doctor=_public(doctors.get(link.doctor_id)) or PublicUserOut(id=link.doctor_id, name="", role="doctor"),
            source=link.source.value, since=link.since, until=link.until, reason=link.reason,
        )
        for link in sorted(links, key=lambda link: link.since, reverse=True)
    ]


async def audit_page(filters: dict[str, Any], limit: int, before: datetime | None) -> AuditPage:
    """Audit entries, newest first, a page at a time (`before` is the previous page's last `at`)."""
    query = dict(filters)
    if before is not None:
        query["at"] = {"$lt": before}
    rows = await AuditEvent.find(query).sort(-AuditEvent.at).limit(limit).to_list()
    actors = await _users_by_id({str(r.actor_id) for r in rows})
    entries = [
        AuditEntryOut(
            at=r.at, actor=_public(actors.get(str(r.actor_id))), subject_id=str(r.subject_id), action=r.action,
            resource=r.resource, reason=r.reason, emergency=r.emergency,
        )
        for r in rows
    ]
    return AuditPage(entries=entries, next_before=rows[-1].at if len(rows) == limit else None)


def audit_filters(actor_id: str | None, subject_id: str | None, action: str | None, emergency: bool | None) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if actor_id:
        filters["actor_id"] = PydanticObjectId(actor_id)
    if subject_id:
        filters["subject_id"] = PydanticObjectId(subject_id)
    if action:
        filters["action"] = action
    if emergency is not None:
        filters["emergency"] = True if emergency else {"$ne": True}
    return filters
