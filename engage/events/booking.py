"""Room names of the booking capability."""

from __future__ import annotations


def schedule_room(resource_id: str) -> str:
    """Sockets watching one doctor's (or test centre's) slots join this room."""
    return f"schedule:{resource_id}"
