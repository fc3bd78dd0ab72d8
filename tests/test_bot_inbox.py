"""The durable inbox with the real bot: re-deliveries are never answered twice, an old backlog is
acknowledged without replies, and in webhook mode Telegram's 200 comes only once the update is
recorded."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from devkit.bot_fakes import EchoContextGenerator, bot, echo, user
from devkit.bot_run import ALICE, BOB, TOKEN, BotRun, bot_settings, private
from tests.test_bot_lifecycle import _free_port, _post, _wait_until_listening


def test_updates_telegram_sends_again_are_not_answered_twice(api, tmp_path):
    db = tmp_path / "bot.sqlite3"
    with BotRun(api, bot_settings(api, db), EchoContextGenerator()):
        api.say(private(ALICE), ALICE, "one")
        api.say(private(BOB), BOB, "two")
        api.wait_for_texts(ALICE["id"], 1)
        api.wait_for_texts(BOB["id"], 1)
    api.redeliver()  # a new poller (offset 0) gets every update again
    with BotRun(api, bot_settings(api, db), EchoContextGenerator()):
        # each chat's next message is answered after anything queued before it in that chat, so
        # once these replies are in, a second answer to "one" or "two" would have been sent
        api.say(private(ALICE), ALICE, "three")
        api.say(private(BOB), BOB, "four")
        api.wait_for_texts(ALICE["id"], 2)
        api.wait_for_texts(BOB["id"], 2)
    first, second = echo([user("one")]), echo([user("two")])
    assert api.texts_to(ALICE["id"]) == [first, echo([user("one"), bot(first), user("three")])]
    assert api.texts_to(BOB["id"]) == [second, echo([user("two"), bot(second), user("four")])]


def test_a_backlog_older_than_backlog_max_age_is_acknowledged_without_replies(api, tmp_path):
    api.say(private(ALICE), ALICE, "asked two hours ago", age_s=7200)
    api.say(private(BOB), BOB, "asked a minute ago", age_s=60)
    with BotRun(
        api,
        bot_settings(api, tmp_path / "bot.sqlite3", backlog_max_age_s=3600),
        EchoContextGenerator(),
    ):
        api.wait_for_texts(BOB["id"], 1)
        api.wait_for(
            lambda: len(api.sent("getUpdates")) >= 3, what="the old update to be confirmed"
        )
    assert api.texts_to(ALICE["id"]) == [] and api.texts_to(BOB["id"]) == [
        echo([user("asked a minute ago")])
    ]
    assert api._updates == []  # both confirmed: Telegram will not send the old one again


def test_webhook_answers_200_only_after_recording_and_503_while_the_file_is_locked(api, tmp_path):
    db, port = tmp_path / "bot.sqlite3", _free_port()
    webhook = {
        "public_url": "https://bot.example.test/hook",
        "listen": "127.0.0.1",
        "port": port,
        "path": "hook",
    }
    settings = bot_settings(api, db, mode="webhook", webhook=webhook)
    settings = settings.model_copy(
        update={"store": settings.store.model_copy(update={"sqlite_busy_timeout_s": 0.3})}
    )
    env = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "s3cret"}
    url = f"http://127.0.0.1:{port}/hook"
    with BotRun(api, settings, EchoContextGenerator(), env=env):
        _wait_until_listening(port)
        assert _post(url, _update(1, "first"), "s3cret") == 200
        with sqlite3.connect(db) as connection:  # recorded by the time Telegram got its 200
            assert connection.execute("SELECT update_id, text FROM inbox").fetchall() == [
                (1, "first")
            ]
        with _locked(db):
            assert (
                _post(url, _update(2, "second"), "s3cret") == 503
            )  # not recorded: Telegram sends it again
        assert _post(url, _update(2, "second"), "s3cret") == 200
        assert _post(url, _update(2, "second"), "s3cret") == 200  # a re-send of a recorded update
        assert (
            _post(url, _update(3, "third"), "s3cret") == 200
        )  # answered after any second "second"
        api.wait_for_texts(ALICE["id"], 3)
    first = echo([user("first")])
    second = echo([user("first"), bot(first), user("second")])
    assert api.texts_to(ALICE["id"]) == [
        first,
        second,
        echo([user("second"), bot(second), user("third")]),
    ]


def _update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": private(ALICE),
            "from": ALICE,
            "text": text,
        },
    }


class _locked:
    """Another process holds the file's write lock inside the block."""

    def __init__(self, db) -> None:
        script = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", script, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __enter__(self) -> _locked:
        assert self._process.stdout.readline().strip() == "locked"
        return self

    def __exit__(self, *exc_info) -> None:
        self._process.stdin.close()
        self._process.wait(10)
