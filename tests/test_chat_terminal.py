"""`tinktalker chat` in a real pseudo-terminal: line editing, this session's history, /help,
Ctrl-C."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROMPT = b"you> "


def _take_the_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty, so Ctrl-C there sends
    SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The chat as a person sees it: keys go in, everything it prints comes out."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tinktalker.entrypoints.cli", "chat", *args],
            cwd=ROOT,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, **env},
            preexec_fn=_take_the_terminal,
        )
        os.close(slave)
        self.seen = b""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, text: bytes, count: int = 1, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.seen.count(text) < count:
            assert time.monotonic() < deadline, (
                f"never saw {text!r}; saw {self.seen.decode(errors='replace')!r}"
            )
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError as error:  # the chat closed the terminal
                    raise AssertionError(
                        f"the chat ended; it printed {self.seen.decode(errors='replace')!r}"
                    ) from error

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


@pytest.fixture
def chat(tiny_model_dir, tmp_path):
    db = tmp_path / "chat.sqlite3"
    terminal = Terminal(
        "--model",
        str(tiny_model_dir),
        env={"TINKTALKER__STORE__SQLITE_PATH": str(db), "TERM": "xterm"},
    )
    terminal.db = db
    yield terminal
    terminal.close()


def user_messages(db: Path) -> list[str]:
    return [
        row[0]
        for row in sqlite3.connect(db).execute(
            "SELECT text FROM messages WHERE speaker = 'user' ORDER BY id"
        )
    ]


def test_arrow_keys_edit_the_line_and_recall_the_last_one(chat):
    chat.wait_for(PROMPT)
    assert f"History is kept in {chat.db.resolve()}".encode() in chat.seen
    chat.type("abc\x1b[D\x1b[DX\r")  # two steps left, then X: "aXbc"
    chat.wait_for(PROMPT, count=2)
    chat.type("\x1b[A\r")  # Up recalls the line above, Enter sends it again
    chat.wait_for(PROMPT, count=3)
    chat.type("/help\r")
    chat.wait_for(b"/reset   forget this conversation")
    chat.wait_for(PROMPT, count=4)
    chat.type("\x04")  # Ctrl-D at an empty prompt leaves
    assert chat.process.wait(timeout=30) == 0
    assert user_messages(chat.db) == ["aXbc", "aXbc"]  # /help never reached the model


def test_ctrl_c_at_the_prompt_leaves_at_once(chat):
    chat.wait_for(PROMPT)
    chat.type("half a line")
    chat.wait_for(b"half a line")
    chat.type("\x03")
    assert (
        chat.process.wait(timeout=30) == 0
    )  # before: nothing happened until Enter (30 s: a loaded CI box)
    assert user_messages(chat.db) == []


@pytest.fixture(scope="module")
def slow_model_dir(tmp_path_factory):
    """Wide and long enough that a reply takes seconds on a CPU (the tiny model answers at once)."""
    from devkit.tiny_model import build_tiny_model

    return build_tiny_model(
        tmp_path_factory.mktemp("slow-model"), n_layer=6, n_embd=256, n_head=4, n_positions=1024
    )


def test_ctrl_c_during_a_reply_says_what_happens_and_a_second_one_leaves_now(slow_model_dir):
    slow = {
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "900",
        "TINKTALKER__GENERATION__NUM_BEAMS": "8",
        "TINKTALKER__DIALOGUE__CONTROL_FRAGMENTS": "[]",
        "TERM": "xterm",
    }
    terminal = Terminal("--model", str(slow_model_dir), env=slow)
    try:
        terminal.wait_for(PROMPT)
        terminal.type("привет\r")
        terminal.wait_for(b"thinking")
        terminal.type("\x03")
        terminal.wait_for(b"leaving once this reply is written; Ctrl-C again to leave now")
        terminal.type("\x03")
        assert terminal.process.wait(timeout=15) == 130  # the reply alone takes about a minute here
    finally:
        terminal.close()
