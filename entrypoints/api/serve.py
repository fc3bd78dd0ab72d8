"""`tinktalker serve`: the HTTP API under uvicorn, the model loaded once before the first request."""
from __future__ import annotations

import asyncio
import os

import uvicorn

from domain.errors import SetupError
from entrypoints.api.app import API_KEY_ENV, make_app
from entrypoints.api.binding import announce_when_listening, bind_problem
from entrypoints.container import Container
from entrypoints.settings import Settings


async def run_serve(container: Container, settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM; requests in flight finish first (up to the request timeout)."""
    # Loaded here rather than in the app's lifespan so a missing model ends in one clear line (SetupError).
    await container.batching_reply_generator()
    app = make_app(container, settings, api_key=os.environ.get(API_KEY_ENV) or None)
    config = uvicorn.Config(app, host=settings.server.host, port=settings.server.port,
                            log_config=None, log_level=settings.logging.level.lower(),
                            timeout_graceful_shutdown=int(settings.server.request_timeout_s))
    server = uvicorn.Server(config)
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
