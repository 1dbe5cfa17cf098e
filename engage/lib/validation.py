"""Turning outside input into schema models, with errors that name the field."""

from __future__ import annotations

import json
from typing import Any
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ValidationError

from engage.errors import ApiError

M = TypeVar("M", bound=BaseModel)


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
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
