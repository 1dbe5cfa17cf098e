"""What a document is and what it says: type sniffing, upload checks, text (PDF text and OCR),
lab values and medication names found in it, an extractive summary, and redaction before an LLM.

The type comes from the bytes, never from the name. Every check that parses a file runs under
explicit limits (pages, pixels, decompressed bytes), so a PDF bomb or a decompression bomb is a
rejected upload, not a stuck process. OCR is RapidOCR on ONNX Runtime, whose models ship in its
wheel: it works offline on a fresh machine.
"""

from __future__ import annotations

import io
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pypdf
from PIL import Image
from pypdf.errors import PyPdfError

from engage.lib.records_labs import known_test

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
ACCEPTED_TYPES = (PDF, PNG, JPEG)
MAX_PAGES = 50
MAX_PIXELS = 40_000_000  # an image (or a page image) larger than this is refused as a decompression bomb
MAX_STREAM_BYTES = 20_000_000  # one decompressed PDF stream
MAX_CONTENT_BYTES = 50_000_000  # all pages' decompressed content streams together
MAX_TEXT_CHARS = 200_000
OCR_MAX_SIDE = 2000  # larger images are scaled down before OCR (text stays readable, time stays bounded)
OCR_IMAGES_PER_PAGE = 3
MIN_PAGE_TEXT = 20  # a PDF page with less text than this is taken as scanned, and its images are read by OCR

PDF_LIMITS = {
    "zlib_maximum_output_length": MAX_STREAM_BYTES,
    "lzw_maximum_output_length": MAX_STREAM_BYTES,
    "run_length_maximum_output_length": MAX_STREAM_BYTES,
    "brotli_maximum_output_length": MAX_STREAM_BYTES,
    "jbig2_maximum_output_length": MAX_STREAM_BYTES,
    "image_maximum_buffer_size": MAX_PIXELS * 4,
    "stream_decoding_work_maximum_length": MAX_CONTENT_BYTES,
}


class DocumentRejected(Exception):
    """An upload that is not a readable document of an accepted type: status, code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def sniff_content_type(data: bytes) -> str | None:
    """PDF, PNG or JPEG from the first bytes, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def _open_image(data: bytes, expected_format: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format != expected_format:
                raise DocumentRejected(415, "unsupported_type", "The file is not a PDF, PNG or JPEG.")
            if image.width * image.height > MAX_PIXELS:
                raise DocumentRejected(422, "image_too_large", f"The image has more than {MAX_PIXELS:,} pixels.")
            image.load()  # decodes every byte: a truncated file fails here
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise DocumentRejected(422, "image_too_large", f"The image has more than {MAX_PIXELS:,} pixels.") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise DocumentRejected(422, "unreadable_document", f"The image cannot be read ({str(exc)[:80]}).") from None
    return image


def _pdf_reader(data: bytes) -> pypdf.PdfReader:
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise DocumentRejected(422, "encrypted_document", "The PDF is encrypted; upload it without a password.")
    return reader


def check_document(data: bytes, content_type: str) -> int:
    """Parse the whole upload under limits; returns its page count or raises DocumentRejected."""
    if content_type in (PNG, JPEG):
        _open_image(data, "PNG" if content_type == PNG else "JPEG")
        return 1
    try:
        with pypdf.apply_configuration(**PDF_LIMITS):
            reader = _pdf_reader(data)
            pages = len(reader.pages)
            if pages == 0:
                raise DocumentRejected(422, "unreadable_document", "The PDF has no pages.")
            if pages > MAX_PAGES:
                raise DocumentRejected(422, "too_many_pages", f"The PDF has more than {MAX_PAGES} pages.")
            total = 0
            for page in reader.pages:
                contents = page.get_contents()
                total += len(contents.get_data()) if contents is not None else 0
                if total > MAX_CONTENT_BYTES:
                    raise DocumentRejected(422, "document_too_complex", "The PDF's pages decompress to too much data.")
    except pypdf.errors.LimitReachedError:
        raise DocumentRejected(422, "document_too_complex", "The PDF decompresses to too much data.") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError) as exc:
        raise DocumentRejected(422, "unreadable_document", f"The PDF cannot be read ({exc.__class__.__name__}).") from None
    return pages


# ---- text --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def ocr_engine() -> Any:
    """RapidOCR, loaded once per process (about half a second)."""
    from rapidocr_onnxruntime import RapidOCR  # heavy (onnxruntime, opencv): only processes that OCR load it

    return RapidOCR()


