"""The JSON module Socket.IO packets go through: orjson behind the stdlib's call shape.

python-socketio encodes and decodes every packet with json.dumps(..., separators=...) and
json.loads, which build a new encoder or decoder per call; under chat load that was a tenth
of the web process's time, and orjson does the same work about ten times faster. Its output
is already compact. Decoding goes through engage.lib.validation.decode_json, the decoder of
HTTP bodies too, so packets have the same bounds on nesting and number size: a packet past
them raises a ValueError, and python-socketio drops it (engage.lib.protocol_logging logs it
in one line).
"""

from __future__ import annotations

from typing import Any

import orjson

from engage.lib.validation import decode_json

JSONDecodeError = orjson.JSONDecodeError


def dumps(obj: Any, separators: tuple[str, str] | None = None) -> str:
    # Non-string keys become strings, as the stdlib does.
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


def loads(text: str | bytes) -> Any:
    return decode_json(text)
