"""The assistant's replies in a patient's conversation (run by workers/assistant.py, one job per
patient message).

Every reply goes through the normal chat send path as the assistant's bot user, and carries
`assistant: {intent, triage, actions}`. Red flags decide first: an emergency answer tells the
patient to call the emergency number, offers `call_emergency` and never a routine slot, and
raises an urgent alert to the care team through the vitals alert path. Below that, a small
state per conversation (AssistantState) carries multi-turn flows: booking (specialty, day,
offered slots), cancelling and rescheduling ("cancel it" means the appointment last discussed).
The assistant never gives doses or diagnoses; medication questions get general guidance and the
offer of a person. The optional LLM only rephrases the assistant's own wording (never triage,
never the patient's words: it sees no names, ids, phone numbers or emails).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId

from engage.actions.care import do_relate_through_conversation
from engage.actions.clinics import list_doctor_profiles
from engage.actions.conversations import do_open_conversation
from engage.actions.messages import do_send_message, message_writer
from engage.actions.vital_alerts import do_raise_alert
from engage.assistant.knowledge import ClinicFacts, answer_clinic_question, clinic_hours
from engage.assistant.red_flags import red_flag_label
from engage.assistant.specialties import (
    canonical_specialty,
    mentioned_specialty,
    specialty_catalogue,
    specialty_name,
)
from engage.assistant.understanding import Understanding, understander
from engage.assistant.when import choice_asked, day_asked, part_of_day, refers_back
from engage.config import Settings, get_settings
from engage.integrations.llm import LLMError, rephrase_reply
from engage.lib.booking import doctor_resource, free_slots
from engage.lib.care import care_doctor_ids
from engage.lib.clinic_of import patient_clinic_id
from engage.lib.conversations import messages_between
from engage.lib.presence import online_user_ids
from engage.lib.slots import place_in_availability
from engage.lib.users import listed_doctor_ids
from engage.lib.vital_rules import Finding
from engage.models.appointment import Appointment
from engage.models.assistant import AssistantState, ClinicFaq, OfferedSlot
from engage.models.base import utcnow
from engage.models.clinic import Clinic, DoctorProfile
from engage.models.conversation import Conversation
from engage.models.user import ASSISTANT_USER_ID, User
from schemas.assistant import AssistantInfo

log = logging.getLogger(__name__)

SLOTS_OFFERED = 3
SLOT_SEARCH_DAYS = 14
DOCTORS_SEARCHED = 6
NOTES_KEPT = 6
NOTE_MAX = 300
ACTIVE = ["booked", "confirmed"]
EMERGENCY_ALERT_KEY = "assistant_emergency"
# Intents whose words the handover summary keeps (not "hello", "thanks").
NOTED_INTENTS = {"symptoms", "medication_question", "prescription_refill", "test_results", "unknown", "book_appointment"}


@dataclass
class Reply:
    body: str
    intent: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    rephrasable: bool = False  # the body holds only the assistant's own words (no names, times, numbers)


@dataclass
class PatientContext:
    patient: User
    clinic: Clinic | None
    emergency_number: str
    timezone: str


# ---- reading what a reply needs --------------------------------------------------------


async def _patient_context(settings: Settings, patient: User) -> PatientContext:
    """The patient's clinic (of their next or last appointment, else of a care-team doctor, else the
    first clinic) and the emergency number that clinic set, or the default."""
    clinic_id = await patient_clinic_id(patient.id)
    clinic = await Clinic.get(clinic_id) if clinic_id else await Clinic.find({}).sort("name").first_or_none()
    faq = await ClinicFaq.get(clinic.id) if clinic else None
    number = (faq.emergency_number if faq and faq.emergency_number else None) or settings.emergency_number
    return PatientContext(patient, clinic, number, clinic.timezone if clinic else patient.timezone)


async def _clinic_facts(clinic: Clinic) -> ClinicFacts:
    profiles = await DoctorProfile.find({"clinic_id": clinic.id}).limit(200).to_list()
    listed = await listed_doctor_ids([p.doctor_id for p in profiles])
    profiles = [p for p in profiles if p.doctor_id in listed]
    faq = await ClinicFaq.get(clinic.id)
    return ClinicFacts(
        name=clinic.name, address=clinic.address, phone=clinic.phone, email=clinic.email, timezone=clinic.timezone,
        hours=clinic_hours([[(w.weekday, w.start, w.end) for w in p.availability.weekly] for p in profiles]),
        fees=[(p.doctor_name, p.fee) for p in profiles if p.fee is not None],
        faq=[(e.question, e.answer) for e in faq.entries] if faq else [],
    )


async def _upcoming(patient: User) -> list[Appointment]:
    now = datetime.now(UTC)
    return await Appointment.find({"patient_id": patient.id, "status": {"$in": ACTIVE}, "end": {"$gt": now}}).sort("start").limit(5).to_list()


def _when(start: datetime, timezone: str) -> str:
    local = start.astimezone(ZoneInfo(timezone))
    return local.strftime("%a %d %b %H:%M").replace(" 0", " ")


def _appointment_text(appointment: Appointment) -> str:
    return f"{appointment.resource_name} on {_when(appointment.start, appointment.timezone)}"


async def _slots_for(settings: Settings, specialty: str, first_day: date, hours: tuple[int, int] | None, doctor_id: str | None = None) -> list[tuple[DoctorProfile, datetime]]:
    """The earliest free slots with doctors of this specialty (or one doctor) from first_day on."""
    if doctor_id is not None:
        profiles = await DoctorProfile.find({"doctor_id": PydanticObjectId(doctor_id)}).to_list()
    else:
        profiles = (await list_doctor_profiles(specialty, None))[:DOCTORS_SEARCHED]
    found: list[tuple[DoctorProfile, datetime]] = []
    for profile in profiles:
        resource = doctor_resource(profile)
        for start, _end, _left in await free_slots(settings, resource, first_day, first_day + timedelta(days=SLOT_SEARCH_DAYS)):
            local_hour = start.astimezone(resource.tz).hour
            if hours is None or hours[0] <= local_hour < hours[1]:
                found.append((profile, start))
            if len([f for f in found if f[0] is profile]) >= SLOTS_OFFERED:
                break
    found.sort(key=lambda item: item[1])
    return found[:SLOTS_OFFERED]


# ---- the answer ------------------------------------------------------------------------


async def do_answer_patient_message(conversation_id: str, seq: int) -> bool:
    """Answer one patient message in their assistant conversation (safe to run twice); True when answered."""
    settings = get_settings()
    conversation = await Conversation.get(PydanticObjectId(conversation_id))
    if conversation is None or str(conversation.doctor_id) != ASSISTANT_USER_ID:
        return False
    found = [m async for m in messages_between(conversation_id, seq, seq)]
    if not found or str(found[0]["sender_id"]) != str(conversation.patient_id):
        return False
    state = await AssistantState.get(conversation.id) or AssistantState(id=conversation.id, patient_id=conversation.patient_id)
    if seq <= state.last_seq:
        return False  # answered already (the job ran twice)
    patient = await User.get(conversation.patient_id)
    if patient is None:
        return False
    context = await _patient_context(settings, patient)
    understanding = understander().understand(found[0]["body"], context.emergency_number)
    if understanding.intent in NOTED_INTENTS or understanding.triage.level:
        state.notes = (state.notes + [found[0]["body"][:NOTE_MAX]])[-NOTES_KEPT:]
    if understanding.triage.level:
        state.triage_level = understanding.triage.level
        state.red_flags = understanding.red_flags
        state.specialty_seen = understanding.specialty or state.specialty_seen

    if understanding.triage.level == "emergency":
        reply = await _emergency(settings, context, state, understanding, conversation_id, seq)
    else:
        reply = await _dispatch(settings, context, state, understanding, conversation_id, seq)
    reply.body = await _phrased(settings, reply)
    info = AssistantInfo.model_validate(
        {
            "intent": reply.intent,
            "triage": {"level": understanding.triage.level, "red_flags": understanding.red_flags, "advice": understanding.triage.advice},
            "actions": reply.actions,
        }
    ).model_dump(mode="json")
    await do_send_message(ASSISTANT_USER_ID, str(patient.id), conversation_id, f"assistant-reply-{seq}", reply.body, info)
    state.last_seq = max(state.last_seq, seq)
    state.updated_at = utcnow()
    await state.save()
    if understanding.triage.level == "emergency":
        await _alert_care_team(settings, context, state, understanding, conversation_id, seq)
    await message_writer().wait_published()
    return True


async def _emergency(settings: Settings, context: PatientContext, state: AssistantState, understanding: Understanding, conversation_id: str, seq: int) -> Reply:
    state.flow, state.offered = None, []
    labels = "; ".join(red_flag_label(code) for code in understanding.red_flags)
    body = (
        f"This may be an emergency ({labels.lower()}). Call {context.emergency_number} now, or have someone take you to the nearest "
        "emergency department. Do not wait for an appointment or for a reply here. I have alerted your care team."
    )
    return Reply(body, "symptoms", [{"type": "call_emergency", "number": context.emergency_number, "label": f"Call {context.emergency_number}"}])


async def _alert_care_team(settings: Settings, context: PatientContext, state: AssistantState, understanding: Understanding, conversation_id: str, seq: int) -> None:
    """Urgent alert through the vitals alert path (console; notifications when no doctor is online,
    without the message's text). A patient with no care team is handed to the on-duty doctor first."""
    try:
        if not await care_doctor_ids(str(context.patient.id)):
            await _handover(settings, context, state, conversation_id, seq, reason="an emergency")
        labels = ", ".join(red_flag_label(code) for code in understanding.red_flags)
        finding = Finding(EMERGENCY_ALERT_KEY, f"assistant:{understanding.red_flags[0]}", "critical",
                          f"Possible emergency reported to the assistant in chat ({labels}). Contact the patient now.")
        await do_raise_alert(context.patient, finding, vital_type=None, reading=None, values={"red_flags": ",".join(understanding.red_flags)})
    except Exception:
        log.exception("alerting the care team of patient %s failed", context.patient.id)


async def _dispatch(settings: Settings, context: PatientContext, state: AssistantState, understanding: Understanding, conversation_id: str, seq: int) -> Reply:
    text = understanding.text
    intent = understanding.intent
    # A short reply inside a flow ("2", "tomorrow", "dermatology", "with Dr Okafor") continues it.
    if state.flow == "book" and state.specialty and await _doctor_named(state.specialty, understanding.original):
        return await _offer_booking(settings, context, state, understanding, state.specialty)
    if state.flow == "book" and intent not in ("cancel_appointment", "reschedule_appointment", "list_appointments", "talk_to_human", "clinic_info"):
        choice = choice_asked(text)
        if choice is not None and state.offered:
            return _pick_offered(context, state, choice)
        named = mentioned_specialty(text) or canonical_specialty(text)
        if named or day_asked(text, date.today()) or part_of_day(text) or intent in ("book_appointment", "unknown"):
            return await _offer_booking(settings, context, state, understanding, named)
    if state.flow in ("cancel", "reschedule") and choice_asked(text) is not None and state.listed:
        choice = choice_asked(text)
        index = len(state.listed) - 1 if choice == -1 else choice - 1
        if 0 <= index < len(state.listed):
            state.appointment_id = state.listed[index]
            return await _appointment_action(settings, context, state, state.flow)

    if intent == "greeting":
        return Reply("Hello! I'm the Engage Assistant, an automated helper. I can book, move or cancel appointments, answer questions "
                     "about the clinic, and pass you to a person. If you feel unwell, tell me what is wrong.", intent, rephrasable=True)
    if intent == "goodbye":
        state.flow = None
        return Reply("Goodbye, and take care. I'm here whenever you need me.", intent, rephrasable=True)
    if intent == "thanks":
        return Reply("You're welcome. Is there anything else I can help with?", intent, rephrasable=True)
    if intent in ("symptoms", "book_appointment"):
        return await _offer_booking(settings, context, state, understanding, understanding.mentioned_specialty)
    if intent in ("cancel_appointment", "reschedule_appointment"):
        flow = "cancel" if intent == "cancel_appointment" else "reschedule"
        return await _choose_appointment(settings, context, state, flow, text)
    if intent == "list_appointments":
        return await _list_appointments(context, state)
    if intent == "medication_question":
        return Reply(
            "I can't advise on doses or whether a medicine is right for you: your doctor or pharmacist can. In general, take medicines "
            "as the label and your prescription say, don't stop, double or mix them without advice, and keep the leaflet. "
            "Would you like me to pass your question to a doctor?",
            intent, [_handover_offer()], rephrasable=True,
        )
    if intent == "prescription_refill":
        return Reply("Repeat prescriptions are issued by your doctor. I can pass your request to a doctor now.", intent, [_handover_offer()], rephrasable=True)
    if intent == "test_results":
        return Reply("Your doctor shares and explains test results. I can ask a doctor to get back to you about them.", intent, [_handover_offer()], rephrasable=True)
    if intent == "clinic_info":
        if context.clinic is None:
            return Reply("I don't have a clinic's details for you yet. Ask me to put you through to a person.", intent, [_handover_offer()])
        return Reply(answer_clinic_question(text, await _clinic_facts(context.clinic)), intent)
    if intent == "talk_to_human":
        return await _handover_reply(settings, context, state, conversation_id, seq)
    return Reply(
        "Sorry, I didn't understand that. I can book, move or cancel appointments, answer questions about the clinic, help you "
        "decide how urgent a symptom is, or put you through to a person.",
        "unknown", [_handover_offer()], rephrasable=True,
    )


def _handover_offer() -> dict[str, Any]:
    return {"type": "handover", "conversation_id": None, "label": "Talk to a person"}


def _slot_label(profile: DoctorProfile, start: datetime) -> str:
    return f"{_when(start, profile.timezone)} with {profile.doctor_name}"


async def _offer_booking(settings: Settings, context: PatientContext, state: AssistantState, understanding: Understanding, named: str | None) -> Reply:
    text = understanding.text
    specialty = named or understanding.specialty or state.specialty or (state.specialty_seen if understanding.intent == "book_appointment" else None)
    level = understanding.triage.level
    advice = understanding.triage.advice + " " if understanding.triage.advice else ""
    state.flow = "book"
    if specialty is None:
        state.specialty = None
        offered = [s.name for s in specialty_catalogue().values() if await list_doctor_profiles(s.slug, None)]
        names = ", ".join(offered) if offered else "General practice"
        return Reply(f"Which kind of doctor would you like to see? For example: {names}. You can also tell me what is wrong.", "book_appointment")
    if specialty != state.specialty:
        state.doctor_id = None  # a doctor chosen for another specialty does not carry over
    state.specialty = specialty
    named_doctor = await _doctor_named(specialty, understanding.original)
    if named_doctor is not None:
        state.doctor_id = str(named_doctor.doctor_id)
    today = datetime.now(ZoneInfo(context.timezone)).date()
    first_day = day_asked(text, today) or today
    slots = await _slots_for(settings, specialty, first_day, part_of_day(text), doctor_id=state.doctor_id)
    fallback = ""
    if not slots and specialty != "general_practice" and not await list_doctor_profiles(specialty, None):
        fallback = f"No {specialty_name(specialty)} doctor takes bookings here yet, so here is general practice. "
        slots = await _slots_for(settings, "general_practice", first_day, part_of_day(text))
    state.offered = [OfferedSlot(doctor_id=str(p.doctor_id), start=s) for p, s in slots]
    actions = [{"type": "book_slot", "doctor_id": str(p.doctor_id), "start": s, "label": _slot_label(p, s)} for p, s in slots]
    intent = "symptoms" if understanding.intent == "symptoms" else "book_appointment"
    if level == "urgent":
        actions.append(_handover_offer())
    if not slots:
        return Reply(f"{advice}{fallback}I found no free {specialty_name(specialty)} appointments in the next two weeks. "
                     "I can put you through to a person instead.", intent, [_handover_offer()])
    listing = "; ".join(f"{i}) {_slot_label(p, s)}" for i, (p, s) in enumerate(slots, start=1))
    return Reply(f"{advice}{fallback}The earliest free {specialty_name(specialty)} appointments: {listing}. Tap one to book it, "
                 "or tell me another day.", intent, actions)


_TITLES = {"dr", "doctor", "prof", "professor", "mr", "mrs", "ms", "miss"}


async def _doctor_named(specialty: str, original: str) -> DoctorProfile | None:
    """The doctor of this specialty the message names: their full name, or one of their names after
    "Dr", "doctor", "with" or "see" ("with Dr Okafor"); a bare common word ("will", "may") is not enough."""
    lowered = original.lower()
    words = set(re.findall(r"[a-z0-9][a-z0-9'-]+", lowered))
    for profile in await list_doctor_profiles(specialty, None):
        names = [w for w in re.findall(r"[a-z0-9][a-z0-9'-]+", profile.doctor_name.lower()) if len(w) >= 3 and w not in _TITLES]
        if names and (set(names) <= words or any(re.search(rf"\b(dr\.?|doctor|with|see) {re.escape(n)}\b", lowered) for n in names)):
            return profile
    return None


def _pick_offered(context: PatientContext, state: AssistantState, choice: int) -> Reply:
    offered = state.offered[-1] if choice == -1 else (state.offered[choice - 1] if 0 < choice <= len(state.offered) else None)
    if offered is None:
        return Reply(f"Please pick a number from 1 to {len(state.offered)}.", "book_appointment")
    label = _when(offered.start, context.timezone)
    return Reply(f"Tap to book {label}.", "book_appointment",
                 [{"type": "book_slot", "doctor_id": offered.doctor_id, "start": offered.start, "label": f"Book {label}"}])


async def _choose_appointment(settings: Settings, context: PatientContext, state: AssistantState, flow: str, text: str) -> Reply:
    upcoming = await _upcoming(context.patient)
    ids = [str(a.id) for a in upcoming]
    if state.appointment_id in ids and (refers_back(text) or len(upcoming) == 1):
        return await _appointment_action(settings, context, state, flow)
    if not upcoming:
        state.flow = None
        return Reply("You have no upcoming appointments.", f"{flow}_appointment", [])
    if len(upcoming) == 1:
        state.appointment_id = ids[0]
        return await _appointment_action(settings, context, state, flow)
    state.flow, state.listed = flow, ids
    listing = "; ".join(f"{i}) {_appointment_text(a)}" for i, a in enumerate(upcoming, start=1))
    verb = "cancel" if flow == "cancel" else "move"
    return Reply(f"Which appointment would you like to {verb}? {listing}.", f"{flow}_appointment")


async def _appointment_action(settings: Settings, context: PatientContext, state: AssistantState, flow: str) -> Reply:
    appointment = await Appointment.get(PydanticObjectId(state.appointment_id)) if state.appointment_id else None
    state.flow, state.listed = None, []
    if appointment is None or appointment.status not in ACTIVE:
        return Reply("That appointment is no longer active.", f"{flow}_appointment")
    if flow == "cancel":
        return Reply(f"Cancel your appointment with {_appointment_text(appointment)}? Tap to cancel it.", "cancel_appointment",
                     [{"type": "cancel", "appointment_id": str(appointment.id), "label": "Cancel this appointment"}])
    slots = []
    if appointment.doctor_id is not None:
        today = datetime.now(ZoneInfo(appointment.timezone)).date()
        slots = [s for s in await _slots_for(settings, "", today, None, doctor_id=str(appointment.doctor_id)) if s[1] != appointment.start]
    actions = [{"type": "reschedule", "appointment_id": str(appointment.id), "start": s, "label": f"Move to {_when(s, appointment.timezone)}"} for _, s in slots]
    if not actions:
        actions = [{"type": "reschedule", "appointment_id": str(appointment.id), "label": "Choose a new time"}]
    return Reply(f"Your appointment is with {_appointment_text(appointment)}. Pick a new time:", "reschedule_appointment", actions)


async def _list_appointments(context: PatientContext, state: AssistantState) -> Reply:
    upcoming = await _upcoming(context.patient)
    state.listed = [str(a.id) for a in upcoming]
    state.flow = None
    if not upcoming:
        return Reply("You have no upcoming appointments. Would you like to book one?", "list_appointments")
    state.appointment_id = state.listed[0]  # "cancel it" next means the soonest one, just discussed
    listing = "; ".join(f"{i}) {_appointment_text(a)}" for i, a in enumerate(upcoming, start=1))
    first = str(upcoming[0].id)
    return Reply(f"Your upcoming appointments: {listing}.", "list_appointments", [
        {"type": "reschedule", "appointment_id": first, "label": "Move the next one"},
        {"type": "cancel", "appointment_id": first, "label": "Cancel the next one"},
    ])


# ---- handover --------------------------------------------------------------------------


async def _handover_doctor(patient: User) -> tuple[User | None, bool]:
    """(The doctor to hand over to, whether they are in the patient's care team already): the care
    team's doctor the patient last talked to, else the clinic's on-duty doctor (online first, then
    one whose hours cover now)."""
    care = [PydanticObjectId(d) for d in await care_doctor_ids(str(patient.id))]
    listed = await listed_doctor_ids(care) if care else set()
    if listed:
        conversations = await Conversation.find({"patient_id": patient.id, "doctor_id": {"$in": list(listed)}}).to_list()
        chosen = conversations[-1].doctor_id if conversations else min(listed)
        return await User.get(chosen), True
    profiles = await DoctorProfile.find({}).sort("doctor_name").limit(200).to_list()
    approved = await listed_doctor_ids([p.doctor_id for p in profiles])
    profiles = [p for p in profiles if p.doctor_id in approved]
    if not profiles:
        return None, False
    online = await online_user_ids([str(p.doctor_id) for p in profiles])
    now = datetime.now(UTC)
    on_duty = [p for p in profiles if place_in_availability(p.availability, ZoneInfo(p.timezone), now) != "outside"]
    ranked = [p for p in profiles if str(p.doctor_id) in online] or on_duty or profiles
    return await User.get(ranked[0].doctor_id), False


def _summary(context: PatientContext, state: AssistantState, reason: str) -> str:
    lines = [f"Summary from the Engage Assistant (automated): {context.patient.name} asked for {reason}."]
    if state.notes:
        lines.append("What they told the assistant: " + " / ".join(f'"{n}"' for n in state.notes[-NOTES_KEPT:]))
    if state.triage_level:
        flags = ", ".join(red_flag_label(c) for c in state.red_flags) or "none"
        lines.append(f"Triage by the assistant's rules: {state.triage_level.replace('_', ' ')} (red flags: {flags}).")
    if state.specialty_seen:
        lines.append(f"Suggested specialty: {specialty_name(state.specialty_seen)}.")
    return "\n".join(lines)


async def _handover(settings: Settings, context: PatientContext, state: AssistantState, conversation_id: str, seq: int, reason: str) -> tuple[str | None, User | None]:
    """Open (or reuse) the patient's conversation with their doctor, post the summary there (it
    puts the conversation first in the doctor's list); returns (conversation id, doctor)."""
    doctor, related = await _handover_doctor(context.patient)
    if doctor is None:
        return None, None
    conversation, _ = await do_open_conversation(context.patient.id, doctor.id)
    if not related:
        await do_relate_through_conversation(context.patient.id, doctor.id)
    info = AssistantInfo.model_validate(
        {"intent": "talk_to_human", "triage": {"level": state.triage_level, "red_flags": state.red_flags, "advice": None}, "actions": [], "summary": True}
    ).model_dump(mode="json")
    # Sent as the patient (the doctor's conversation is theirs), marked automated by `assistant`.
    await do_send_message(str(context.patient.id), str(doctor.id), str(conversation.id), f"assistant-handover-{conversation_id}-{seq}", _summary(context, state, reason), info)
    return str(conversation.id), doctor


async def _handover_reply(settings: Settings, context: PatientContext, state: AssistantState, conversation_id: str, seq: int) -> Reply:
    state.flow = None
    handed_to, doctor = await _handover(settings, context, state, conversation_id, seq, reason="a person")
    if handed_to is None or doctor is None:
        phone = f" on {context.clinic.phone}" if context.clinic and context.clinic.phone else ""
        return Reply(f"No doctor is available in the app right now. Please call the clinic{phone}.", "talk_to_human")
    return Reply(f"I've passed your conversation to {doctor.name} with a short summary. They will reply in your chat with them.",
                 "talk_to_human", [{"type": "handover", "conversation_id": handed_to, "label": f"Open chat with {doctor.name}"}])


# ---- optional phrasing -----------------------------------------------------------------

_PRIVATE = re.compile(r"@|\d{3,}|\b[0-9a-f]{24}\b", re.IGNORECASE)


async def _phrased(settings: Settings, reply: Reply) -> str:
    """The body, rephrased by the LLM when one is configured and the body is only our own words."""
    if not (settings.assistant_llm and settings.llm_configured and reply.rephrasable) or _PRIVATE.search(reply.body):
        return reply.body
    try:
        return await rephrase_reply(settings.llm_base_url or "", settings.llm_api_key or "", settings.llm_model or "", settings.llm_timeout_seconds, reply.body)
    except LLMError as exc:
        log.info("assistant phrasing fell back to the template: %s", exc)
        return reply.body