def ocr_image(image: Image.Image) -> str:
    """The image's text, line by line in reading order."""
    image = image.convert("RGB")
    scale = OCR_MAX_SIDE / max(image.size)
    if scale < 1:
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    result, _elapsed = ocr_engine()(buffer.getvalue())
    boxes = [(min(p[1] for p in box), max(p[1] for p in box), min(p[0] for p in box), text) for box, text, _score in result or []]
    # Boxes whose vertical centres fall within half a box height are one line.
    lines: list[list[tuple[float, float, float, str]]] = []
    for box in sorted(boxes):
        top, bottom = box[0], box[1]
        centre = (top + bottom) / 2
        if lines and abs(centre - (lines[-1][0][0] + lines[-1][0][1]) / 2) < (bottom - top) / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    return "\n".join(" ".join(b[3] for b in sorted(line, key=lambda b: b[2])) for line in lines)


@dataclass(frozen=True)
class ExtractedText:
    text: str
    method: str  # pdf_text | ocr | pdf_text+ocr
    pages: int


def extract_text(data: bytes, content_type: str) -> ExtractedText:
    """PDF text page by page (OCR for pages that are only images), or OCR of an image."""
    if content_type in (PNG, JPEG):
        return ExtractedText(ocr_image(_open_image(data, "PNG" if content_type == PNG else "JPEG"))[:MAX_TEXT_CHARS], "ocr", 1)
    methods = set()
    texts = []
    with pypdf.apply_configuration(**PDF_LIMITS):
        reader = _pdf_reader(data)
        for page in reader.pages[:MAX_PAGES]:
            text = (page.extract_text() or "").strip()
            if len(text) >= MIN_PAGE_TEXT:
                methods.add("pdf_text")
            else:
                scanned = [ocr_image(img.image) for img in list(page.images)[:OCR_IMAGES_PER_PAGE] if img.image is not None]
                if any(s.strip() for s in scanned):
                    methods.add("ocr")
                    text = "\n".join([text, *scanned]).strip()
            texts.append(text)
            if sum(len(t) for t in texts) > MAX_TEXT_CHARS:
                break
    method = "+".join(m for m in ("pdf_text", "ocr") if m in methods) or "pdf_text"
    return ExtractedText("\n\n".join(texts)[:MAX_TEXT_CHARS], method, len(reader.pages))


# ---- lab values and medications ----------------------------------------------------------------

NUMBER = r"\d{1,6}(?:[.,]\d{1,4})?"
UNIT = r"%|[a-zA-Zµμ][a-zA-Zµμ0-9^*/.\[\]{}]{0,14}"
LAB_LINE = re.compile(
    rf"^(?P<name>[A-Za-z][A-Za-z0-9 ,()\-]{{0,40}}?)\s*[:=]?\s+(?P<value>{NUMBER})\s*(?P<unit>{UNIT})?"
    rf"(?:\s*[\[(]?\s*(?:ref(?:erence)?\.?(?:\s*range)?:?\s*)?(?P<low>{NUMBER})\s*(?:-|–|to)\s*(?P<high>{NUMBER})\s*[\])]?)?"
)
# Common generic drug names (a small offline list; a doctor confirms every suggestion).
MEDICATION_NAMES = frozenset("""
acetaminophen paracetamol ibuprofen naproxen aspirin diclofenac celecoxib tramadol codeine morphine oxycodone
metformin insulin glipizide gliclazide glimepiride sitagliptin empagliflozin dapagliflozin liraglutide semaglutide pioglitazone
lisinopril enalapril ramipril perindopril losartan valsartan candesartan irbesartan amlodipine nifedipine diltiazem verapamil
metoprolol bisoprolol atenolol carvedilol propranolol hydrochlorothiazide chlorthalidone indapamide furosemide spironolactone
atorvastatin simvastatin rosuvastatin pravastatin ezetimibe clopidogrel warfarin apixaban rivaroxaban dabigatran heparin
levothyroxine prednisone prednisolone hydrocortisone dexamethasone salbutamol albuterol budesonide fluticasone montelukast tiotropium
amoxicillin azithromycin clarithromycin doxycycline ciprofloxacin levofloxacin cephalexin cefuroxime nitrofurantoin trimethoprim metronidazole
omeprazole esomeprazole pantoprazole lansoprazole ranitidine famotidine ondansetron metoclopramide loperamide
sertraline citalopram escitalopram fluoxetine paroxetine venlafaxine duloxetine mirtazapine amitriptyline bupropion trazodone
quetiapine olanzapine risperidone aripiprazole lithium lamotrigine levetiracetam valproate carbamazepine gabapentin pregabalin
alprazolam lorazepam diazepam zolpidem melatonin allopurinol colchicine methotrexate hydroxychloroquine folic cetirizine loratadine
""".split())
STRENGTH = re.compile(rf"({NUMBER})\s*(mg|mcg|µg|g|ml|mL|units?|IU)\b")


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _lab_test_name(name: str) -> tuple[str, str | None] | None:
    """(display name, LOINC) of a known test the line names, or None."""
    cleaned = re.sub(r"\s+", " ", name).strip(" :-,")
    test = known_test(cleaned)
    if test is None:
        words = re.sub(r"[^a-z0-9 ]", " ", cleaned.lower()).split()
        for size in range(len(words), 0, -1):
            test = known_test(" ".join(words[:size]))
            if test:
                break
    return (test.name, test.loinc) if test else None


