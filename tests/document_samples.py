"""Documents the tests make themselves: a PDF with text (fpdf2), a scanned-looking lab report
image (Pillow), a scanned PDF (the image on a page), a PDF bomb, and uploads of them."""

from __future__ import annotations

import io
import random
import zlib

import aiohttp
from fpdf import FPDF
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter
from PIL import ImageFont

from tests.clients import Api
from tests.clients import Response

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LAB_REPORT = [
    "City Laboratory - Patient: Zelda Quartermain, phone +1 415 555 0142",
    "Report on blood tests taken this morning.",
    "HbA1c 7.2 % (4.0-5.6)",
    "Potassium 4.1 mmol/L (3.5-5.1)",
    "Current medication: Metformin 500 mg twice daily.",
    "Impression: glycaemic control is above target; recommend review of diabetes treatment.",
]


def text_pdf(lines: list[str] = LAB_REPORT, pages: int = 1) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for _ in range(pages):
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, line.replace("\u2013", "-"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scanned_image(lines: list[str] = ("Laboratory report", "HbA1c 7.2 %", "Glucose 126 mg/dL (70-99)"), fmt: str = "PNG") -> bytes:
    """A lab report as a scanner would give it: grey paper, a little noise and blur."""
    font = ImageFont.truetype(FONT, 34)
    image = Image.new("L", (1000, 80 + 70 * len(lines)), 235)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((50, 40 + 70 * i), line, fill=20, font=font)
    rng = random.Random(7)
    pixels = image.load()
    for _ in range(image.width * image.height // 200):
        pixels[rng.randrange(image.width), rng.randrange(image.height)] = rng.randrange(150, 255)
    image = image.filter(ImageFilter.GaussianBlur(0.6)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def scanned_pdf(image_bytes: bytes | None = None) -> bytes:
    """A PDF whose only page is an image (no text layer): read by OCR."""
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(image_bytes or scanned_image()), x=10, y=10, w=190)
    return bytes(pdf.output())


def pdf_bomb(decompressed: int = 200_000_000) -> bytes:
    """A small, well-formed PDF whose page content inflates to `decompressed` bytes."""
    stream = zlib.compress(b" " * decompressed, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


async def upload(api: Api, token: str, patient_id: str, data: bytes, filename: str = "report.pdf", content_type: str = "application/octet-stream") -> Response:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type=content_type)
    return await api.request("POST", f"/api/patients/{patient_id}/documents", data=form, token=token)
