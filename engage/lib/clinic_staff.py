"""Clinic-scoped roles: is this user staff of the clinic in the path? (Platform admins always are.)"""

from __future__ import annotations

from engage.errors import forbidden
from engage.models.user import Role
from engage.models.user import User

CLINIC_ADMIN_ROLES = frozenset({Role.clinic_admin})
FRONT_DESK_ROLES = frozenset({Role.clinic_admin, Role.receptionist})
PHARMACY_ROLES = frozenset({Role.pharmacist})
STAFF_ROLES = (Role.clinic_admin.value, Role.receptionist.value, Role.pharmacist.value)


def is_clinic_staff(user: User, clinic_id: str, roles: frozenset[Role]) -> bool:
    if user.role == Role.admin:
        return True
    return user.role in roles and user.clinic_id is not None and str(user.clinic_id) == str(clinic_id)


def check_clinic_scope(user: User, clinic_id: str, roles: frozenset[Role] = CLINIC_ADMIN_ROLES) -> None:
    """403 unless the user holds one of these roles at this clinic (or is a platform admin)."""
    if not is_clinic_staff(user, clinic_id, roles):
        raise forbidden("Only this clinic's staff may do this.")
