"""`tinktalker chat`: talk with the model in a terminal, in-process."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from tinktalker.domain.dialogue import Conversation
from tinktalker.domain.service import DialogueService
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.random_weights import NOTE, has_random_weights
from tinktalker.entrypoints.resolving import resolved

CHAT_ID = Conversation("console")
GREETING = (
    "Type a message and press Enter. /help lists the commands; /quit, Ctrl-D or Ctrl-C leaves.\n"
)
HELP = (
    "/reset   forget this conversation (the model starts afresh)\n"
    "/help    this list\n"
    "/quit    leave (also /exit, Ctrl-D at an empty prompt, or Ctrl-C)\n"
    "Ctrl-C at the prompt leaves at once. While a reply is being written (the model cannot stop "
    "midway) the\n"
    "first Ctrl-C leaves when it is done, a second leaves at once.\n"
    "Arrow keys edit the line; Up and Down recall earlier lines of this session; "
    "Ctrl-R searches them.\n"
)
QUIT = ("/quit", "/exit")


async def run_chat(
    container: Container, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> int:
    """Read lines until /quit, end of input or Ctrl-C at the prompt; each line is one user
    message."""
    stdout.write("Loading the model…\n")
    stdout.flush()
    read_line = _terminal_reader() if _is_terminal(stdin, stdout) else _stream_reader(stdin, stdout)
    try:
        # resources start on first use, so only the selected backends are opened
        service = await resolved(
            container.dialogue_service(channel=container.console_channel(out=stdout))
        )
        stdout.write(random_weights_line(container.config.model.name_or_path()))
        stdout.write(history_line(container) + GREETING)
        while (line := read_line("you> ")) is not None:
            exit_code = await _take(service, line.strip(), stdout)
            if exit_code is not None:
                return exit_code
        stdout.write("\n")
        return 0
    finally:
        await resolved(container.shutdown_resources())


def random_weights_line(model: str) -> str:
    return f"The model {model} has {NOTE}.\n" if has_random_weights(model) else ""


async def _take(service: DialogueService, text: str, stdout: TextIO) -> int | None:
    """Act on one line: a command, or a message for the model. An exit code when the chat ends
    here."""
    if text in QUIT:
        return 0
    if text == "/reset":
        await service.reset(CHAT_ID)
        stdout.write("(conversation forgotten)\n")
    elif text == "/help":
        stdout.write(HELP)
    elif text.startswith("/") and " " not in text:
        stdout.write(f"unknown command {text}; /help lists the commands\n")
    elif text:
        with _ctrl_c_during_a_reply(stdout) as interrupted:
            await service.handle(CHAT_ID, text)
        if interrupted:
            return 130
    return None


def history_line(container: Container) -> str:
    """Where this conversation is kept, said once on start."""
    if container.config.store.backend() == "memory":
        return "History is kept in memory only and forgotten on exit (store.backend: memory).\n"
    path = Path(container.config.store.sqlite_path()).expanduser().resolve()
    return (
        f"History is kept in {path} (store.sqlite_path) and continues next time; "
        "/reset forgets it.\n"
    )


def _is_terminal(stdin: TextIO, stdout: TextIO) -> bool:
    return stdin is sys.stdin and stdout is sys.stdout and stdin.isatty() and stdout.isatty()


def _stream_reader(stdin: TextIO, stdout: TextIO):
    """Piped input: the prompt is written, lines are read as they come."""

    def read_line(prompt: str) -> str | None:
        stdout.write(prompt)
        stdout.flush()
        return stdin.readline() or None

    return read_line


def _terminal_reader():
    """A terminal: GNU readline edits the line and keeps this session's lines (Up/Down, Ctrl-R).

    The model waits while a person types, so the line is read right here; Ctrl-C, which asyncio
    would only note until Enter, interrupts the read at once and leaves."""
    import readline  # noqa: F401  (importing it is what turns line editing on for input())

    def read_line(prompt: str) -> str | None:
        previous = (
            signal.signal(signal.SIGINT, signal.default_int_handler) if _main_thread() else None
        )
        try:
            return input(prompt)
        except (EOFError, KeyboardInterrupt):
            return None
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    return read_line


@contextmanager
def _ctrl_c_during_a_reply(stdout: TextIO) -> Iterator[list[int]]:
    """The model runs in a thread that cannot be stopped, and leaving waits for it: so the first
    Ctrl-C says so and leaves after the reply, a second one leaves at once."""
    presses: list[int] = []  # one entry per Ctrl-C seen; non-empty = leave after the reply
    if not _main_thread():
        yield presses
        return

    def on_ctrl_c(signum: int, frame: object) -> None:
        presses.append(signum)
        if len(presses) > 1:
            stdout.flush()
            os._exit(130)  # nothing is half-written: SQLite commits each message whole
        stdout.write("\n(leaving once this reply is written; Ctrl-C again to leave now)\n")
        stdout.flush()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield presses
    finally:
        signal.signal(signal.SIGINT, previous)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
