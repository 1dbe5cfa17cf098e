"""Searching a patient's record: notes, lab results, problems, allergies and documents' text (audited).

Each kind is one bounded query for the patient's newest entries; engage.lib.records_search ranks
them. When an LLM is configured, the query alone (never the record) may be re-phrased into
keywords that widen the search.
"""

from __future__ import annotations

import logging

from beanie import PydanticObjectId

from engage.actions.records import access_record_reader
from engage.config import get_settings
from engage.integrations.llm import LLMError
from engage.integrations.llm import search_keywords
from engage.lib.records_search import SearchDoc
from engage.lib.records_search import query_terms
from engage.lib.records_search import rank
from engage.lib.records_search import snippet
from engage.models.document import MedicalDocument
from engage.models.records import ENTERED_IN_ERROR
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.user import Role
from engage.models.user import User
from schemas.records import SearchHit
from schemas.records import SearchOut
from schemas.records import SearchQuery

log = logging.getLogger(__name__)

# The newest entries of each kind that a search looks through.
SEARCH_DEPTH = {"encounter": 300, "lab_result": 1000, "problem": 300, "allergy": 300, "document": 200}


async def _candidates(patient: User, viewer_id: str, viewer_role: str) -> list[SearchDoc]:
    current = {"patient_id": patient.id}
    notes = {**current, "status": "signed"} if viewer_role != Role.doctor.value else {
        **current, "status": {"$ne": ENTERED_IN_ERROR}, "$or": [{"status": "signed"}, {"author_id": PydanticObjectId(viewer_id)}]}
    docs: list[SearchDoc] = []
    for e in await Encounter.find(notes).sort(-Encounter.occurred_at).limit(SEARCH_DEPTH["encounter"]).to_list():
        text = "\n".join(f"{part.capitalize()}: {getattr(e.soap, part)}" for part in ("subjective", "objective", "assessment", "plan") if getattr(e.soap, part))
        docs.append(SearchDoc("encounter", str(e.id), e.occurred_at, f"Visit note by {e.author_name}", text))
    for r in await LabResult.find({**current, "status": {"$ne": ENTERED_IN_ERROR}}).sort(-LabResult.taken_at).limit(SEARCH_DEPTH["lab_result"]).to_list():
        title = f"{r.test_name} {r.value:g} {r.unit}"
        docs.append(SearchDoc("lab_result", str(r.id), r.taken_at, title, f"{title} {r.flag} {r.loinc or ''}"))
    for p in await Problem.find({**current, "status": {"$ne": ENTERED_IN_ERROR}}).sort(-Problem.recorded_at).limit(SEARCH_DEPTH["problem"]).to_list():
        docs.append(SearchDoc("problem", str(p.id), p.recorded_at, p.condition, f"{p.condition} {p.icd10 or ''} {p.status}"))
    for a in await Allergy.find({**current, "status": {"$ne": ENTERED_IN_ERROR}}).sort(-Allergy.recorded_at).limit(SEARCH_DEPTH["allergy"]).to_list():
        docs.append(SearchDoc("allergy", str(a.id), a.recorded_at, f"Allergy: {a.substance}", f"allergy {a.substance} {a.reaction or ''} {a.severity}"))
    documents = MedicalDocument.find({**current, "record_status": {"$ne": ENTERED_IN_ERROR}}).sort(-MedicalDocument.uploaded_at)
    for d in await documents.limit(SEARCH_DEPTH["document"]).to_list():
        name = d.filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ")
        docs.append(SearchDoc("document", str(d.id), d.uploaded_at, d.filename, f"{name}\n{d.summary or ''}\n{d.text}"))
    return docs


async def _rephrased(query: str) -> str | None:
    settings = get_settings()
    if not (settings.llm_configured and settings.record_search_llm):
        return None
    try:
        return await search_keywords(settings.llm_base_url, settings.llm_api_key, settings.llm_model, settings.llm_timeout_seconds, query)
    except LLMError as exc:
        log.warning("record search: LLM re-phrasing failed (%s); searching the words as typed", exc)
        return None


async def check_search_record(user_id: str, role: str, patient_id: str, query: SearchQuery) -> SearchOut:
    """The patient's entries that best match a free-text query (the patient, or a related doctor: audited)."""
    patient = await access_record_reader(user_id, role, patient_id, "record.search")
    terms = query_terms(query.q)
    rephrased = await _rephrased(query.q)
    if rephrased:
        terms += [t for t in query_terms(rephrased) if t not in terms]
    ranked = rank(await _candidates(patient, user_id, role), terms, query.limit)
    hits = [SearchHit(kind=d.kind, id=d.id, at=d.at, title=d.title, snippet=snippet(d, terms), score=s) for d, s in ranked]
    return SearchOut(query=query.q, terms=terms, rephrased=rephrased, hits=hits)
