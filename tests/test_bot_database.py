"""The bot's SQLite file: a damaged or read-only file stops `tinktalker bot` with one line naming
the file and the fix; another process holding the file's lock stalls no chat; an old file gains
forum topics."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devkit.bot_fakes import EchoContextGenerator
from devkit.bot_run import TOKEN, BotRun, bot_settings, private
from tests.test_bot_inbox import _locked
from tinktalker.adapters.storage.sqlite_database import SqliteDatabase
from tinktalker.adapters.storage.sqlite_dialogue_store import SqliteDialogueStore
from tinktalker.domain.dialogue import Conversation, Message, Speaker
from tinktalker.domain.errors import StorageUnavailable

ROOT = Path(__file__).resolve().parents[1]
USERS = [{"id": 8000 + n, "is_bot": False, "first_name": f"u{n}"} for n in range(6)]


def _bot_exits(db: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TELEGRAM_TOKEN": TOKEN,
        "TINKTALKER__STORE__SQLITE_PATH": str(db),
        "TINKTALKER__GENERATOR__BACKEND": "http",
        "TINKTALKER__BOT__API_BASE_URL": "http://127.0.0.1:9/bot",
    }
    return subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", "bot"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_damaged_file_stops_the_bot_with_one_line_naming_it_and_the_fix(tmp_path):
    db = tmp_path / "bot.sqlite3"
    db.write_bytes(b"this is not a database, it was overwritten by mistake" * 100)
    result = _bot_exits(db)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("tinktalker: error: ")
    assert (
        str(db) in result.stderr and "damaged" in result.stderr and "move it aside" in result.stderr
    )


@pytest.fixture
def read_only(tmp_path):
    """A history file no process may write to, root included (file permissions would not stop root):
    its header's write version (byte 18) is one SQLite does not know, so it opens it read-only."""
    db = tmp_path / "bot.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (x)")
    with db.open("r+b") as file:
        file.seek(18)
        file.write(bytes([3]))
    return db


def test_a_read_only_file_stops_the_bot_with_one_line_naming_it_and_the_fix(read_only):
    with sqlite3.connect(read_only) as connection:  # the file is intact, only unwritable
        assert connection.execute("PRAGMA quick_check").fetchone() == ("ok",)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            connection.execute("CREATE TABLE u (x)")
    result = _bot_exits(read_only)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and str(read_only) in result.stderr
    assert (
        "cannot write" in result.stderr
        and "writable" in result.stderr
        and "store.sqlite_path" in result.stderr
    )


def test_while_another_process_holds_the_file_nothing_is_confirmed_and_all_is_answered_after(
    api, tmp_path, caplog
):
    db = tmp_path / "bot.sqlite3"
    settings = bot_settings(api, db)
    settings = settings.model_copy(
        update={"store": settings.store.model_copy(update={"sqlite_busy_timeout_s": 0.5})}
    )
    with BotRun(api, settings, EchoContextGenerator()):
        api.say(private(USERS[0]), USERS[0], "before the lock")
        api.wait_for_texts(USERS[0]["id"], 1)
        with _locked(db):
            for u in USERS:
                api.say(private(u), u, "during the lock")
            _wait_for_log(caplog, "wait unconfirmed until the inbox can record them")
            # not recorded, so not confirmed: Telegram keeps them; and nothing was answered
            assert len(api.unconfirmed()) == len(USERS)
            assert len(api.sent("sendMessage")) == 1
        for u in USERS:
            api.wait_for(
                lambda u=u: any(t.endswith("user:during the lock]") for t in api.texts_to(u["id"])),
                timeout=20,
                what=f"{u['first_name']}'s reply",
            )
        api.wait_for(lambda: not api.unconfirmed(), 10, "every update confirmed")
    errors = [r for r in caplog.records if "wait unconfirmed" in r.getMessage()]
    assert len(errors) == 1  # one line a minute, not one per try
    with sqlite3.connect(db) as connection:
        stored = connection.execute(
            "SELECT chat_id, text FROM messages WHERE speaker = 'user'"
        ).fetchall()
    assert sorted(stored) == sorted(
        [(str(USERS[0]["id"]), "before the lock")]
        + [(str(u["id"]), "during the lock") for u in USERS]
    )


def _wait_for_log(caplog, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, f"no log line saying {text!r}"
        time.sleep(0.05)


async def test_reads_go_on_while_another_process_writes_and_blocked_writes_are_kept_until_it_is_done(  # noqa: E501 (the test's name)
    tmp_path,
):
    db = tmp_path / "bot.sqlite3"
    database = SqliteDatabase(db, busy_timeout_s=0.2)
    store = SqliteDialogueStore(database)
    chat, other = Conversation("1"), Conversation("2")
    await store.append(chat, [Message(Speaker.USER, "hi")])
    with _locked(db):
        assert await store.load_recent(chat, 5) == [Message(Speaker.USER, "hi")]
        for where, text in [(chat, "kept"), (other, "kept too")]:
            with pytest.raises(StorageUnavailable, match="locked.*kept in memory"):
                await store.append(where, [Message(Speaker.USER, text)])
        assert [m.text for m in await store.load_recent(chat, 5)] == [
            "hi",
            "kept",
        ]  # the context has it
    await store.append(chat, [Message(Speaker.USER, "again")])  # writes what was kept, too
    assert [m.text for m in await store.load_recent(chat, 5)] == ["hi", "kept", "again"]
    database.close()
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT chat_id, text FROM messages ORDER BY id").fetchall()
    assert rows == [("1", "hi"), ("1", "kept"), ("2", "kept too"), ("1", "again")]


async def test_a_file_from_before_forum_topics_keeps_its_history(tmp_path):
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.executescript(
            "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id TEXT NOT NULL,"
            " speaker TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT);"
            "INSERT INTO messages (chat_id, speaker, text) VALUES ('5', 'user', 'old times');"
        )
    database = SqliteDatabase(db)
    store = SqliteDialogueStore(database)
    assert await store.load_recent(Conversation("5"), 5) == [Message(Speaker.USER, "old times")]
    assert await store.load_recent(Conversation("5", 3), 5) == []
    database.close()
