"""Accounts tests' own stack: a web process and a worker with the real account rules (verified
addresses only, real limits), sending through the real SendGrid and Twilio SDKs to a local
recording server; and helpers that read codes and links from what that server captured."""

from __future__ import annotations

import re

import pytest

from tests.clients import Api
from tests.clients import unique_email
from tests.conftest import DEFAULT_PASSWORD
from tests.notify_stack import Stack
from tests.notify_stack import stack_env
from tests.provider_server import ProviderServer
from tests.provider_server import Recorded
from tests.servers import start_engage
from tests.waiting import wait_until

REDIS_DB = 11

ACCOUNT_RULES = {
    "ENGAGE_REQUIRE_VERIFIED_EMAIL": "true",
    "ENGAGE_REQUIRE_VERIFIED_PHONE": "true",
    "ENGAGE_PASSWORD_FORGOT_LIMIT_PER_EMAIL_HOUR": "5",
    "ENGAGE_OTP_DAILY_LIMIT_PER_DESTINATION": "4",
}


@pytest.fixture(scope="module")
def accounts_stack(request, engage_environment, tmp_root, web):
    """The stack, one per test module, stopped after it; a module may set ACCOUNTS_STACK_ENV
    (a dict of extra environment) to vary a rule. Import the fixture to use it."""
    yield from running_accounts_stack(engage_environment, tmp_root, **getattr(request.module, "ACCOUNTS_STACK_ENV", {}))


@pytest.fixture(scope="module")
async def stack_api(http_session, accounts_stack) -> Api:
    return Api(http_session, accounts_stack.web.url)


def running_accounts_stack(engage_environment: dict[str, str], tmp_root, **extra: str):
    """A generator for a module fixture: the stack, stopped after the module."""
    provider = ProviderServer().start()
    env = stack_env(engage_environment, provider, REDIS_DB, **{**ACCOUNT_RULES, **extra})
    web_proc = start_engage("web", env, tmp_root)
    stack = Stack(provider, env, web_proc, [], tmp_root)
    stack.start("worker")
    try:
        yield stack
    finally:
        for proc in stack.workers:
            proc.stop()
        web_proc.stop()
        provider.stop()


def email_text(message: Recorded) -> str:
    """The plain-text part of a captured SendGrid request."""
    return next(part["value"] for part in message.json["content"] if part["type"] == "text/plain")


def sms_text(message: Recorded) -> str:
    return message.form["Body"]


async def next_message(provider: ProviderServer, to: str, count: int = 1, provider_name: str | None = None) -> Recorded:
    """The count-th message captured for this recipient, waiting for it to arrive."""
    await wait_until(lambda: len(provider.sent_to(to, provider_name)) >= count, what=f"message {count} to {to}")
    return provider.sent_to(to, provider_name)[count - 1]


def link_token(text: str, fragment: str) -> str:
    match = re.search(rf"#{fragment}=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


def six_digits(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, text
    return match.group(1)


async def register_on(api: Api, role: str = "patient", **fields) -> dict:
    body = {
        "email": unique_email(role),
        "password": DEFAULT_PASSWORD,
        "name": f"Test {role.title()}",
        "role": role,
        **fields,
    }
    resp = await api.post("/api/auth/register", body)
    assert resp.status == 201, resp.body
    return {**resp.body["user"], "password": body["password"]}
