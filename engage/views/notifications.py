"""Notification preferences (/api/me/preferences) and the admin outbox (/api/admin/outbox, sms-replies)."""

from __future__ import annotations

from beanie import PydanticObjectId
from quart import Blueprint

from engage.actions.notification_preferences import do_update_preferences
from engage.actions.notifications import do_retry_notification
from engage.lib.notification_output import inbound_sms_out
from engage.lib.notification_output import notification_out
from engage.lib.notification_output import preferences_out
from engage.models.notification import InboundSms
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.notifications import OutboxQuery
from schemas.notifications import PreferencesIn
from schemas.notifications import SmsRepliesQuery

blueprint = Blueprint("notifications", __name__)


@blueprint.get("/api/me/preferences")
async def get_preferences():
    user = current_user()
    prefs = await NotificationPreferences.find_one({"user_id": user.id})
    return {"preferences": await preferences_out(user, prefs)}


@blueprint.put("/api/me/preferences")
async def put_preferences():
    change = await read_json(PreferencesIn)
    user = current_user()
    return {"preferences": await preferences_out(user, await do_update_preferences(user, change))}


@blueprint.get("/api/admin/outbox")
async def outbox():
    query = read_query(OutboxQuery)
    filters: dict = {}
    if query.status:
        filters["status"] = query.status
    if query.kind:
        filters["kind"] = query.kind
    if query.recipient:
        filters["recipient_id"] = PydanticObjectId(query.recipient)
    found = await Notification.find(filters).sort("-created_at").limit(query.limit).to_list()
    return {"notifications": [notification_out(n) for n in found]}


@blueprint.post("/api/admin/outbox/<notification_id>/retry")
async def retry(notification_id: str):
    return {"notification": notification_out(await do_retry_notification(notification_id))}


@blueprint.get("/api/admin/sms-replies")
async def sms_replies():
    query = read_query(SmsRepliesQuery)
    found = await InboundSms.find({"outcome": query.outcome}).sort("-received_at").limit(query.limit).to_list()
    return {"replies": [inbound_sms_out(s) for s in found]}
