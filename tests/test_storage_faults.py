"""The SQLite file failing under a running bot: a full disk (SQLite's max_page_count gives the same
SQLITE_FULL) and the file deleted. Nothing unrecorded is confirmed to Telegram, the cause is named,
and once the file can be written again (or the bot restarts) every message is answered."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from devkit.bot_fakes import EchoContextGenerator
from devkit.bot_run import ALICE, BOB, BotRun, bot_settings, private
from tinktalker.adapters.storage.sqlite_database import SqliteDatabase, _setup_error
from tinktalker.adapters.storage.sqlite_dialogue_store import SqliteDialogueStore
from tinktalker.domain.dialogue import Conversation, Message, Speaker

LONG = "x" * 3000  # a row bigger than a page, so it needs new ones


class _FillingDatabase(SqliteDatabase):
    """A file on a disk that is full while `full` is set: no page may be added."""

    full = False

    def _connection(self, create: bool = False) -> sqlite3.Connection:
        connection = super()._connection(create)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages if self.full else 1 << 30}")
        return connection


def _wait_for_log(caplog, text: str, timeout: float = 20) -> logging.LogRecord:
    deadline = time.monotonic() + timeout
    while not (found := [r for r in caplog.records if text in r.getMessage()]):
        assert time.monotonic() < deadline, f"no log line saying {text!r}"
        time.sleep(0.05)
    return found[0]


def _run(api, db: Path, database: SqliteDatabase | None = None) -> BotRun:
    run = BotRun(api, bot_settings(api, db), EchoContextGenerator())
    if database is not None:
        run.container.sqlite_database.override(database)
    return run


def test_a_full_disk_confirms_nothing_says_so_and_everything_is_answered_once_there_is_room(
    api, tmp_path, caplog
):
    db = tmp_path / "bot.sqlite3"
    database = _FillingDatabase(db)
    with _run(api, db, database):
        api.say(private(ALICE), ALICE, "before")
        api.wait_for_texts(ALICE["id"], 1)
        database.full = True
        for n in range(4):
            api.say(private(BOB), BOB, f"{LONG} {n}")
        error = _wait_for_log(caplog, "wait unconfirmed")
        assert error.levelno == logging.ERROR and "database or disk is full" in error.getMessage()
        assert len(api.unconfirmed()) == 4 and len(api.sent("sendMessage")) == 1
        database.full = False
        api.wait_for_texts(BOB["id"], 4, timeout=30)
        api.wait_for(lambda: not api.unconfirmed(), 10, "every update confirmed")
    database.close()


def test_a_full_disk_then_a_restart_answers_every_message(api, tmp_path, caplog):
    db = tmp_path / "bot.sqlite3"
    database = _FillingDatabase(db)
    with _run(api, db, database):
        api.say(private(ALICE), ALICE, "before")
        api.wait_for_texts(ALICE["id"], 1)
        database.full = True
        for n in range(4):
            api.say(private(BOB), BOB, f"{LONG} {n}")
        _wait_for_log(caplog, "wait unconfirmed")
    database.close()
    with _run(api, db):  # room again, a new process
        api.wait_for(lambda: not api.unconfirmed(), 30, "every update confirmed")
        api.wait_for_texts(BOB["id"], 4, timeout=30)
    with sqlite3.connect(db) as connection:  # each was recorded, then answered
        assert connection.execute(
            "SELECT count(*), count(finished_at) FROM inbox WHERE chat_id = ?", (str(BOB["id"]),)
        ).fetchone() == (4, 4)


def test_a_file_deleted_while_running_is_said_nothing_is_confirmed_and_a_restart_answers(
    api, tmp_path, caplog
):
    db = tmp_path / "bot.sqlite3"
    with _run(api, db):
        api.say(private(ALICE), ALICE, "before")
        api.wait_for_texts(ALICE["id"], 1)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
        api.say(private(BOB), BOB, "after the delete")
        error = _wait_for_log(caplog, "wait unconfirmed")
        assert "deleted or replaced" in error.getMessage()
        assert len(api.unconfirmed()) == 1 and len(api.sent("sendMessage")) == 1
        assert not db.exists()  # no empty file was made in its place
    with _run(api, db):
        api.wait_for_texts(BOB["id"], 1, timeout=30)


def test_starting_on_a_full_disk_names_the_disk_not_permissions(tmp_path):
    error = _setup_error(
        tmp_path / "bot.sqlite3", sqlite3.OperationalError("database or disk is full")
    )
    assert "full" in str(error) and "free some space" in str(error)
    assert "writable" not in str(error)


async def test_the_wal_is_checkpointed_into_the_file_while_running_and_emptied_at_close(tmp_path):
    db = tmp_path / "bot.sqlite3"
    database = SqliteDatabase(db)
    store = SqliteDialogueStore(database)
    for n in range(250):
        await store.append(Conversation("1"), [Message(Speaker.USER, f"message {n}")])
    assert db.stat().st_size > 8 * 4096  # the rows reached the file itself, not only the WAL
    assert os.path.getsize(f"{db}-wal") <= 1 << 20
    database.close()
    assert not Path(f"{db}-wal").exists() or os.path.getsize(f"{db}-wal") == 0
