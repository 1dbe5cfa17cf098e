"""Inbound SMS replies: capabilities register handlers (booking: C/YES confirms, X/CANCEL cancels)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from collections.abc import Callable

from engage.models.user import User

log = logging.getLogger(__name__)

ReplyHandler = Callable[[User, str], Awaitable[str | None]]

# Asked in registration order; the first handler returning a text took the reply.
reply_handlers: list[ReplyHandler] = []


def register_reply_handler(handler: ReplyHandler) -> ReplyHandler:
    """Register `async def handler(user, text) -> str | None` (usable as a decorator); None means not mine."""
    if handler not in reply_handlers:
        reply_handlers.append(handler)
    return handler


async def dispatch_reply(user: User, text: str) -> str | None:
    """Offer a reply to each handler; the confirmation text of the first that takes it, else None."""
    for handler in list(reply_handlers):
        try:
            answer = await handler(user, text)
        except Exception:
            # One broken handler must not stop the others, nor turn Twilio's webhook into retries.
            log.exception("SMS reply handler %r failed", handler)
            continue
        if answer:
            return answer
    return None
