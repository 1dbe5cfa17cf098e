"""Beanie documents, one module per aggregate.

DOCUMENT_MODELS is the one list handed to Beanie; a new aggregate adds itself here.
"""

from engage.models.audit import AuditEvent
from engage.models.auth import RefreshTokenFamily
from engage.models.conversation import Conversation
from engage.models.message import Message
from engage.models.notification import InboundSms
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.notification import SmsOptOut
from engage.models.user import User

DOCUMENT_MODELS: list[type] = [
    User,
    RefreshTokenFamily,
    AuditEvent,
    Conversation,
    Message,
    Notification,
    NotificationPreferences,
    SmsOptOut,
    InboundSms,
]