def extract_suggestions(text: str) -> list[dict[str, Any]]:
    """Lab values of known tests and medication names, each with the line it came from."""
    found: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or len(line) > 200:
            continue
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", line)}
        drugs = sorted(words & MEDICATION_NAMES)
        match = LAB_LINE.match(line)
        named = _lab_test_name(match.group("name")) if match and not drugs else None
        if match and named:
            name, loinc = named
            fields: dict[str, Any] = {"test_name": name, "loinc": loinc, "value": _number(match.group("value")), "unit": (match.group("unit") or "").strip() or None}
            if match.group("low") and match.group("high"):
                fields["ref_low"], fields["ref_high"] = _number(match.group("low")), _number(match.group("high"))
            key = ("lab", name, fields["value"], fields["unit"])
            if key not in seen:
                seen.add(key)
                found.append({"kind": "lab", "fields": fields, "source_text": line})
        for drug in drugs:
            strength = STRENGTH.search(line)
            fields = {"drug": drug.capitalize(), "strength": f"{strength.group(1)} {strength.group(2)}" if strength else None}
            key = ("medication", fields["drug"], fields["strength"])
            if key not in seen:
                seen.add(key)
                found.append({"kind": "medication", "fields": fields, "source_text": line})
    return found[:50]


# ---- summaries and redaction --------------------------------------------------------------------

KEY_WORDS = {"impression", "conclusion", "diagnosis", "findings", "recommend", "recommended", "plan", "result", "results", "summary", "assessment",
             "normal", "abnormal", "elevated", "raised", "low", "high", "no", "evidence", "fracture", "follow"}
# A sentence ends at . ! ? followed by a space or the end, or at a line break ("4.1 mmol/L" stays whole).
SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=\S))+[.!?]?")
STOP = frozenset("the a an and or of to in on for with at by from is are was were be been this that it as".split())


def extractive_summary(text: str, suggestions: list[dict[str, Any]], sentences: int = 3) -> str:
    """The document's key sentences (most telling words, numbers, clinical cue words) in their order, then the values found."""
    candidates = [s.strip() for s in SENTENCE.findall(text) if len(s.strip()) >= 12]
    words = [w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in STOP]
    frequency = Counter(words)

    def score(sentence: str) -> float:
        tokens = [w for w in re.findall(r"[a-z]{3,}", sentence.lower()) if w not in STOP]
        if not tokens:
            return 0.0
        base = sum(frequency[t] for t in tokens) / len(tokens)
        return base + 2 * len(set(tokens) & KEY_WORDS) + (1.5 if re.search(r"\d", sentence) else 0)

    best = sorted(range(len(candidates)), key=lambda i: -score(candidates[i]))[:sentences]
    parts = [s if s[-1] in ".!?" else f"{s}." for s in (candidates[i] for i in sorted(best))]
    values = [f"{s['fields']['test_name']} {s['fields']['value']:g}{(' ' + s['fields']['unit']) if s['fields'].get('unit') else ''}"
              for s in suggestions if s["kind"] == "lab"]
    drugs = [s["fields"]["drug"] + (f" {s['fields']['strength']}" if s["fields"].get("strength") else "") for s in suggestions if s["kind"] == "medication"]
    summary = " ".join(parts)
    if values:
        summary += f" Values found: {'; '.join(values)}."
    if drugs:
        summary += f" Medications mentioned: {', '.join(drugs)}."
    return summary.strip()[:1500] or "No text could be read from this document."


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ()./-]{7,}\d")
LONG_ID = re.compile(r"\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{8,}\b")
LABELLED = re.compile(r"(?im)^\s*(name|patient( name)?|dob|date of birth|mrn|nhs( number)?|id|address|phone|tel|email|e-mail|insurance)\b.*$")


def redact(text: str, names: list[str]) -> str:
    """The text without people's names, identifiers or contact details: what may go to an LLM."""
    text = LABELLED.sub("[redacted]", text)
    text = EMAIL.sub("[email]", text)
    # A run of 9 or more digits is a phone number or an identifier; lab ranges and dates have fewer.
    text = PHONE.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= 9 else m.group(), text)
    text = LONG_ID.sub("[id]", text)
    for name in names:
        for part in {p for p in re.split(r"\s+", name) if len(p) >= 2}:
            text = re.sub(rf"(?i)\b{re.escape(part)}\b", "[name]", text)
    return text
