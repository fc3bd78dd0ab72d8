"""`tinktalker serve`: the HTTP API under uvicorn, the model loaded once before the first request."""

from __future__ import annotations

import asyncio
import logging
import os

import uvicorn

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.api.app import API_KEY_ENV, make_app
from tinktalker.entrypoints.api.binding import announce_when_listening, bind_problem
from tinktalker.entrypoints.api.connections import (
    QuietAcceptErrors,
    guarded_h11,
    raise_open_files_limit,
)
from tinktalker.entrypoints.api.draining import DrainingServer
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.resolving import resolved
from tinktalker.entrypoints.settings import Settings

log = logging.getLogger(__name__)


async def run_serve(container: Container, settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM; requests in flight finish first (up to the request timeout)."""
    prepare_process()
    # Loaded here rather than in the app's lifespan so a missing model ends in one clear line (SetupError).
    await resolved(container.batching_reply_generator())
    app = make_app(container, settings, api_key=os.environ.get(API_KEY_ENV) or None)
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        log_level=settings.logging.level.lower(),
        timeout_graceful_shutdown=int(settings.server.request_timeout_s),
        **connection_options(settings),
    )
    server = DrainingServer(config)
    announcer = asyncio.create_task(announce_when_listening(server, config.host))
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot bind; say why in words
        raise SetupError(bind_problem(config.host, config.port)) from None
    finally:
        announcer.cancel()
    return 0 if server.started else 1


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
