"""The sign-in screen's account flows in a real browser, reading codes and links from the test's
own capture of the emails (the real SendGrid SDK pointed at a local server)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pyotp
from playwright.async_api import expect

from tests.accounts_stack import accounts_stack  # noqa: F401
from tests.accounts_stack import stack_api  # noqa: F401
from tests.accounts_stack import email_text
from tests.accounts_stack import link_token
from tests.accounts_stack import next_message
from tests.accounts_stack import register_on
from tests.accounts_stack import six_digits
from tests.accounts_stack import sms_text
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.clients import unique_email
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.notify_stack import unique_phone
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD

NEW_PASSWORD = "lighthouse-keeper-9"




async def test_forgot_password_then_the_emailed_link_sets_a_new_one(stack_api, accounts_stack, open_page):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    await next_message(provider, user["email"])
    page = await open_page(base_url=accounts_stack.web.url)
    await page.goto("/")
    forgot = page.page.locator("form", has_text="Forgot your password?")
    await forgot.get_by_label("Account email").fill(user["email"])
    await forgot.get_by_role("button", name="Email me a reset link").click()
    await forgot.get_by_text("a reset link is on its way").wait_for()
    token = link_token(email_text(await next_message(provider, user["email"], 2)), "reset-password")

    await page.goto(f"/#reset-password={token}")
    await page.page.reload()  # the hash alone does not reload the app
    reset = page.page.locator("form", has_text="Choose a new password")
    await reset.get_by_label("New password").fill(NEW_PASSWORD)
    await reset.get_by_role("button", name="Set password").click()
    await reset.get_by_text("Your password is set").wait_for()
    assert token not in page.page.url
    await page.login("/", user["email"], NEW_PASSWORD)


async def test_signing_in_with_an_emailed_code(stack_api, accounts_stack, open_page):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    await next_message(provider, user["email"])
    page = await open_page(base_url=accounts_stack.web.url)
    await page.goto("/")
    form = page.page.locator("form", has_text="Sign in with a code")
    await form.get_by_label("Email or mobile phone").fill(user["email"])
    await form.get_by_role("button", name="Send me a code").click()
    code = six_digits(email_text(await next_message(provider, user["email"], 2)))
    await form.get_by_label("Sign-in code").fill(code)
    await form.get_by_role("button", name="Sign in").click()
    await page.page.wait_for_selector("body[data-state=ready]")


async def test_the_second_factor_step_after_the_password(stack_api, accounts_stack, open_page):
    user = await register_on(stack_api)
    account = await login(stack_api, user["email"])
    begin = await stack_api.post("/api/me/mfa/totp", token=account.access_token)
    secret = begin.body["secret"]
    assert (await stack_api.post("/api/me/mfa/totp/confirm", {"code": pyotp.TOTP(secret).now()}, token=account.access_token)).status == 200
    page = await open_page(base_url=accounts_stack.web.url)
    await page.goto("/")
    form = page.page.locator("form.auth").first
    await form.get_by_label("Email").fill(user["email"])
    await form.get_by_label("Password").fill(user["password"])
    await form.get_by_role("button", name="Log in").click()
    step = page.page.locator("form", has_text="Second step")
    totp = pyotp.TOTP(secret)
    await step.get_by_label("Authentication code").fill(totp.at(time.time() + totp.interval))  # the confirm used this step's code
    await step.get_by_role("button", name="Verify").click()
    await page.page.wait_for_selector("body[data-state=ready]")


async def test_account_settings_phone_two_factor_password_export_and_delete(stack_api, accounts_stack, open_page):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    phone = unique_phone()
    page = await open_page(base_url=accounts_stack.web.url)
    await page.login("/", user["email"], user["password"])
    await page.page.get_by_role("tab", name="Account").click()
    panel = page.page.locator("section", has_text="Phone").last

    await panel.get_by_label("Mobile phone").fill(phone)
    await panel.get_by_role("button", name="Text me a code").click()
    code = six_digits(sms_text(await next_message(provider, phone, 1, "twilio")))
    await panel.get_by_label("Code from the SMS").fill(code)
    await panel.get_by_role("button", name="Verify").click()
    await panel.get_by_text(f"{phone} (verified)").wait_for()

    mfa = page.page.locator("section", has_text="Two-factor sign-in")
    await mfa.get_by_role("button", name="Set up an authenticator app").click()
    secret = await mfa.locator("code.totp-secret").inner_text()
    await expect(mfa.locator("img.qr")).to_be_visible()
    await mfa.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await mfa.get_by_role("button", name="Turn on").click()
    await expect(mfa.locator("ul.recovery-codes li")).to_have_count(10)

    password = page.page.locator("section", has_text="Change password")
    await password.get_by_label("Current password").fill(user["password"])
    await password.get_by_label("New password").fill(NEW_PASSWORD)
    await password.get_by_role("button", name="Change password").click()
    await password.get_by_text("Password changed").wait_for()

    data = page.page.locator("section", has_text="Your data")
    async with page.page.expect_download() as download_info:
        await data.get_by_role("button", name="Download my data").click()
    download = await download_info.value
    assert download.suggested_filename == "engage-export.json"
    exported = json.loads(Path(await download.path()).read_text())
    assert exported["user"]["email"] == user["email"] and exported["user"]["phone_verified"] is True

    # Deleting ends the sessions: the live socket's token refresh may be refused on the way out.
    page.expect_console_error(r"status of 401")
    await data.get_by_label("Password to delete the account").fill(NEW_PASSWORD)
    await data.get_by_role("button", name="Delete my account").click()
    await page.page.locator("form.auth").first.wait_for()
    refused = await stack_api.post("/api/auth/login", {"email": user["email"], "password": NEW_PASSWORD})
    assert refused.status == 403 and refused.error_code == "account_deactivated"


async def test_the_admin_approves_a_clinic_application_and_deactivates_a_user(stack_api, accounts_stack, open_page):
    tag = uuid.uuid4().hex[:6]
    body = {
        "clinic": {"name": f"Quay Clinic {tag}", "timezone": "UTC"},
        "applicant": {"name": "Ana Lima", "email": unique_email("applicant"), "password": DEFAULT_PASSWORD},
    }
    assert (await stack_api.post("/api/clinic-applications", body)).status == 201
    patient = await register_on(stack_api, name=f"Listed {tag}")
    page = await open_page(base_url=accounts_stack.web.url)
    await page.login("/admin", ADMIN_EMAIL, ADMIN_PASSWORD)

    await page.page.get_by_role("tab", name="Applications").click()
    application = page.page.locator("li", has_text=f"Quay Clinic {tag}")
    await application.get_by_role("button", name="Approve").click()
    await expect(application).to_have_count(0)
    assert (await stack_api.post("/api/auth/login", {"email": body["applicant"]["email"], "password": DEFAULT_PASSWORD})).status == 200

    await page.page.get_by_role("tab", name="Users").click()
    await page.page.get_by_label("Search users by name or email").fill(tag)
    await page.page.get_by_role("button", name="Search").click()
    row = page.page.locator(f"li[data-user-id='{patient['id']}']")
    await row.get_by_role("button", name="Deactivate").click()
    await expect(page.page.locator(f"li[data-user-id='{patient['id']}']")).to_contain_text("deactivated")
    refused = await stack_api.post("/api/auth/login", {"email": patient["email"], "password": DEFAULT_PASSWORD})
    assert refused.status == 403


async def test_a_clinic_admin_invites_a_receptionist_and_brands_the_clinic(stack_api, accounts_stack, open_page, tmp_path):
    provider = accounts_stack.provider
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    body = {"clinic": {"name": f"Pier Clinic {uuid.uuid4().hex[:6]}", "timezone": "UTC"}, "applicant": {"name": "Ana Lima", "email": unique_email("applicant"), "password": DEFAULT_PASSWORD}}
    applied = await stack_api.post("/api/clinic-applications", body)
    assert (await stack_api.post(f"/api/admin/clinic-applications/{applied.body['application']['id']}/approve", token=admin.access_token)).status == 200
    page = await open_page(base_url=accounts_stack.web.url)
    await page.login("/clinic", body["applicant"]["email"], DEFAULT_PASSWORD)

    desk = unique_email("desk")
    await page.page.get_by_label("Email", exact=True).fill(desk)
    await page.page.get_by_role("button", name="Send invitation").click()
    await expect(page.page.locator("ul.staff-list li", has_text=desk)).to_have_count(1)
    token = link_token(email_text(await next_message(provider, desk)), "reset-password")
    assert (await stack_api.post("/api/auth/password/reset", {"token": token, "password": NEW_PASSWORD})).status == 200

    await page.page.get_by_role("tab", name="Branding").click()
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#0a7f5c"/></svg>')
    await page.page.get_by_label("Logo (PNG or SVG, at most 512 KB)").set_input_files(str(logo))
    await page.page.get_by_role("button", name="Upload logo").click()
    await expect(page.page.locator("img.clinic-logo")).to_be_visible()
    page.expect_console_error(r"status of 422")
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    await page.page.get_by_label("Logo (PNG or SVG, at most 512 KB)").set_input_files(str(logo))
    await page.page.get_by_role("button", name="Upload logo").click()
    await expect(page.page.get_by_text("event attributes")).to_be_visible()
