"""A web process's short-lived view of which doctor slots are taken, kept fresh by the slot events.

A lost booking race answers with the nearest free slots. Reading them from the database for every
loser made the losers most of a slot drop's work, so each web process keeps, per doctor, the
intervals held over a few weeks around the slots asked about: loaded by one read (shared by every
request that needs it meanwhile), updated by every slot:taken and slot:freed event any process
publishes (they reach each process through the Socket.IO Redis manager), and reloaded after `ttl`
seconds in case an event was missed (a Redis reconnect). The view only suggests: the unique indexes
on appointments still decide every booking, and a suggestion that turned stale is one more 409.

A slot drop's requests all arrive before any of them has committed, so no event can tell them the
slot is taken yet. They take turns at the insert instead (`claim_turn`): the first asks the unique
indexes, notes what it learnt, and the ones queued behind it read that without a write of their
own. Slots learnt taken (by a note or by an event) are known for `ttl` seconds even where no
window is loaded, until a slot:freed event says otherwise.

Only doctors (capacity 1) are viewed; shared resources are read from the database as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId

SLOT_EVENTS = ("slot:taken", "slot:freed")
SCHEDULE_ROOM_PREFIX = "schedule:"  # engage.events.booking.schedule_room

# occupied_intervals(resource_ids, start, end): the active intervals overlapping [start, end).
Loader = Callable[[list[PydanticObjectId], datetime, datetime], Awaitable[list[dict[str, Any]]]]


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class _Window:
    """The taken intervals of one doctor over [low, high), as loaded at `loaded_at` plus events since."""

    low: datetime
    high: datetime
    loaded_at: float
    taken: set[tuple[datetime, datetime]] = field(default_factory=set)


@dataclass
class _Turns:
    """This process's requests for one slot, queued at its insert."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    queued: int = 0


@dataclass
class _Load:
    """A read in flight: events that arrive meanwhile are replayed onto its result."""

    low: datetime
    high: datetime
    task: asyncio.Task | None = None
    events: list[tuple[str, datetime, datetime]] = field(default_factory=list)


