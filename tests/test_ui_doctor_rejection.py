"""The admin page in a real browser: a waiting doctor rejected with a reason moves to the Rejected list."""

from __future__ import annotations

import uuid

from beanie import PydanticObjectId
from playwright.async_api import expect

from engage.models.user import User
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.conftest import register
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD


async def test_admin_rejects_a_waiting_doctor_with_a_reason_and_sees_it_under_rejected(api, open_page, db):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    name = f"Dr Refused {tag}"
    doctor = await register(api, "doctor", name=name)
    reason = "We could not confirm your medical licence."

    page = await open_page()
    await page.login("/admin", ADMIN_EMAIL, ADMIN_PASSWORD)
    waiting = page.page.get_by_role("list", name="Doctors waiting for approval").locator(f"li[data-doctor-id='{doctor['id']}']")
    await expect(waiting).to_be_visible()
    # No reason, no rejection: the page says so and the doctor stays waiting.
    await waiting.get_by_role("button", name=f"Reject {name}").click()
    await expect(waiting.get_by_role("alert")).to_contain_text("Say why")
    await waiting.get_by_label(f"Reason to reject {name}").fill(reason)
    await waiting.get_by_role("button", name=f"Reject {name}").click()
    await expect(waiting).to_have_count(0)

    await page.page.get_by_label("Show doctors").select_option("rejected")
    rejected = page.page.get_by_role("list", name="Rejected doctors").locator(f"li[data-doctor-id='{doctor['id']}']")
    await expect(rejected).to_contain_text(name)
    await expect(rejected).to_contain_text(f"Reason: {reason}")
    await expect(rejected.get_by_role("button", name=f"Reject {name}")).to_have_count(0)
    stored = await User.get(PydanticObjectId(doctor["id"]))
    assert stored.approved is False and stored.rejection_reason == reason
