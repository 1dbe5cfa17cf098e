"""Turning outside input into schema models, with errors that name the field.

decode_json is the one JSON decoder for what clients send, HTTP bodies and Socket.IO packets
alike (engage.lib.socket_json), so both have the same bounds.
"""

from __future__ import annotations

from typing import Any
from typing import TypeVar

import orjson
from pydantic import BaseModel
from pydantic import ValidationError

from engage.errors import ApiError

M = TypeVar("M", bound=BaseModel)

# The deepest request nests four levels (a Socket.IO packet adds one); anything much deeper is
# crafted, and would cost recursion wherever a library walks it.
MAX_JSON_DEPTH = 32


class JsonOutOfBounds(ValueError):
    """Well-formed JSON that nests too deep or holds a number too large; `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _too_deep() -> JsonOutOfBounds:
    return JsonOutOfBounds("json_too_deep", f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")


def _nests_deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def decode_json(raw: str | bytes) -> Any:
    """Decode JSON from a client, refusing nesting past MAX_JSON_DEPTH and numbers past a double.

    orjson does the parsing: it reads any number beyond a double's range as an error (the
    stdlib turns thousands of digits into a ValueError after slow parsing) and stops at its own
    depth limit of 1,024 without recursing in Python (the stdlib's RecursionError); the tighter
    depth bound is checked after, and only when the text holds enough brackets to break it.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if reason.startswith("depth limit exceeded"):
            raise _too_deep() from None
        if reason.startswith("number is infinity"):
            raise JsonOutOfBounds("json_number_too_large", "The JSON holds a number too large for a 64-bit float.") from None
        raise
    opening, curly = ("[", "{") if isinstance(raw, str) else (b"[", b"{")
    may_nest_too_deep = raw.count(opening) + raw.count(curly) > MAX_JSON_DEPTH  # counting is C-fast
    if may_nest_too_deep and isinstance(value, (dict, list)) and _nests_deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep()
    return value


def field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_error(exc: ValidationError) -> ApiError:
    details = [{"field": field_path(err["loc"]), "message": err["msg"]} for err in exc.errors()]
    first = details[0]
    # Password rule and similar messages read best unprefixed by pydantic's "Value error, ".
    message = first["message"].removeprefix("Value error, ")
    return ApiError(422, "validation_error", f"{first['field']}: {message}", field=first["field"], details=details)


def parse_model(model: type[M], data: Any) -> M:
    """Validate already-decoded data (socket payloads, query args) into a model."""
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "The payload must be a JSON object.", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def parse_json_bytes(raw: bytes) -> Any:
    """An HTTP body: 400 when it is not JSON, 422 when it is out of decode_json's bounds."""
    try:
        return decode_json(raw)
    except JsonOutOfBounds as exc:
        raise ApiError(422, exc.code, str(exc), field="body") from None
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
