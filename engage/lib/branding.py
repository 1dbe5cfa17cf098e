"""Checking an uploaded clinic logo: the type comes from the bytes, never the file name or header.

A PNG must open as one (Pillow). An SVG is refused, not repaired, when it could do anything but
draw: scripts, foreign objects and embedded documents, event attributes (on*), references outside
the file (href, url(), @import, anything not "#..."), and DTDs or entities (defusedxml refuses
them). Patients' browsers load the logo from our origin, so this is what keeps it an image.
"""

from __future__ import annotations

import io
import re
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from PIL import Image

from engage.errors import ApiError

LOGO_MAX_BYTES = 512 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
FORBIDDEN_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "audio", "video", "handler", "listener", "animation", "set"}
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?(?!#)", re.IGNORECASE)


def unsafe_logo(message: str) -> ApiError:
    return ApiError(422, "invalid_logo", message, field="file")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _check_svg_element(element: Element) -> None:
    if _local(element.tag) in FORBIDDEN_ELEMENTS:
        raise unsafe_logo(f"SVG logos may not contain <{_local(element.tag)}>.")
    for name, value in element.attrib.items():
        local = _local(name)
        if local.startswith("on"):
            raise unsafe_logo("SVG logos may not have event attributes.")
        if local == "href" and not value.strip().startswith("#"):
            raise unsafe_logo("SVG logos may not refer to anything outside the file.")
        if _EXTERNAL_URL.search(value) or "javascript:" in value.lower():
            raise unsafe_logo("SVG logos may not refer to anything outside the file.")
    if _local(element.tag) == "style" and element.text and (_EXTERNAL_URL.search(element.text) or "@import" in element.text.lower()):
        raise unsafe_logo("SVG logos may not refer to anything outside the file.")


def logo_type(data: bytes) -> str:
    """The logo's media type, read from its bytes (image/png or image/svg+xml); 422 otherwise."""
    if len(data) > LOGO_MAX_BYTES:
        raise ApiError(413, "logo_too_large", "A logo may be at most 512 KB.", field="file")
    if data.startswith(PNG_MAGIC):
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except Exception:
            raise unsafe_logo("The PNG file is damaged.") from None
        return "image/png"
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SafeElementTree.ParseError, ValueError):
        raise unsafe_logo("A logo must be a PNG or an SVG file.") from None
    if root.tag not in (f"{SVG_NS}svg", "svg"):
        raise unsafe_logo("A logo must be a PNG or an SVG file.")
    for element in root.iter():
        _check_svg_element(element)
    return "image/svg+xml"
