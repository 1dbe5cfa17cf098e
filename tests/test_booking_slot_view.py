"""Slot drops across two web processes: the database decides the winners, the availability view the alternatives.

A lost race answers from each web process's view of taken slots (engage.lib.availability_view),
kept fresh by the slot events every process publishes.
"""

from __future__ import annotations

import asyncio

from bson import ObjectId

from engage.models.appointment import Appointment
from tests.booking_support import ALL_DAY
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_patients
from tests.booking_support import make_scheduled_doctor
from tests.clients import Api
from tests.metrics_support import scrape
from tests.metrics_support import value
from tests.waiting import wait_until


async def active_starts(doctor_id: str) -> set[str]:
    found = await Appointment.find({"doctor_id": ObjectId(doctor_id), "holds_slot": True}).to_list()
    return {a.start.isoformat().replace("+00:00", "Z") for a in found}


def own_alternatives(resp, doctor_id: str) -> list[str]:
    assert resp.status == 409 and resp.error_code == "slot_taken", resp.body
    return [a["start"] for a in resp.body["alternatives"] if a["doctor_id"] == doctor_id]


async def test_a_drop_across_two_processes_has_one_winner_per_slot_and_free_alternatives(
    api, http_session, web2, admin, make_doctor, make_patient, db
):
    """40 patients on 4 slots, half through each process: 4 winners, and the losers' own-doctor
    alternatives are free afterwards (but for the contested slots, which a stale suggestion may name)."""
    other = Api(http_session, web2.url)
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    patients = await make_patients(make_patient, 40)
    day = future_day(3)
    contested = [local_slot(day, hh_mm) for hh_mm in ("10:00", "10:30", "11:00", "11:30")]
    # Slots near the contested ones taken beforehand on the second process: never suggested.
    taken_before = [local_slot(day, "09:30"), local_slot(day, "12:00")]
    for start, patient in zip(taken_before, patients[-2:]):
        assert (await book(other, patient, doctor.id, start)).status == 201
    racers = patients[:-2]

    responses = await asyncio.gather(
        *[book(api if i % 2 else other, patient, doctor.id, contested[i % len(contested)]) for i, patient in enumerate(racers)]
    )

    winners = [r for r in responses if r.status == 201]
    assert sorted(r.body["appointment"]["start"] for r in winners) == sorted(contested)
    assert all(r.status in (201, 409) for r in responses), [r.body for r in responses if r.status not in (201, 409)]
    held = await active_starts(doctor.id)
    suggested = {start for r in responses if r.status == 409 for start in own_alternatives(r, doctor.id)}
    assert suggested, "no loser got an alternative of the same doctor"
    assert not suggested & set(taken_before)
    assert not (suggested - set(contested)) & held


async def test_a_slot_freed_on_one_process_is_suggested_by_the_other(api, http_session, web2, admin, make_doctor, make_patient, db):
    """Taken through web2, the slot leaves web's alternatives; cancelled through web2, it comes back."""
    other = Api(http_session, web2.url)
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    holder, loser, mover = await make_patients(make_patient, 3)
    day = future_day(3)
    contested, nearest = local_slot(day, "10:00"), local_slot(day, "10:30")
    assert (await book(api, holder, doctor.id, contested)).status == 201

    async def suggested_by_web() -> list[str]:
        return own_alternatives(await book(api, loser, doctor.id, contested), doctor.id)

    assert nearest in await suggested_by_web()  # web's view of the doctor is loaded now
    taken = await book(other, mover, doctor.id, nearest)
    assert taken.status == 201
    await wait_until(lambda: _lacks(suggested_by_web, nearest), timeout=10, what="web to stop suggesting the slot taken on web2")

    resp = await other.post(f"/api/appointments/{taken.body['appointment']['id']}/cancel", {}, token=mover.access_token)
    assert resp.status == 200, resp.body
    await wait_until(lambda: _has(suggested_by_web, nearest), timeout=10, what="web to suggest the slot freed on web2")


async def _lacks(suggested, start: str) -> bool:
    return start not in await suggested()


