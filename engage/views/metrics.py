"""GET /metrics: Prometheus's text format, every Engage process's figures added up (engage.metrics)."""

from __future__ import annotations

import hmac

from quart import Blueprint
from quart import Response
from quart import current_app
from quart import request
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from engage import extensions
from engage import metrics
from engage.config import get_settings
from engage.errors import unauthorized

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
async def metrics_text():
    token = get_settings().metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise unauthorized("Send the metrics token (ENGAGE_METRICS_TOKEN) as 'Authorization: Bearer <token>'.")
    metrics.count_sockets(current_app.extensions["sio"].eio)  # this process's sockets as of now
    body = metrics.exposition(await metrics.queue_depths(extensions.redis_client(), extensions.QUEUE_NAMES))
    return Response(body, status=200, content_type=CONTENT_TYPE_PLAIN_0_0_4)
