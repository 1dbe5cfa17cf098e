"""Recording who looked at whose health data."""

from __future__ import annotations

from beanie import PydanticObjectId

from engage.models.audit import AuditEvent
from engage.models.base import utcnow
from engage.models.care import CareRelation
from engage.models.care import CareSource
from engage.models.user import User


async def record_health_data_access(actor_id: str, actor_role: str, subject_id: str, action: str, resource: str) -> None:
    """Audit one access by actor to subject's health data; self-access is not recorded.

    While the actor holds emergency access to the subject, the entry is flagged and carries its reason.
    """
    if str(actor_id) == str(subject_id):
        return
    actor, subject = PydanticObjectId(str(actor_id)), PydanticObjectId(str(subject_id))
    emergency = await CareRelation.find_one(
        {"doctor_id": actor, "patient_id": subject, "source": CareSource.emergency.value, "ended_at": None, "until": {"$gt": utcnow()}}
    )
    await AuditEvent(
        actor_id=actor,
        actor_role=actor_role,
        subject_id=subject,
        action=action,
        resource=resource,
        emergency=emergency is not None,
        reason=emergency.reason if emergency else None,
    ).insert()


async def record_staff_access(actor_id: str, actor_role: str, subject_ids: list[str], action: str, resource: str) -> None:
    """Audit clinic staff (front desk) seeing several patients at once: one entry per patient, one write.

    Staff never hold emergency access, so no entry is flagged.
    """
    subjects = sorted({str(s) for s in subject_ids if str(s) != str(actor_id)})
    if not subjects:
        return
    actor = PydanticObjectId(str(actor_id))
    await AuditEvent.insert_many(
        [AuditEvent(actor_id=actor, actor_role=actor_role, subject_id=PydanticObjectId(s), action=action, resource=resource) for s in subjects]
    )


async def record_clinic_event(actor: User, subject_id: PydanticObjectId, action: str, clinic_id: PydanticObjectId, reason: str | None = None) -> None:
    """Audit a decision about a clinic's membership (resource "clinic:<id>", so the clinic's log shows it)."""
    await AuditEvent(actor_id=actor.id, actor_role=actor.role.value, subject_id=subject_id, action=action, resource=f"clinic:{clinic_id}", reason=reason).insert()
