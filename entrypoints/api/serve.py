"""`tinktalker serve`: the HTTP API under uvicorn, the model loaded once before the first
request."""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from litestar.types import ASGIApp

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.api.access_log import show_access_lines
from tinktalker.entrypoints.api.app import make_app
from tinktalker.entrypoints.api.binding import (
    announce_when_listening,
    bind_problem,
    listening_socket,
)
from tinktalker.entrypoints.api.connections import (
    QuietAcceptErrors,
    guarded_h11,
    raise_open_files_limit,
)
from tinktalker.entrypoints.api.draining import DrainingServer
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.environment_secrets import API_KEY_ENV, read_secrets
from tinktalker.entrypoints.random_weights import random_weights_note
from tinktalker.entrypoints.resolving import resolved
from tinktalker.entrypoints.settings import Settings

log = logging.getLogger(__name__)


async def run_serve(container: Container, settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM; requests in flight finish first (up to the request timeout)."""
    prepare_process()
    # Bound first, so a busy port is one line at once; then loaded here rather than in the app's
    # lifespan so a missing model ends in one clear line too (SetupError).
    sock = listening_socket(settings.server.host, settings.server.port)
    try:
        await resolved(container.batching_reply_generator())
        api_key = read_secrets().api_key or None
        app = make_app(container, settings, api_key=api_key)
        show_access_lines(settings.logging.level)
        server = DrainingServer(_uvicorn_config(app.state.access_log.middleware(app), settings))
        inner = await resolved(container.reply_generator())  # already open: no wait
        about = start_block(settings, getattr(inner, "runs_as", ""), api_key)
        announcer = asyncio.create_task(announce_when_listening(server, server.config.host, about))
        try:
            await server.serve(sockets=[sock])
        except SystemExit:  # uvicorn exits when it cannot serve; say why in words
            raise SetupError(bind_problem(server.config.host, server.config.port)) from None
        finally:
            announcer.cancel()
    finally:
        sock.close()
    return 0 if server.started else 1


def _uvicorn_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        log_level=settings.logging.level.lower(),
        timeout_graceful_shutdown=int(settings.server.request_timeout_s),
        **connection_options(settings),
    )


def start_block(settings: Settings, runs_as: str, api_key: str | None) -> list[str]:
    """What this server runs, said once at start above the listening line."""
    model, batching = settings.model, settings.batching
    if settings.generator.backend == "http":
        engine = f"a model server at {settings.generator.http.base_url} (generator.backend: http)"
    else:
        engine = runs_as or f"{model.engine} (model.engine)"
    return [
        f"model:    {model.name_or_path}{random_weights_note(model.name_or_path)}",
        f"engine:   {engine}",
        f"batching: up to {batching.max_batch_size} replies per model call, waiting "
        f"{batching.max_wait_s * 1000:g} ms for company, {batching.max_queue} queued at most",
        f"API key:  {'required' if api_key else 'not required'} ({API_KEY_ENV})",
    ]


def serve(container: Container, settings: Settings) -> int:
    return asyncio.run(run_serve(container, settings))


def connection_options(settings: Settings) -> dict:
    """uvicorn.Config options for connection hygiene (see connections.py)."""
    server = settings.server
    return {
        "http": guarded_h11(server.idle_timeout_s, server.header_timeout_s, server.max_connections),
        "timeout_keep_alive": max(1, round(server.idle_timeout_s)),
        "limit_concurrency": server.max_connections + 1,
    }  # uvicorn counts the connection asking


def prepare_process() -> None:
    """Before serving: a higher open-files limit, and one quiet line when descriptors run out."""
    soft, hard = raise_open_files_limit()
    log.debug("open-files limit %d (hard %d)", soft, hard)
    asyncio.get_running_loop().set_exception_handler(QuietAcceptErrors())
