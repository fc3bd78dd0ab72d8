"""One SQLite file shared by the stores: checked at start, WAL, a busy timeout, queries off the
event loop."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from tinktalker.domain.errors import SetupError, StorageUnavailable

T = TypeVar("T")
# After a write found the file locked past the busy timeout, writes try once without waiting for
# this long instead of each waiting the timeout out in turn (the callers keep what they could not
# write)
_PAUSE_AFTER_LOCKED_S = 10.0
# A checkpoint copies the WAL into the file every this many writes (SQLite's own waits for 1,000
# pages, which a small bot's file may never reach); the WAL is then cut back to this size
_CHECKPOINT_EVERY_WRITES = 100
_WAL_SIZE_LIMIT_BYTES = 1 << 20
_META = "CREATE TABLE IF NOT EXISTS tinktalker_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


class SqliteDatabase:
    """Queries run in a small thread pool, one connection per thread: readers never wait for writers
    (WAL), writers wait for each other at most `busy_timeout_s`, and no conversation waits for
    another's query on the event loop. Failures at run time raise `StorageUnavailable`; while
    another process holds the file's lock, writes after the first that timed out do not wait for a
    few seconds."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0, threads: int = 8) -> None:
        self.path = Path(path).expanduser()
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._writes_paused_until = 0.0
        self._writes = 0
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _check(self._connection(create=True))
            self._identity = _identity(os.stat(self.path))
        except (OSError, sqlite3.Error) as error:
            self.close()
            raise _setup_error(self.path, error) from None
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="sqlite")

    def setup(self, work: Callable[[sqlite3.Connection], object]) -> None:
        """Creates or upgrades tables (idempotently), at start, before any query."""
        try:
            work(self._connection())
        except sqlite3.Error as error:
            raise _setup_error(self.path, error) from None

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._in_pool(work)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` runs in one transaction: all of it is stored or none."""
        patient = time.monotonic() >= self._writes_paused_until
        try:
            result = await self._in_pool(lambda db: self._write_in_thread(db, work, patient))
        except StorageUnavailable as error:
            if patient and ("locked" in str(error) or "busy" in str(error)):
                self._writes_paused_until = time.monotonic() + _PAUSE_AFTER_LOCKED_S
            raise
        self._writes_paused_until = 0.0
        return result

    def close(self) -> None:
        """Waits for the queries under way, checkpoints the WAL into the file, closes every
        connection; later queries raise StorageUnavailable."""
        self._closed = True
        if hasattr(self, "_pool"):
            self._pool.shutdown(wait=True)
        with self._guard:
            for connection in self._connections:
                try:
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:  # the last close checkpoints too, where it can
                    pass
                connection.close()
            self._connections.clear()

    async def _in_pool(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: self._run(work))
        except RuntimeError as error:
            if not self._closed:
                raise
            raise StorageUnavailable(f"{self.path}: the database is closed") from error
        except sqlite3.Error as error:
            raise StorageUnavailable(f"{self.path}: {_cause(error)}") from error

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StorageUnavailable(f"{self.path}: the database is closed")
        result = work(self._connection())
        # A cursor must not leave its thread: released in another one, it resets its cached
        # statement while this connection may be running it again (SQLITE_MISUSE)
        if isinstance(result, sqlite3.Cursor):
            result.close()
            return None  # type: ignore[return-value]
        return result

    def _write_in_thread(
        self, db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T], patient: bool
    ) -> T:
        self._check_still_at_path()
        result = _transaction(db, work, patient, self._busy_timeout_s)
        self._writes += 1
        if self._writes % _CHECKPOINT_EVERY_WRITES == 0:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return result

    def _check_still_at_path(self) -> None:
        """What is written must reach the file at `path`, not one deleted or replaced meanwhile."""
        try:
            now = _identity(os.stat(self.path))
        except FileNotFoundError:
            now = None
        if now != self._identity:
            raise StorageUnavailable(
                f"{self.path}: the file was deleted or replaced while the bot ran, so nothing "
                "more is written to it; put it back, or restart the bot to start a new one"
            )

    def _connection(self, create: bool = False) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # only the first connection may create the file: a later one finding it gone must
            # not make an empty one in its place, and says why it cannot open it
            if not create:
                self._check_still_at_path()
            connection = sqlite3.connect(
                self.path.absolute().as_uri() + ("" if create else "?mode=rw"),
                uri=True,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )  # closed from the main thread at the end
            connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            # WAL + NORMAL: a commit survives the process being killed (not a power cut) without an
            # fsync each
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(f"PRAGMA journal_size_limit = {_WAL_SIZE_LIMIT_BYTES}")
            self._local.connection = connection
            with self._guard:
                self._connections.append(connection)
        return connection


def _transaction(
    db: sqlite3.Connection,
    work: Callable[[sqlite3.Connection], T],
    patient: bool,
    busy_timeout_s: float,
) -> T:
    if (
        not patient
    ):  # writes are paused: one try without waiting, which succeeds once the lock is gone
        db.execute("PRAGMA busy_timeout = 0")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
        except BaseException:
            if db.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result
    finally:
        if not patient:
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")


def _check(db: sqlite3.Connection) -> None:
    """Intact (quick_check) and writable (a real write), or an error before any chat is served."""
    verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        raise sqlite3.DatabaseError(f"quick_check found damage: {verdict}")
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(_META)
    db.execute(
        "INSERT OR REPLACE INTO tinktalker_meta VALUES ('last_start', ?)", (str(time.time()),)
    )


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


def _cause(error: sqlite3.Error) -> str:
    detail = str(error)
    if "full" in detail:  # SQLITE_FULL says "database or disk is full"; no quota is involved
        return f"{detail} (the disk holding it has no space left)"
    return detail


def _setup_error(path: Path, error: Exception) -> SetupError:
    detail = str(error)
    if "full" in detail or getattr(error, "errno", None) == 28:  # ENOSPC
        return SetupError(
            f"the disk holding the history database '{path}' is full ({detail}); free some "
            "space on it, or set store.sqlite_path to a file on another disk"
        )
    if any(word in detail for word in ("not a database", "malformed", "damage", "corrupt")):
        fix = (
            "move it aside (the bot then starts an empty one) or restore a backup, "
            "or set store.sqlite_path to another file"
        )
        return SetupError(f"the history database '{path}' is damaged ({detail}); {fix}")
    if "locked" in detail or "busy" in detail:
        return SetupError(
            f"the history database '{path}' is locked by another process ({detail}); "
            "stop that process or set store.sqlite_path to another file"
        )
    return SetupError(
        f"cannot write to the history database '{path}' ({detail}); make the file and its "
        "folder writable by this user, or set store.sqlite_path to a writable file"
    )


def open_sqlite_database(path: str, busy_timeout_s: float = 5.0) -> Iterator[SqliteDatabase]:
    """Resource: opens and checks the file, yields the database, closes every connection on
    shutdown."""
    database = SqliteDatabase(path, busy_timeout_s)
    try:
        yield database
    finally:
        database.close()
