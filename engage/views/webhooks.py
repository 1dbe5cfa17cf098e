"""Provider webhooks: Twilio inbound SMS and status callbacks, SendGrid's signed event webhook.

Every request is verified before anything is read into the database: Twilio's signature against
ENGAGE_PUBLIC_URL + path with twilio's RequestValidator, SendGrid's with the SDK's EventWebhook.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from quart import Blueprint
from quart import Response
from quart import request
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from engage.actions.notification_webhooks import do_apply_sendgrid_events
from engage.actions.notification_webhooks import do_apply_twilio_status
from engage.actions.sms_replies import handle_inbound_sms
from engage.config import get_settings
from engage.errors import ApiError

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _twiml(message: str | None) -> Response:
    body = "<Response>" + (f"<Message>{escape(message)}</Message>" if message else "") + "</Response>"
    return Response('<?xml version="1.0" encoding="UTF-8"?>' + body, mimetype="application/xml")


async def _verified_twilio_form():
    settings = get_settings()
    if not (settings.public_url and settings.twilio_auth_token):
        raise ApiError(403, "webhook_not_configured", "Twilio webhooks need ENGAGE_PUBLIC_URL and ENGAGE_TWILIO_AUTH_TOKEN.")
    form = await request.form
    query = request.query_string.decode()
    url = settings.public_url.rstrip("/") + request.path + (f"?{query}" if query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        raise ApiError(403, "invalid_signature", "The Twilio signature does not match this request.")
    return form


def _required(form, name: str) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise ApiError(422, "validation_error", f"{name} is required.", field=name)
    return value


@blueprint.post("/twilio/sms")
async def twilio_sms():
    form = await _verified_twilio_form()
    reply = await handle_inbound_sms(_required(form, "MessageSid"), _required(form, "From"), form.get("Body") or "", get_settings().clinic_contact)
    return _twiml(reply)


@blueprint.post("/twilio/status")
async def twilio_status():
    form = await _verified_twilio_form()
    await do_apply_twilio_status(_required(form, "MessageSid"), _required(form, "MessageStatus").lower(), form.get("ErrorCode"))
    return Response("", status=204)


@blueprint.post("/sendgrid/events")
async def sendgrid_events():
    settings = get_settings()
    if not settings.sendgrid_webhook_public_key:
        raise ApiError(403, "webhook_not_configured", "SendGrid's event webhook needs ENGAGE_SENDGRID_WEBHOOK_PUBLIC_KEY.")
    raw = await request.get_data(as_text=False)
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    try:
        payload = raw.decode("utf-8")
        verifier = EventWebhook(settings.sendgrid_webhook_public_key)
        valid = bool(signature and timestamp) and verifier.verify_signature(payload, signature, timestamp)
    except (ValueError, UnicodeDecodeError, TypeError):
        valid = False
    if not valid:
        raise ApiError(403, "invalid_signature", "The SendGrid event webhook signature does not match this request.")
    try:
        events = json.loads(payload)
    except json.JSONDecodeError:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(events, list):
        raise ApiError(422, "validation_error", "The body must be a JSON array of events.", field="body")
    return {"updated": await do_apply_sendgrid_events(events)}
