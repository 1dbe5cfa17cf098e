"""The clinical record over HTTP: the timeline, notes, problems, allergies, lab results, entered-in-error."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.records import check_add_allergy
from engage.actions.records import check_add_lab_result
from engage.actions.records import check_add_problem
from engage.actions.records import check_amend_encounter
from engage.actions.records import check_create_encounter
from engage.actions.records import check_mark_entered_in_error
from engage.actions.records import check_read_encounter
from engage.actions.records import check_sign_encounter
from engage.actions.records import check_update_allergy
from engage.actions.records import check_update_encounter
from engage.actions.records import check_update_problem
from engage.actions.records_search import check_search_record
from engage.actions.records_timeline import check_read_record
from engage.lib.records import allergy_out
from engage.lib.records import encounter_out
from engage.lib.records import lab_result_out
from engage.lib.records import problem_out
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.records import AllergyRequest
from schemas.records import AllergyUpdateRequest
from schemas.records import EncounterAmendRequest
from schemas.records import EncounterCreateRequest
from schemas.records import EncounterUpdateRequest
from schemas.records import EnteredInErrorRequest
from schemas.records import LabResultRequest
from schemas.records import ProblemRequest
from schemas.records import ProblemUpdateRequest
from schemas.records import SearchQuery
from schemas.records import TimelineQuery

blueprint = Blueprint("records", __name__, url_prefix="/api")


def _who() -> tuple[str, str]:
    user = current_user()
    return str(user.id), user.role.value


@blueprint.get("/patients/<patient_id>/record")
async def patient_record(patient_id: str):
    record = await check_read_record(*_who(), patient_id, read_query(TimelineQuery))
    return record.model_dump(mode="json")


@blueprint.get("/patients/<patient_id>/record/search")
async def search_record(patient_id: str):
    found = await check_search_record(*_who(), patient_id, read_query(SearchQuery))
    return found.model_dump(mode="json")


@blueprint.get("/me/record")
async def my_record():
    user_id, role = _who()
    record = await check_read_record(user_id, role, user_id, read_query(TimelineQuery))
    return record.model_dump(mode="json")


@blueprint.post("/patients/<patient_id>/encounters")
async def create_encounter(patient_id: str):
    encounter = await check_create_encounter(*_who(), patient_id, await read_json(EncounterCreateRequest))
    return {"encounter": encounter_out(encounter).model_dump(mode="json")}, 201


@blueprint.get("/patients/<patient_id>/encounters/<encounter_id>")
async def read_encounter(patient_id: str, encounter_id: str):
    encounter = await check_read_encounter(*_who(), patient_id, encounter_id)
    return {"encounter": encounter_out(encounter).model_dump(mode="json")}


@blueprint.patch("/patients/<patient_id>/encounters/<encounter_id>")
async def update_encounter(patient_id: str, encounter_id: str):
    encounter = await check_update_encounter(*_who(), patient_id, encounter_id, await read_json(EncounterUpdateRequest))
    return {"encounter": encounter_out(encounter).model_dump(mode="json")}


@blueprint.post("/patients/<patient_id>/encounters/<encounter_id>/sign")
async def sign_encounter(patient_id: str, encounter_id: str):
    encounter = await check_sign_encounter(*_who(), patient_id, encounter_id)
    return {"encounter": encounter_out(encounter).model_dump(mode="json")}


@blueprint.post("/patients/<patient_id>/encounters/<encounter_id>/amend")
async def amend_encounter(patient_id: str, encounter_id: str):
    encounter = await check_amend_encounter(*_who(), patient_id, encounter_id, await read_json(EncounterAmendRequest))
    return {"encounter": encounter_out(encounter).model_dump(mode="json")}


@blueprint.post("/patients/<patient_id>/problems")
async def add_problem(patient_id: str):
    problem = await check_add_problem(*_who(), patient_id, await read_json(ProblemRequest))
    return {"problem": problem_out(problem).model_dump(mode="json")}, 201


@blueprint.patch("/patients/<patient_id>/problems/<problem_id>")
async def update_problem(patient_id: str, problem_id: str):
    problem = await check_update_problem(*_who(), patient_id, problem_id, await read_json(ProblemUpdateRequest))
    return {"problem": problem_out(problem).model_dump(mode="json")}


@blueprint.post("/patients/<patient_id>/allergies")
async def add_allergy(patient_id: str):
    allergy = await check_add_allergy(*_who(), patient_id, await read_json(AllergyRequest))
    return {"allergy": allergy_out(allergy).model_dump(mode="json")}, 201


@blueprint.patch("/patients/<patient_id>/allergies/<allergy_id>")
async def update_allergy(patient_id: str, allergy_id: str):
    allergy = await check_update_allergy(*_who(), patient_id, allergy_id, await read_json(AllergyUpdateRequest))
    return {"allergy": allergy_out(allergy).model_dump(mode="json")}


@blueprint.post("/patients/<patient_id>/lab-results")
async def add_lab_result(patient_id: str):
    result = await check_add_lab_result(*_who(), patient_id, await read_json(LabResultRequest))
    return {"lab_result": lab_result_out(result).model_dump(mode="json")}, 201


@blueprint.post("/patients/<patient_id>/record/<kind>/<item_id>/entered-in-error")
async def entered_in_error(patient_id: str, kind: str, item_id: str):
    request = await read_json(EnteredInErrorRequest)
    await check_mark_entered_in_error(*_who(), patient_id, kind, item_id, request.reason)
    return {"kind": kind, "id": item_id, "status": "entered_in_error"}
