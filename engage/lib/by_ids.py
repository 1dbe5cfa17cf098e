"""Documents fetched by a list of _ids, a chunk of ids per query.

The embedded database checks every document an `$in` query fetches against the whole `$in` list,
so one query for n ids costs about n squared: a doctor's 2,000 conversations took 5.4 s to list
with one query per collection (`python bench/conversation_list.py`). Chunks keep it linear.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from beanie import Document

ID_CHUNK = 32  # 1,000 messages: 405 ms in chunks of 500, 78 ms in chunks of 50, 66 ms in 25

T = TypeVar("T", bound=Document)


def id_chunks(ids: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield list(ids[start:start + ID_CHUNK])


async def documents_by_ids(model: type[T], ids: Sequence[Any]) -> list[T]:
    """The model's documents with these _ids (those that exist), in no particular order."""
    found: list[T] = []
    for chunk in id_chunks(list(dict.fromkeys(ids))):
        found += await model.find({"_id": {"$in": chunk}}).to_list()
    return found
