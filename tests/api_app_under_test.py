"""The API app wired through the container, with the generator and prompt meter overridden by
fakes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dependency_injector import providers

from devkit.loopback_server import serving_in_thread
from tinktalker.entrypoints.api.app import make_app
from tinktalker.entrypoints.container import make_container
from tinktalker.entrypoints.settings import (
    BatchingSettings,
    ServerSettings,
    Settings,
    StoreSettings,
)


@contextmanager
def api_server(
    generator, meter=None, api_key: str | None = None, batching: dict | None = None, **server
) -> Iterator[str]:
    """A real uvicorn on loopback serving the app; yields its base URL."""
    settings = Settings(
        server=ServerSettings(**server),
        batching=BatchingSettings(**(batching or {})),
        store=StoreSettings(backend="memory"),
    )
    container = make_container(settings)
    with (
        container.reply_generator.override(providers.Object(generator)),
        container.prompt_meter.override(providers.Object(meter)),
    ):
        with serving_in_thread(make_app(container, settings, api_key)) as url:
            yield url
