"""Shared fixtures: a tiny random GPT-2 dialogue model on disk, built once per test session.

Also marks tests `slow` (left out by `make test-fast`): every test of a module that starts
processes or servers (it imports subprocess, uvicorn, a loopback server or the Bot API stand-in),
and every test that asks for a fixture that does (`api`). Other slow tests say @pytest.mark.slow.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from pathlib import Path

import pytest

# what a module imports when its tests start a process, a server on loopback or the bot's client
PROCESS_MODULES = frozenset(
    {
        "subprocess",
        "uvicorn",
        "devkit.loopback_server",
        "devkit.bot_api_stand_in",
        "devkit.bot_run",
        "tests.api_app_under_test",
    }
)
PROCESS_FIXTURES = frozenset({"api"})

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())) or (
            module is not None and _starts_processes(module)
        ):
            item.add_marker(pytest.mark.slow)


def _starts_processes(module: types.ModuleType) -> bool:
    for value in vars(module).values():
        name = (
            value.__name__
            if isinstance(value, types.ModuleType)
            else getattr(value, "__module__", None)
        )
        if name in PROCESS_MODULES:
            return True
    return False


def pytest_sessionstart(session: pytest.Session) -> None:
    # Tests marked `forked` (native engines) run in children of this process: the session's
    # temporary folder is made here, once, so that what they build is shared through it.
    session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]) -> Path:
    """`build(folder)` once per test session, also across forked children (they share the disk)."""
    folder = factory.getbasetemp() / name
    built = folder / ".built"
    if built.exists():
        return Path(built.read_text())
    folder.mkdir(exist_ok=True)
    result = build(folder)
    built.write_text(str(result))
    return result


@pytest.fixture(scope="session", autouse=True)
def conversion_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """model.engine auto converts models for CTranslate2 into the user's cache folder: tests use
    their own."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from devkit.tiny_model import build_tiny_model

    return built_once(tmp_path_factory, "tiny-model", build_tiny_model)


@pytest.fixture
def api():
    """A Bot API stand-in on loopback for the bot's end-to-end tests."""
    from devkit.bot_api_stand_in import BotApiStandIn
    from devkit.bot_run import TOKEN

    with BotApiStandIn(TOKEN) as stand_in:
        yield stand_in


def pytest_configure(config: pytest.Config) -> None:
    # pytest-forked 1.7 copies a report's fields as they are, and pytest 9 keeps the node id as a
    # NodeId there, which marshal (its way back from the child) refuses: pass it as the plain
    # string.
    import pytest_forked

    copied = pytest_forked.serialize_report

    def serialized(report: pytest.TestReport) -> dict:
        fields = copied(report)
        if "_id" in fields:
            fields["nodeid"] = str(fields.pop("_id"))
        return fields

    pytest_forked.serialize_report = serialized
