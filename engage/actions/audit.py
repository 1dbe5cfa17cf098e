"""Recording who looked at whose health data."""

from __future__ import annotations

from beanie import PydanticObjectId

from engage.models.audit import AuditEvent


async def record_health_data_access(actor_id: str, actor_role: str, subject_id: str, action: str, resource: str) -> None:
    """Audit one access by actor to subject's health data; self-access is not recorded."""
    if str(actor_id) == str(subject_id):
        return
    await AuditEvent(
        actor_id=PydanticObjectId(str(actor_id)),
        actor_role=actor_role,
        subject_id=PydanticObjectId(str(subject_id)),
        action=action,
        resource=resource,
    ).insert()