async def _has(suggested, start: str) -> bool:
    return start in await suggested()


async def test_a_slot_the_view_knows_taken_still_replays_its_booking_and_is_booked_once_freed(api, http_session, web2, admin, make_doctor, make_patient, db):
    """web answers a slot its view holds taken with a 409 before any insert; the winner's replay
    still gets its appointment, and once the slot is cancelled through web2 it can be booked on web."""
    other = Api(http_session, web2.url)
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    holder, loser = await make_patients(make_patient, 2)
    contested = local_slot(future_day(3), "14:00")
    first = await book(api, holder, doctor.id, contested, client_id="holder-first")
    assert first.status == 201, first.body
    assert own_alternatives(await book(api, loser, doctor.id, contested), doctor.id)  # web's view holds the slot taken now
    assert own_alternatives(await book(api, loser, doctor.id, contested), doctor.id)

    replay = await book(api, holder, doctor.id, contested, client_id="holder-first")
    assert replay.status == 201 and replay.body["appointment"]["id"] == first.body["appointment"]["id"], replay.body

    cancelled = await other.post(f"/api/appointments/{first.body['appointment']['id']}/cancel", {}, token=holder.access_token)
    assert cancelled.status == 200, cancelled.body

    async def booked_on_web() -> bool:
        resp = await book(api, loser, doctor.id, contested, client_id="loser-after-cancel")
        assert resp.status in (201, 409), resp.body
        return resp.status == 201

    await wait_until(booked_on_web, timeout=10, what="web to book the slot freed through web2")
    assert await active_starts(doctor.id) == {contested}


async def test_a_drop_on_one_process_tries_one_insert_per_slot_and_its_queue_still_serves_a_replay_and_a_busy_patient(
    api, admin, make_doctor, make_patient, db
):
    """30 patients on one slot through one process: the requests take turns at the insert, so only
    the winner's insert is tried and the 29 losers are refused from what it learnt, without a
    write (counted by /metrics' engage_slot_claim_writes_total). Queued with them, the winner's
    own replay still gets its appointment. An insert refused because the patient is busy at that
    time leaves the slot free for the next patient."""
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    racers = await make_patients(make_patient, 30)
    day = future_day(4)
    contested = local_slot(day, "10:00")
    writes_before = await scrape(api)

    responses = await asyncio.gather(*[book(api, patient, doctor.id, contested, client_id=f"drop-{i}") for i, patient in enumerate(racers)])
    winners = [(i, r) for i, r in enumerate(responses) if r.status == 201]
    assert len(winners) == 1, [r.body for r in responses]
    assert all(r.status == 409 and r.error_code == "slot_taken" for r in responses if r.status != 201), [r.body for r in responses]
    writes_after = await scrape(api)
    claim_writes = {
        outcome: value(writes_after, "engage_slot_claim_writes_total", outcome=outcome) - value(writes_before, "engage_slot_claim_writes_total", outcome=outcome)
        for outcome in ("won", "taken", "patient_busy", "other")
    }
    assert claim_writes == {"won": 1, "taken": 0, "patient_busy": 0, "other": 0}

    # A replay queued behind the others still answers with the winner's appointment.
    index, winner = winners[0]
    again = await asyncio.gather(
        book(api, racers[index], doctor.id, contested, client_id=f"drop-{index}"),
        *[book(api, patient, doctor.id, contested) for patient in racers[:5]],
    )
    assert again[0].status == 201 and again[0].body["appointment"]["id"] == winner.body["appointment"]["id"], again[0].body

    # A busy patient's refusal does not mark the slot taken: the next patient books it.
    later = local_slot(day, "15:00")
    busy, free = racers[0], racers[1]
    assert (await book(api, busy, doctor.id, later, client_id="busy-elsewhere")).status == 201
    other_doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    busy_try = await book(api, busy, other_doctor.id, later)
    assert busy_try.status == 409 and busy_try.error_code == "patient_overlap", busy_try.body
    free_try = await book(api, free, other_doctor.id, later)
    assert free_try.status == 201, free_try.body