class AvailabilityView:
    """Per-doctor taken intervals, loaded on demand and kept fresh by slot events."""

    def __init__(self, load: Loader, ttl: float = 30.0, margin: timedelta = timedelta(days=14)) -> None:
        self._load = load
        self.ttl = ttl
        self.margin = margin  # loaded around what was asked, so nearby days need no new read
        self._windows: dict[str, _Window] = {}
        self._loads: dict[str, _Load] = {}
        self._cached: dict[Any, tuple[float, asyncio.Task]] = {}
        self._turns: dict[tuple[str, datetime], _Turns] = {}
        # (doctor, start, end) -> when learnt taken; in the order learnt, so the oldest go first.
        self._taken_lately: dict[tuple[str, datetime, datetime], float] = {}

    async def busy(self, resource_ids: list[PydanticObjectId], start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Taken intervals of these doctors overlapping [start, end), in occupied_intervals' shape."""
        low = start - timedelta(days=1)  # as occupied_intervals: no slot lasts a day
        windows = await asyncio.gather(*[self._window(rid, low, end) for rid in resource_ids])
        return [
            {"resource_id": rid, "start": s, "end": e, "seat": 0}
            for rid, window in zip(resource_ids, windows)
            for s, e in window.taken
            if s < end and e > start
        ]

    async def cached(self, key: Any, read: Callable[[], Awaitable[Any]]) -> Any:
        """A read that changes rarely (a doctor's peers), shared for `ttl` seconds and while in flight."""
        entry = self._cached.get(key)
        if entry is None or time.monotonic() - entry[0] >= self.ttl or (entry[1].done() and (entry[1].cancelled() or entry[1].exception() is not None)):
            entry = (time.monotonic(), asyncio.ensure_future(read()))
            self._cached[key] = entry
        return await asyncio.shield(entry[1])

    def observe(self, event: str, data: Any, room: Any) -> None:
        """An event this process emitted or received from another: slot events update the view."""
        if event not in SLOT_EVENTS or not isinstance(room, str) or not room.startswith(SCHEDULE_ROOM_PREFIX):
            return
        if not isinstance(data, dict) or data.get("remaining") is not None:
            return  # a shared resource's seats: not viewed
        try:
            start, end = _utc(data["start"]), _utc(data["end"])
        except (KeyError, TypeError, ValueError):
            return
        self._apply(room[len(SCHEDULE_ROOM_PREFIX) :], event, start, end)

    def known_taken(self, resource_id: PydanticObjectId, start: datetime, end: datetime) -> bool:
        """Whether the slot was learnt taken lately, or a fresh window shows [start, end)
        overlapping a taken slot (no read)."""
        learnt = self._taken_lately.get((str(resource_id), _utc(start), _utc(end)))
        if learnt is not None and time.monotonic() - learnt < self.ttl:
            return True
        window = self._fresh_window(str(resource_id), start, end)
        return window is not None and any(s < end and e > start for s, e in window.taken)

    @asynccontextmanager
    async def claim_turn(self, resource_id: PydanticObjectId, start: datetime) -> AsyncIterator[None]:
        """Wait for this slot's turn: one request of this process at a time tries its insert, and
        notes the slot taken when it won or the slot index refused it (note_taken), so that the
        next in the queue finds it known_taken. A refusal for another reason (the patient is busy
        elsewhere, a replay) leaves the slot to the next."""
        key = (str(resource_id), _utc(start))
        turns = self._turns.get(key)
        if turns is None:
            turns = self._turns[key] = _Turns()
        turns.queued += 1
        try:
            async with turns.lock:
                yield
        finally:
            turns.queued -= 1
            if turns.queued == 0:
                del self._turns[key]

    def note_taken(self, resource_id: PydanticObjectId, start: datetime, end: datetime) -> None:
        """An insert won the slot or lost it to another: taken, even before the slot:taken event arrives."""
        self._apply(str(resource_id), "slot:taken", _utc(start), _utc(end))

    def _apply(self, key: str, event: str, start: datetime, end: datetime) -> None:
        self._taken_lately.pop((key, start, end), None)
        if event == "slot:taken":
            self._taken_lately[(key, start, end)] = time.monotonic()
        self._forget_taken_before(time.monotonic() - self.ttl)
        window = self._windows.get(key)
        if window is not None:
            _change(window.taken, event, start, end)
        load = self._loads.get(key)
        if load is not None:
            load.events.append((event, start, end))

    def _forget_taken_before(self, cutoff: float) -> None:
        while self._taken_lately:
            slot, learnt = next(iter(self._taken_lately.items()))
            if learnt >= cutoff:
                return
            del self._taken_lately[slot]

    def _fresh_window(self, key: str, low: datetime, high: datetime) -> _Window | None:
        """The loaded window covering [low, high), unless older than the ttl."""
        window = self._windows.get(key)
        if window is not None and window.low <= low and high <= window.high and time.monotonic() - window.loaded_at < self.ttl:
            return window
        return None

    async def _window(self, resource_id: PydanticObjectId, low: datetime, high: datetime) -> _Window:
        key = str(resource_id)
        window = self._fresh_window(key, low, high)
        if window is not None:
            return window
        load = self._loads.get(key)
        if load is None or load.task is None or load.task.done() or not (load.low <= low and high <= load.high):
            load = _Load(low - self.margin, high + self.margin)
            load.task = asyncio.ensure_future(self._read(key, resource_id, load))
            self._loads[key] = load
        return await asyncio.shield(load.task)  # a waiter that gives up does not cancel the others' read

    async def _read(self, key: str, resource_id: PydanticObjectId, load: _Load) -> _Window:
        try:
            loaded_at = time.monotonic()
            found = await self._load([resource_id], load.low, load.high)
            window = _Window(load.low, load.high, loaded_at, {(_utc(doc["start"]), _utc(doc["end"])) for doc in found})
            for event, start, end in load.events:  # published while the read ran: possibly not in it
                _change(window.taken, event, start, end)
            if self._loads.get(key) is load:  # not superseded by a wider read meanwhile
                self._windows[key] = window
            return window
        finally:
            if self._loads.get(key) is load:
                del self._loads[key]


def _change(taken: set[tuple[datetime, datetime]], event: str, start: datetime, end: datetime) -> None:
    if event == "slot:taken":
        taken.add((start, end))
    else:
        taken.discard((start, end))
