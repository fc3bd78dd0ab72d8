"""Runs the real bot (`entrypoints.bot.run.run_bot`) in a thread with its own event loop, against a
stand-in."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from devkit.bot_api_stand_in import BotApiStandIn
from tinktalker.entrypoints.bot.run import run_bot
from tinktalker.entrypoints.container import Container, make_container
from tinktalker.entrypoints.settings import Settings

TOKEN = "123456789:AAH-stand_in-SECRET-token_Zx9abcdef"
ALICE = {"id": 1001, "is_bot": False, "first_name": "Alice"}
BOB = {"id": 1002, "is_bot": False, "first_name": "Bob"}
CAROL = {"id": 1003, "is_bot": False, "first_name": "Carol"}
DAVE = {"id": 1004, "is_bot": False, "first_name": "Dave"}
ERIN = {"id": 1005, "is_bot": False, "first_name": "Erin"}
GROUP = {"id": -2001, "type": "group", "title": "Investors"}


def private(user: dict) -> dict:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def bot_settings(api: BotApiStandIn, db: Path | None, **bot: Any) -> Settings:
    """Fast settings for tests: short polling and typing intervals, a 3 s reply timeout."""
    dialogue = bot.pop("dialogue", {})
    return Settings.model_validate(
        {
            "bot": {
                "api_base_url": api.base_url,
                "polling_timeout_s": 1,
                "typing_interval_s": 0.2,
                **bot,
            },
            "dialogue": {"reply_timeout_s": 3, **dialogue},
            "store": {"backend": "sqlite", "sqlite_path": str(db)} if db else {"backend": "memory"},
        }
    )


class BotRun:
    """`with BotRun(...)`: the bot is up (it has polled once) inside the block and fully stopped
    after it."""

    def __init__(
        self,
        api: BotApiStandIn,
        settings: Settings,
        generator=None,
        env: dict[str, str] | None = None,
        container: Container | None = None,
        inbox=None,
    ) -> None:
        self.api = api
        self.settings = settings
        self.container = container or make_container(settings)
        self.generator = generator
        if inbox is not None:  # e.g. a WatchedUpdateInbox, to wait until an update was handled
            self.container.update_inbox.override(inbox)
        self.env = {"TELEGRAM_TOKEN": TOKEN} if env is None else env
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="bot-under-test", daemon=True)

    def __enter__(self) -> BotRun:
        self._thread.start()
        if not self._started.wait(15):
            raise AssertionError("the bot loop never started")
        online = "getUpdates" if self.settings.bot.mode == "polling" else "setWebhook"
        self.api.wait_for(
            lambda: self.error is not None or self.api.sent(online), 15, "the bot to come online"
        )
        if self.error is not None:
            self._thread.join(5)
            raise self.error
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self, timeout: float = 15) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)
        assert not self._thread.is_alive(), "the bot did not stop"
        if self.error is not None:
            raise self.error

    def _main(self) -> None:
        try:
            if self.generator is None:
                asyncio.run(self._run())
            else:
                with self.container.dialogue_generator.override(self.generator):
                    asyncio.run(self._run())
        except BaseException as error:  # handed to the test thread
            self.error = error
            self._started.set()
            self.api.poke()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._started.set()
        await run_bot(self.container, self.settings, env=self.env, stop=self._stop, stop_signals=())
