"""The web process: Quart for HTTP, wrapped by Socket.IO, both on one port."""

from __future__ import annotations

import importlib
import logging
import math
from pathlib import Path

import redis.exceptions
import socketio
import uvicorn
from pymongo.errors import ConnectionFailure
from quart import Quart
from quart import request
from werkzeug.exceptions import HTTPException

from engage import extensions
from engage import metrics
from engage.actions.assistant import warm_up_assistant
from engage.actions.messages import note_delivered_message
from engage.actions.users import ensure_admin
from engage.config import Settings
from engage.errors import ApiError
from engage.errors import unavailable_error
from engage.lib.availability_view import AvailabilityView
from engage.lib.booking import occupied_intervals
from engage.lib.no_store import NoStoreSocketIOApp
from engage.lib.protocol_logging import log_malformed_packets_briefly
from engage.lib.runtime import tune_garbage_collector
from engage.sockets import build_socketio_server
from engage.views.documents import document_upload_request_class
from engage.views.http import authorize_request
from engage.views.request_log import finish_request
from engage.views.request_log import start_request
from engage.views import BLUEPRINT_MODULES

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_quart_app(settings: Settings, sio: socketio.AsyncServer) -> Quart:
    app = Quart(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["sio"] = sio
    for module_name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module_name).blueprint)
    # Every request gets an id and one log line and count (first in, so even a refusal has them),
    # then passes the route's rule in engage.policy before its view runs.
    app.before_request(start_request)
    app.after_request(finish_request)
    app.before_request(authorize_request)
    # Document uploads (and only they) may be larger than other bodies.
    app.request_class = document_upload_request_class(settings.document_max_bytes)

    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError):
        # HTTP clients and proxies read the wait from the header; the body keeps it for sockets' sake.
        retry_after = exc.extra.get("retry_after")
        headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else {}
        return exc.to_json(), exc.status, headers

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException):
        status = exc.code or 500
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 400: "bad_request"}
        code = codes.get(status, "http_error")
        message = {404: "There is nothing at this address.", 413: f"The request body is larger than {settings.max_body_bytes} bytes."}.get(
            status, exc.description or exc.name
        )
        return {"error": {"code": code, "message": message}}, status

    @app.errorhandler(ConnectionFailure)
    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    async def service_outage(exc: Exception):
        # The database or Redis is restarting: a 503 the client may retry, not a 500.
        log.warning("request failed while a service is unavailable: %s", exc)
        return await api_error(unavailable_error(exc))

    @app.errorhandler(Exception)
    async def unexpected_error(exc: Exception):
        log.exception("unhandled error")
        return {"error": {"code": "internal_error", "message": "Something went wrong on the server."}}, 500

    @app.after_request
    async def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/api/", "/fhir/")):
            # Health data must not linger in shared or browser caches.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.before_serving
    async def start_services() -> None:
        # No data is migrated here: app.py checked the version first (engage/migrations.py).
        await extensions.init_database(settings)
        extensions.init_redis(settings)
        extensions.set_emitter(sio)
        # Slot events from this and every other process keep the view of taken slots fresh, and
        # chat messages any process stored tell this process's chat writer their seqs.
        availability = AvailabilityView(occupied_intervals)
        sio.manager.observe_emits(availability.observe, note_delivered_message)
        extensions.set_availability_view(availability)
        # python-socketio starts its Redis listener at the first connection; start it now so
        # /healthz can check it (and events from other processes reach the first client at once).
        if not sio.manager_initialized:
            sio.manager_initialized = True
            sio.manager.initialize()
        if settings.admin_email and settings.admin_password:
            await ensure_admin(settings.admin_email, settings.admin_password)
        await warm_up_assistant()  # the intent model trains in about a second, before the first request
        app.add_background_task(metrics.count_sockets_forever, sio.eio)
        # The socket layer's serving tasks (token expiry, typing, presence), listed where the server is built.
        for start_task in sio.serving_tasks:
            app.add_background_task(start_task, settings)

    @app.after_serving
    async def stop_services() -> None:
        await extensions.close_redis()
        await extensions.close_database()

    return app


def create_asgi_app(settings: Settings) -> socketio.ASGIApp:
    """Quart behind Socket.IO; lifespan events pass through to Quart's serving hooks."""
    sio = build_socketio_server(settings)
    quart_app = create_quart_app(settings, sio)
    return NoStoreSocketIOApp(sio, other_asgi_app=quart_app, socketio_path="socket.io")


def run_web(settings: Settings) -> None:
    log_malformed_packets_briefly()  # before the Socket.IO server is built (see the module)
    asgi_app = create_asgi_app(settings)
    tune_garbage_collector(settings.gc_young_threshold)
    uvicorn.run(
        asgi_app,
        host=settings.host,
        port=settings.port,
        # The C implementations (requirements.txt), named so a missing one fails at start
        # instead of falling back to the slower pure-Python ones.
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        # Measured with a bare relay: deflate cost about 15% of the acks per second and doubled the
        # memory per idle socket (79 KB instead of 42).
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=2,  # open long-polls would otherwise hold shutdown
        log_level=settings.log_level,
        log_config=None,  # uvicorn's lines go through the root logger's format (engage.logs)
        access_log=False,
        lifespan="on",
    )
