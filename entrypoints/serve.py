"""`tinktalker serve`: the HTTP API under uvicorn, the model loaded once before the first request."""
from __future__ import annotations

import asyncio
import os

import uvicorn

from entrypoints.api_app import API_KEY_ENV, make_app
from entrypoints.container import Container
from entrypoints.settings import Settings


async def run_serve(container: Container, settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """Serve until SIGINT/SIGTERM; requests in flight finish first (up to the request timeout)."""
    # Loaded here rather than in the app's lifespan so a missing model ends in one clear line (SetupError).
    await container.batching_reply_generator()
    app = make_app(container, settings, api_key=os.environ.get(API_KEY_ENV) or None)
    config = uvicorn.Config(app, host=host or settings.server.host, port=port or settings.server.port,
                            log_config=None, log_level=settings.logging.level.lower(),
                            timeout_graceful_shutdown=int(settings.server.request_timeout_s))
    server = uvicorn.Server(config)
    await server.serve()
    return 0 if server.started else 1


def serve(container: Container, settings: Settings, host: str | None, port: int | None) -> int:
    return asyncio.run(run_serve(container, settings, host, port))
