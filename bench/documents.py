"""Documents benchmark: seconds per page for OCR and for PDF text, and upload-to-document:processed latency.

    python bench/documents.py [--pages 10] [--uploads 5]

In-process: the OCR engine's load time, then seconds per page for scanned lab reports (PNG, and
PDF pages that are only an image) and for PDFs with a text layer. End to end: it starts its own
secantus (in memory), redis-server, an Engage web process and a worker, uploads documents over
HTTP as a patient and times each upload until its document:processed arrives on the patient's
socket (the worker forks per job, so every job loads the OCR engine again: that is included).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engage.embedded import start_mongo  # noqa: E402
from engage.embedded import start_redis  # noqa: E402
from engage.lib.document_text import JPEG  # noqa: E402
from engage.lib.document_text import PDF  # noqa: E402
from engage.lib.document_text import PNG  # noqa: E402
from engage.lib.document_text import extract_text  # noqa: E402
from engage.lib.document_text import ocr_engine  # noqa: E402
from tests.document_samples import scanned_image  # noqa: E402
from tests.document_samples import scanned_pdf  # noqa: E402
from tests.document_samples import text_pdf  # noqa: E402
from tests.servers import engage_env  # noqa: E402
from tests.servers import start_engage  # noqa: E402

REPORT = ["Laboratory report", "HbA1c 7.2 % (4.0-5.6)", "Glucose 126 mg/dL (70-99)", "Potassium 4.1 mmol/L (3.5-5.1)", "Creatinine 0.9 mg/dL (0.6-1.2)"]


def per_page(label: str, data: bytes, content_type: str, pages: int, runs: int) -> dict:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        extracted = extract_text(data, content_type)
        times.append(time.perf_counter() - started)
    assert extracted.pages == pages, (label, extracted.pages)
    return {"what": label, "pages": pages, "seconds_per_page": round(min(times) / pages, 4), "method": extracted.method}


def in_process(pages: int) -> list[dict]:
    started = time.perf_counter()
    ocr_engine()
    load = time.perf_counter() - started
    rows = [{"what": "OCR engine load (once per process)", "pages": 0, "seconds_per_page": round(load, 3), "method": "-"}]
    rows.append(per_page("scanned lab report, PNG 1000x430", scanned_image(REPORT), PNG, 1, 3))
    rows.append(per_page("scanned lab report, JPEG", scanned_image(REPORT, fmt="JPEG"), JPEG, 1, 3))
    rows.append(per_page("PDF whose page is a scan", scanned_pdf(scanned_image(REPORT)), PDF, 1, 3))
    rows.append(per_page(f"PDF with text, {pages} pages", text_pdf(REPORT * 4, pages=pages), PDF, pages, 3))
    return rows


async def end_to_end(base_url: str, uploads: int) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
        account = {"email": email, "password": "correct-horse-42", "name": "Bench Patient", "role": "patient"}
        async with http.post(f"{base_url}/api/auth/register", json=account) as resp:
            assert resp.status == 201, await resp.text()
        async with http.post(f"{base_url}/api/auth/login", json={"email": email, "password": account["password"]}) as resp:
            login = await resp.json()
        token, patient_id = login["access_token"], login["user"]["id"]
        sock = socketio.AsyncClient(reconnection=False)
        arrived: dict[str, float] = {}
        waiters: dict[str, asyncio.Event] = {}

        @sock.on("document:processed")
        async def processed(data: dict) -> None:
            arrived[data["document"]["id"]] = time.perf_counter()
            waiters.setdefault(data["document"]["id"], asyncio.Event()).set()

        await sock.connect(base_url, auth={"token": token}, transports=["websocket"])
        rows = []
        try:
            for label, data, name in (("PDF with text, 1 page", text_pdf(REPORT), "report.pdf"), ("scanned PNG", scanned_image(REPORT), "scan.png")):
                latencies = []
                for _ in range(uploads):
                    form = aiohttp.FormData()
                    form.add_field("file", data, filename=name)
                    started = time.perf_counter()
                    async with http.post(f"{base_url}/api/patients/{patient_id}/documents", data=form, headers={"Authorization": f"Bearer {token}"}) as resp:
                        body = await resp.json()
                        assert resp.status == 201, body
                    document_id = body["document"]["id"]
                    await asyncio.wait_for(waiters.setdefault(document_id, asyncio.Event()).wait(), 300)
                    latencies.append(arrived[document_id] - started)
                rows.append({"what": label, "uploads": uploads, "median_s": round(statistics.median(latencies), 2), "max_s": round(max(latencies), 2)})
        finally:
            await sock.disconnect()
        return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10, help="pages of the text PDF")
    parser.add_argument("--uploads", type=int, default=5, help="uploads of each kind, end to end")
    args = parser.parse_args()

    rows = in_process(args.pages)
    print("\n| in process | pages | seconds per page | method |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['what']} | {r['pages']} | {r['seconds_per_page']} | {r['method']} |", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-documents-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(tmp / "redis")
    env = engage_env(mongo.url, redis.url, ENGAGE_DB_NAME="engage_bench_documents")
    web = start_engage("web", env, tmp)
    worker = start_engage("worker", env, tmp)
    try:
        latency = asyncio.run(end_to_end(web.url, args.uploads))
    finally:
        worker.stop()
        web.stop()
        redis.stop()
        mongo.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n| upload to document:processed | uploads | median s | max s |")
    print("|---|---|---|---|")
    for r in latency:
        print(f"| {r['what']} | {r['uploads']} | {r['median_s']} | {r['max_s']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
