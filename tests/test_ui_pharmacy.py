"""The pharmacy in a real browser: an order from the cart to collected, live on both sides, and an
out-of-stock checkout; the patient's risk tab explains a score in plain words."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime

from playwright.async_api import expect

from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.pharmacy_support import add_item
from tests.pharmacy_support import make_pharmacy


async def open_pharmacy_tab(open_page, patient, pharmacy, query: str):
    page = await open_page()
    await page.login("/", patient.email)
    await page.wait_socket()
    await page.page.get_by_role("tab", name="Pharmacy").click()
    await page.page.locator("#pharmacy-clinic").select_option(pharmacy.clinic_id)
    await page.page.locator("#pharmacy-search").fill(query)
    return page


async def test_an_order_from_cart_to_collected_updates_live(api, admin, make_doctor, make_patient, open_page, db):  # noqa: F811
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    name = f"Cetirizine {uuid.uuid4().hex[:5]}"
    item = await add_item(api, pharmacy, name=name, strength="10 mg", price="3.20", stock=5)
    patient = await make_patient()
    shop = await open_pharmacy_tab(open_page, patient, pharmacy, name)
    row = shop.page.locator(f".pharmacy-item[data-item='{item['id']}']")
    await row.get_by_role("button", name="Add").click()
    await row.get_by_role("button", name="Add").click()
    await expect(shop.page.locator(".cart-total")).to_contain_text("Total: 6.40 USD")
    await shop.page.get_by_role("button", name="Place order (pay at pickup)").click()
    order = shop.page.locator(".my-orders .order").first
    await expect(order.locator(".order-status")).to_have_text("Placed")

    desk = await open_page()
    await desk.login(f"/pharmacy?clinic={pharmacy.clinic_id}", pharmacy.pharmacist.email)
    await desk.wait_socket()
    placed = desk.page.locator(".desk-state[data-state=placed] .order")
    await expect(placed).to_contain_text(name)
    await expect(desk.page.locator(f".stock-item[data-item='{item['id']}']")).to_contain_text("3 available, 2 reserved")
    await placed.get_by_role("button", name="Ready").click()
    await expect(order.locator(".order-status")).to_have_text("Ready for pickup")
    await desk.page.locator(".desk-state[data-state=ready] .order").get_by_role("button", name="Collected").click()
    await expect(order.locator(".order-status")).to_have_text("Collected")
    await expect(desk.page.locator(f".stock-item[data-item='{item['id']}']")).to_contain_text("3 available, 0 reserved")
    await shop.screenshot("pharmacy-order-collected")


async def test_an_out_of_stock_checkout_names_the_item_and_keeps_the_cart(api, admin, make_doctor, make_patient, open_page, db):  # noqa: F811
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    name = f"Loratadine {uuid.uuid4().hex[:5]}"
    item = await add_item(api, pharmacy, name=name, stock=1)
    patient = await make_patient()
    shop = await open_pharmacy_tab(open_page, patient, pharmacy, name)
    row = shop.page.locator(f".pharmacy-item[data-item='{item['id']}']")
    await row.get_by_role("button", name="Add").click()
    await expect(shop.page.locator(".cart-line")).to_contain_text(f"1 × {name}")
    await row.get_by_role("button", name="Add").click()
    await expect(shop.page.locator(".cart-line")).to_contain_text(f"2 × {name}")
    shop.expect_console_error("409")
    await shop.page.get_by_role("button", name="Place order (pay at pickup)").click()
    await expect(shop.page.locator("#panel-pharmacy .error")).to_contain_text(f"Not enough in stock: {name} (1 left)")
    await expect(shop.page.locator(".cart-line")).to_contain_text(f"2 × {name}")
    await expect(shop.page.locator(".my-orders .order")).to_have_count(0)


async def test_the_risk_tab_explains_a_score_after_the_questionnaire(make_patient, open_page, api, db):  # noqa: F811
    patient = await make_patient()
    weight = {"type": "weight", "value": 87.5, "taken_at": datetime.now(UTC).isoformat()}
    assert (await api.post("/api/vitals", weight, token=patient.access_token)).status == 201
    page = await open_page()
    await page.login("/", patient.email)
    await page.page.get_by_role("tab", name="My risk").click()
    findrisc = page.page.locator(".risk-card[data-score=findrisc]")
    await expect(findrisc).to_contain_text("cannot be worked out yet")
    form = page.page.locator("form.risk-questions")
    await form.get_by_label("Date of birth").fill("1975-01-01")
    for label, value in (("Sex", "male"), ("Active at least", "false"), ("Vegetables", "true"), ("Ever taken", "false"), ("Ever been told", "false"), ("Family", "first_degree")):
        await form.get_by_label(label).select_option(value)
    await form.get_by_label("Height (cm)").fill("180")
    await form.get_by_label("Waist (cm, at the navel)").fill("100")
    await form.get_by_role("button", name="Save answers").click()
    await expect(findrisc.locator(".risk-value")).to_have_text("13 points")
    await expect(findrisc).to_contain_text("develop type 2 diabetes within 10 years")


async def test_the_console_shows_the_risk_scores_beside_the_vitals(api, make_patient, make_doctor, open_page, db):  # noqa: F811
    """The 2013 guideline's example patient: the doctor sees 2.1% and where each input came from."""
    patient, doctor = await make_patient(), await make_doctor()
    conv = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert conv.status == 201, conv.body
    born = f"{datetime.now(UTC).year - 55}-01-01"  # 55 on any day of the year
    answers = {"birth_date": born, "sex": "female", "race_group": "white", "smoker": False}
    assert (await api.put("/api/me/risk-answers", answers, token=patient.access_token)).status == 200
    for name, value in (("Total cholesterol", 213), ("HDL cholesterol", 50)):
        lab = {"test_name": name, "value": value, "unit": "mg/dL", "taken_at": datetime.now(UTC).isoformat()}
        assert (await api.post(f"/api/patients/{patient.id}/lab-results", lab, token=doctor.access_token)).status == 201
    bp = {"type": "blood_pressure", "systolic": 120, "diastolic": 78, "taken_at": datetime.now(UTC).isoformat()}
    assert (await api.post("/api/vitals", bp, token=patient.access_token)).status == 201
    console = await open_page()
    await console.login("/console", doctor.email)
    await console.wait_socket()
    await console.page.locator(f"button.conversation[data-conversation-id='{conv.body['conversation']['id']}']").click()
    ascvd = console.page.locator(".risk-summary .risk-score[data-score=ascvd_pce]")
    await expect(ascvd).to_contain_text("2.1% (low)")
    await expect(ascvd).to_contain_text("total cholesterol: 213 (lab result")
    await expect(ascvd).to_contain_text("Goff")
