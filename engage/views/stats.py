"""GET /api/admin/stats: what the admin page's statistics section shows."""

from __future__ import annotations

from quart import Blueprint

from engage.lib.stats import clinic_stats
from engage.views.http import read_query
from schemas.stats import StatsQuery

blueprint = Blueprint("admin_stats", __name__, url_prefix="/api/admin")


@blueprint.get("/stats")
async def stats():
    query = read_query(StatsQuery)
    return (await clinic_stats(query.days)).model_dump(mode="json")
