"""The Litestar app of `tinktalker serve`: built by `make_app`, nothing happens at import time."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from tinktalker.entrypoints.api.access_log import AccessLog
from tinktalker.entrypoints.api.binding import DOCS_PATH
from tinktalker.entrypoints.api.docs_page import docs_assets_router, docs_render_plugins
from tinktalker.entrypoints.api.limits import ApiLimits, bound_by_model
from tinktalker.entrypoints.api.metrics import ApiMetrics
from tinktalker.entrypoints.api.openapi_examples import ExampleFacts
from tinktalker.entrypoints.api.openapi_truth import SchemaTruth, TruthfulJsonRenderPlugin
from tinktalker.entrypoints.api.probes import health, ready, scrape
from tinktalker.entrypoints.api.request_body import JsonBodyRequest
from tinktalker.entrypoints.api.request_types import (
    UNSUPPORTED,
    AnswerRequest,
    ChatCompletionRequest,
    CompletionRequest,
)
from tinktalker.entrypoints.api.routes import generation_router
from tinktalker.entrypoints.api.serving import ApiError, ClientGone, Serving
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.resolving import resolved
from tinktalker.entrypoints.settings import Settings

log = logging.getLogger(__name__)


def make_app(container: Container, settings: Settings, api_key: str | None = None) -> Litestar:
    """The API over the container's batching generator; with `api_key`, generating endpoints want
    it as a bearer."""
    serving = Serving(
        _limits(settings),
        settings.server.model_id,
        min(settings.generation.max_new_tokens, settings.server.max_tokens),
        settings.server.request_timeout_s,
        model_created=model_created(settings.model.name_or_path),
    )
    guards = [_bearer_guard(api_key)] if api_key else []
    metrics = ApiMetrics(
        {
            "/answer",
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/models",
            "/health",
            "/ready",
            "/metrics",
            "/",
        },
        lambda: serving.stats(),
    )
    access = AccessLog()
    serving.on_tokens.extend([metrics.count_tokens, access.count_tokens])

    routes: list[ControllerRouterHandler] = [
        generation_router(guards),
        health,
        ready,
        scrape,
        home,
        docs_assets_router(),
    ]
    app = Litestar(
        route_handlers=routes,
        dependencies={
            "serving": Provide(lambda: serving, use_cache=True, sync_to_thread=False),
            "metrics": Provide(lambda: metrics, use_cache=True, sync_to_thread=False),
        },
        lifespan=[_lifespan(container, serving)],
        middleware=[metrics.middleware],
        request_class=JsonBodyRequest,
        request_max_body_size=serving.limits.max_body_bytes,
        openapi_config=_openapi(serving, bool(api_key), _facts(settings)),
        # Litestar's default logging writes through a queue thread whose last records are lost
        # when uvicorn re-raises SIGTERM at exit; the process's own root logging writes
        # synchronously, in one format.
        logging_config=None,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            ClientGone: _client_gone,
            Exception: _unexpected,
        },
    )
    # Route middleware never sees an unknown path; `serve` wraps the whole app in this, so every
    # request gets its line
    app.state.access_log = access
    return app


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect(DOCS_PATH)


def model_created(name_or_path: str) -> int:
    """When a local model folder was written (its config.json, else the folder); 0 for a hub id."""
    folder = Path(name_or_path).expanduser()
    for written in (folder / "config.json", folder):
        try:
            return int(written.stat().st_mtime)
        except OSError:
            continue
    return 0


def _limits(settings: Settings) -> ApiLimits:
    server = settings.server
    return ApiLimits(
        max_messages=server.max_messages,
        max_message_chars=server.max_message_chars,
        max_prompt_tokens=server.max_prompt_tokens,
        max_tokens=server.max_tokens,
        max_n=server.max_n,
        max_body_bytes=server.max_body_bytes,
    )


def _lifespan(container: Container, serving: Serving):
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        generator = await resolved(container.batching_reply_generator())  # loaded by `serve`
        serving.replies = await resolved(container.api_replies())
        bound_by_model(serving, await serving.replies.longest_reply())
        serving.stats = lambda: getattr(generator, "stats", None)
        serving.ready = True
        try:
            yield
        finally:
            serving.ready = False
            closing = container.shutdown_resources()
            if closing is not None:  # a future when any async resource was open
                await closing

    return lifespan


def _bearer_guard(api_key: str):
    expected = api_key.encode()

    def require_key(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        scheme, _, given = connection.headers.get("authorization", "").strip().partition(" ")
        # The scheme is case-insensitive (RFC 9110 11.1); the key is compared in constant time.
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise NotAuthorizedException(
                "a valid API key is required: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_key


def _facts(settings: Settings) -> ExampleFacts:
    server = settings.server
    return ExampleFacts(
        server.model_id, server.max_tokens, settings.batching.max_queue, server.request_timeout_s
    )


def _openapi(serving: Serving, secured: bool, facts: ExampleFacts) -> OpenAPIConfig:
    limits = serving.limits
    description = (
        "TinkTalker replies: the original /answer and an OpenAI-compatible subset. Limits: "
        f"request body {limits.max_body_bytes} bytes, {limits.max_messages} messages of "
        f"{limits.max_message_chars} "
        f"characters, {limits.max_prompt_tokens} prompt tokens, max_tokens {limits.max_tokens}, "
        f'n {limits.max_n}. Errors are JSON: {{"error": {{"message", "type", "code"}}}}.'
    )
    truth = SchemaTruth(
        bodies={
            "/answer": AnswerRequest,
            "/v1/chat/completions": ChatCompletionRequest,
            "/v1/completions": CompletionRequest,
        },
        streaming_paths={"/v1/chat/completions", "/v1/completions"},
        limits=lambda: serving.limits,
        model_id=serving.model_id,
        secured=secured,
    )
    published = TruthfulJsonRenderPlugin(truth, facts)
    plugins = [published, *docs_render_plugins(published)]
    config = OpenAPIConfig(
        title="TinkTalker API", version="1", description=description, render_plugins=plugins
    )
    if secured:
        config.components = Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
        )
        config.security = [{"bearer": []}]
    return config


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        {"error": {"message": message, "type": kind, "code": status}},
        status_code=status,
        headers=headers or {},
        media_type="application/json",
    )


def _api_error(_: Request, error: ApiError) -> Response:
    return _error(error.status_code, error.message, error.kind, error.headers)


def _http_error(_: Request, error: HTTPException) -> Response:
    message = error.detail
    if isinstance(error, ValidationException) and isinstance(error.extra, list):
        message += ": " + "; ".join(_problem(e) for e in error.extra if isinstance(e, dict))
    kind = "invalid_request_error" if error.status_code < 500 else "server_error"
    return _error(error.status_code, message, kind, error.headers)


def _problem(problem: dict) -> str:
    key = str(problem.get("key") or "body")
    text = f"{key}: {problem.get('message')}"
    if key in UNSUPPORTED:
        off = UNSUPPORTED[key]
        fix = off if off == "leave it out" else f"send {off}"
        text += f" ({key} is not supported by this server; {fix})"
    return text


def _client_gone(_: Request, __: ClientGone) -> Response:
    return _error(499, "the client closed the connection", "client_closed")


def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=error)
    return _error(500, "internal error; it has been logged", "server_error")
