"""One log line and one count per HTTP request: method, route (the URL rule), status, duration, user, id.

The request id comes from a sane incoming X-Request-ID (a proxy's) or is made here, is on every
line logged while the request is handled (engage.logs), and goes back in the X-Request-ID header.
"""

from __future__ import annotations

import logging
import time

from quart import Response
from quart import g
from quart import request

from engage import metrics
from engage.logs import log_context
from engage.logs import request_id_from

log = logging.getLogger("engage.http")

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED = "<unmatched>"  # a path no route matches (a 404): one label, whatever was asked


async def start_request() -> None:
    """Before everything else of a request: its id and its start."""
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.started = time.perf_counter()
    log_context.set({"request_id": g.request_id})


async def finish_request(response: Response) -> Response:
    """After the view or the error handler: the request's line, its count, and its id header."""
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    started = g.get("started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    user = g.get("user")
    fields = {
        "request_id": g.get("request_id"),
        "method": request.method,
        "route": route,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "user_id": str(user.id) if user is not None else None,
    }
    log.info("%s %s %s %s ms", request.method, route, response.status_code, duration_ms, extra=fields)
    metrics.http_request(request.method, route, response.status_code)
    if g.get("request_id"):
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response
