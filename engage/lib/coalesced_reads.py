"""Reads of one kind that concurrent requests ask for in the same turn of the event loop, made
as one database query (aiodataloader, without its cache: a read is always the current state).

Every request and socket connect reads its user, and a connecting socket its contacts. When many
arrive together (a slot drop, every client reconnecting after a restart) one {$in: [...]} query
serves them all; a read alone is the one query it was.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Hashable
from typing import Generic
from typing import TypeVar

from aiodataloader import DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Bounded for the embedded server, whose cost per key of an $in grows with the list (measured on a
# 5,000-document collection: 0.14 ms a key at 20 keys, 0.8 at 50 ... 1 ms at 500; one key alone
# 0.7-1.2 ms). MongoDB would take far longer lists; 20 already takes most of the gain.
MAX_KEYS_PER_QUERY = 20


class CoalescedReads(Generic[K, V]):
    """`await reads.load(key)`: the value read_many gives for key, read together with the keys
    other tasks asked for in the same loop turn. read_many answers a list in the keys' order."""

    def __init__(self, read_many: Callable[[list[K]], Awaitable[list[V]]], max_keys: int = MAX_KEYS_PER_QUERY) -> None:
        self._read_many = read_many
        self._max_keys = max_keys
        self._loaders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DataLoader] = weakref.WeakKeyDictionary()

    async def load(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        loader = self._loaders.get(loop)
        if loader is None:  # a DataLoader belongs to one event loop
            loader = self._loaders[loop] = DataLoader(self._read_many, cache=False, max_batch_size=self._max_keys, loop=loop)
        return await loader.load(key)
