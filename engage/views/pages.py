"""The browser UI's pages: the patient app, the doctor console and the admin page.

The HTML shells load plain ES modules from /static; there is no build step.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint
from quart import Response
from quart import send_from_directory

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

blueprint = Blueprint("pages", __name__)

# Same-origin scripts only. Chart.js draws on canvas, no inline styles needed. connect-src 'self'
# also covers websockets to this origin (CSP3; `ws: wss:` would let a script reach any host).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


async def _page(name: str) -> Response:
    response = await send_from_directory(STATIC_DIR, name)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@blueprint.get("/")
async def patient_app() -> Response:
    return await _page("index.html")


@blueprint.get("/console")
async def doctor_console() -> Response:
    return await _page("console.html")


@blueprint.get("/admin")
async def admin_page() -> Response:
    return await _page("admin.html")


@blueprint.get("/clinic")
async def clinic_page() -> Response:
    return await _page("clinic.html")


@blueprint.get("/pharmacy")
async def pharmacy_desk() -> Response:
    return await _page("pharmacy.html")


@blueprint.get("/frontdesk")
async def front_desk() -> Response:
    return await _page("frontdesk.html")
