"""An OpenAI-compatible chat-completions client, over plain HTTP (no SDK, no extra dependency).

Used only to rephrase guideline findings for a patient. It receives findings without names,
ids, dates or contact details, and every failure is an LLMError the caller falls back from.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

SYSTEM_PROMPT = (
    "You rewrite health-monitoring findings for a patient in plain, kind, concrete language (at most 3 sentences each). "
    "Keep every number and every instruction, never add a diagnosis, a drug or a dose, and never soften urgent advice. "
    'Answer with JSON only: {"items": [{"id": "<finding id>", "text": "<rewritten text>"}]}, one entry per finding.'
)
MAX_TEXT = 1200


class LLMError(Exception):
    """The provider failed, timed out, or answered something unusable."""


def _post(url: str, api_key: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise LLMError(f"HTTP {exc.code}") from None
    except TimeoutError:
        raise LLMError("timed out") from None
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(getattr(exc, "reason", None), TimeoutError):
            raise LLMError("timed out") from None
        raise LLMError(f"unreachable: {exc.__class__.__name__}") from None
    except json.JSONDecodeError:
        raise LLMError("response is not JSON") from None


def _content_json(content: str) -> Any:
    text = content.strip()
    if text.startswith("```"):  # some models wrap JSON in a code fence
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise LLMError("message content is not JSON") from None


async def _chat_json(base_url: str, api_key: str, model: str, timeout: float, system: str, user: str) -> Any:
    """One chat completion whose answer is a JSON message; returns the parsed message."""
    body = {
        "model": model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ],
    }
    url = base_url.rstrip("/") + "/chat/completions"
    try:
        answer = await asyncio.wait_for(asyncio.to_thread(_post, url, api_key, body, timeout), timeout + 1)
    except TimeoutError:
        raise LLMError("timed out") from None
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("no message in the response") from None
    if not isinstance(content, str):
        raise LLMError("no message in the response")
    return _content_json(content)


async def rephrase_findings(base_url: str, api_key: str, model: str, timeout: float, findings: dict[str, Any]) -> dict[str, str]:
    """Ask the model to phrase each finding; returns {finding id: text} for the ones it answered well."""
    parsed = await _chat_json(base_url, api_key, model, timeout, SYSTEM_PROMPT, json.dumps(findings, ensure_ascii=False, sort_keys=True))
    rows = parsed.get("items") if isinstance(parsed, dict) else None
    if not isinstance(rows, list):
        raise LLMError("no items in the message")
    known = {f["id"] for f in findings["findings"]}
    texts: dict[str, str] = {}
    for row in rows:
        if isinstance(row, dict) and row.get("id") in known and isinstance(row.get("text"), str) and row["text"].strip():
            texts[row["id"]] = row["text"].strip()[:MAX_TEXT]
    if not texts:
        raise LLMError("no usable items")
    return texts


REPLY_PROMPT = (
    "You rewrite a clinic assistant's chat reply to a patient in plain, warm language (at most 4 sentences). "
    "Keep every instruction, question and offer; never add medical advice, a diagnosis, a drug or a dose; never soften urgent advice. "
    'Answer with JSON only: {"text": "<rewritten reply>"}.'
)


async def rephrase_reply(base_url: str, api_key: str, model: str, timeout: float, text: str) -> str:
    """Ask the model to phrase one of the assistant's own replies (it holds no patient's words or details)."""
    parsed = await _chat_json(base_url, api_key, model, timeout, REPLY_PROMPT, json.dumps({"reply": text}, ensure_ascii=False))
    rewritten = parsed.get("text") if isinstance(parsed, dict) else None
    if not isinstance(rewritten, str) or not rewritten.strip():
        raise LLMError("no text in the message")
    return rewritten.strip()[:MAX_TEXT]


DOCUMENT_PROMPT = (
    "You summarise a medical document (a lab report, a letter, a scan report) for the patient's doctor in at most 4 sentences. "
    "Keep every number and unit as written; never add a diagnosis, a drug or a dose that is not in the text. "
    'Answer with JSON only: {"summary": "<summary>"}.'
)
SEARCH_PROMPT = (
    "You turn a question about a patient's medical record into search keywords: test names, conditions, body parts, "
    "drugs and document kinds, spelled out and with common synonyms (for example 'x-ray radiograph'). "
    'Answer with JSON only: {"keywords": "<space-separated keywords>"}.'
)


async def summarise_document(base_url: str, api_key: str, model: str, timeout: float, text: str) -> str:
    """Ask the model for a short summary of a document's text (redacted by the caller: no names, ids or contacts)."""
    parsed = await _chat_json(base_url, api_key, model, timeout, DOCUMENT_PROMPT, json.dumps({"document": text}, ensure_ascii=False))
    summary = parsed.get("summary") if isinstance(parsed, dict) else None
    if not isinstance(summary, str) or not summary.strip():
        raise LLMError("no summary in the message")
    return summary.strip()[:MAX_TEXT]


async def search_keywords(base_url: str, api_key: str, model: str, timeout: float, query: str) -> str:
    """Ask the model to re-phrase a record search as keywords (the query alone is sent, nothing of the record)."""
    parsed = await _chat_json(base_url, api_key, model, timeout, SEARCH_PROMPT, json.dumps({"query": query}, ensure_ascii=False))
    keywords = parsed.get("keywords") if isinstance(parsed, dict) else None
    if not isinstance(keywords, str) or not keywords.strip():
        raise LLMError("no keywords in the message")
    return keywords.strip()[:200]
