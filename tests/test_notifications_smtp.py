"""Email through SMTP (aiosmtplib) to a local aiosmtpd server, from a real worker process."""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest
from aiosmtpd.controller import Controller

from engage.actions.notifications import request_notification
from engage.embedded import free_port
from tests.notify_stack import redis_db_url
from tests.notify_stack import redis_of
from tests.servers import start_engage
from tests.test_notifications_delivery import wait_status

REDIS_DB = 4


class RecordingHandler:
    """Records each message; answers scripted SMTP codes per recipient first."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.attempts: list[str] = []
        self.scripts: dict[str, list[str]] = {}

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0]
        self.attempts.append(rcpt)
        script = self.scripts.get(rcpt)
        if script:
            return script.pop(0)
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture(scope="module")
def smtp():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture(scope="module")
async def smtp_worker(smtp, engage_environment, tmp_root, db, settings):
    _, port = smtp
    env = {
        **engage_environment,
        "REDIS_URL": redis_db_url(engage_environment["REDIS_URL"], REDIS_DB),
        "ENGAGE_EMAIL_PROVIDER": "smtp",
        "ENGAGE_SMTP_HOST": "127.0.0.1",
        "ENGAGE_SMTP_PORT": str(port),
        "ENGAGE_EMAIL_FROM": "North Clinic <clinic@north.example.org>",
        "ENGAGE_NOTIFICATION_RETRY_BASE_SECONDS": "0.2",
        "ENGAGE_NOTIFICATION_MAX_ATTEMPTS": "3",
        "ENGAGE_WORKER_CLASS": "simple",
    }
    proc = start_engage("worker", env, tmp_root)
    async with redis_of(settings, env["REDIS_URL"]):
        yield proc
    proc.stop()


async def test_email_goes_out_over_smtp_with_text_and_html(smtp, smtp_worker, make_patient):
    handler, _ = smtp
    patient = await make_patient(timezone="Asia/Tokyo")
    (n,) = await request_notification(recipient_id=patient.id, kind="missed_messages", idempotency_key=f"smtp:{uuid.uuid4().hex}",
                                      context={"count": 2, "sender_name": "Dr Ada Heart", "conversation_id": "c"})
    sent = await wait_status(n.id, {"sent"})
    (rcpts, raw), = [m for m in handler.messages if m[0] == [patient.email]]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["From"] == "North Clinic <clinic@north.example.org>"
    assert message["To"] == patient.email
    assert message["Subject"] == "2 unread messages from Dr Ada Heart"
    assert message["Message-ID"] == f"<notification-{n.id}@engage>" == sent.provider_message_id
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "You have 2 unread messages from Dr Ada Heart. Open Engage to read them." in text
    assert "<p>You have 2 unread messages from Dr Ada Heart. Open Engage to read them.</p>" in html


async def test_smtp_4xx_is_retried_and_5xx_fails(smtp, smtp_worker, make_patient):
    handler, _ = smtp
    flaky, broken = await make_patient(), await make_patient()
    handler.scripts[flaky.email] = ["451 Try again later"]
    handler.scripts[broken.email] = ["550 No such mailbox"]
    (a,) = await request_notification(recipient_id=flaky.id, kind="advice_ready", idempotency_key=f"smtp:{uuid.uuid4().hex}", context={"advice_id": "x"})
    (b,) = await request_notification(recipient_id=broken.id, kind="advice_ready", idempotency_key=f"smtp:{uuid.uuid4().hex}", context={"advice_id": "x"})
    assert (await wait_status(a.id, {"sent"})).attempts == 2
    failed = await wait_status(b.id, {"failed"})
    assert failed.attempts == 1 and failed.last_error.startswith("smtp 550")
    assert handler.attempts.count(flaky.email) == 2 and handler.attempts.count(broken.email) == 1
