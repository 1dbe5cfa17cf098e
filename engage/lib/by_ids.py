"""Documents fetched by a list of _ids, a chunk of ids per query.

The embedded database checks every document an `$in` query fetches against the whole `$in` list,
so one query for n ids costs about n squared: a doctor's 2,000 conversations took 5.4 s to list
with one query per collection (`python bench/conversation_list.py`). Chunks keep it linear.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from beanie import Document
from pymongo.asynchronous.collection import AsyncCollection

ID_CHUNK = 32  # 1,000 messages: 405 ms in chunks of 500, 78 ms in chunks of 50, 66 ms in 25

T = TypeVar("T", bound=Document)


def id_chunks(ids: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield list(ids[start:start + ID_CHUNK])


async def _in_chunks(fetch: Callable[[dict[str, Any]], Awaitable[list[Any]]], ids: Sequence[Any]) -> list[Any]:
    found: list[Any] = []
    for chunk in id_chunks(list(dict.fromkeys(ids))):
        found += await fetch({"_id": {"$in": chunk}})
    return found


async def documents_by_ids(model: type[T], ids: Sequence[Any]) -> list[T]:
    """The model's documents with these _ids (those that exist), in no particular order."""
    return await _in_chunks(lambda query: model.find(query).to_list(), ids)


async def raw_documents_by_ids(collection: AsyncCollection, ids: Sequence[Any]) -> list[dict[str, Any]]:
    """The collection's raw documents with these _ids (those that exist), in no particular order."""
    return await _in_chunks(lambda query: collection.find(query).to_list(), ids)
