"""`tinktalker chat`: talk with the model in a terminal, in-process."""
from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from domain.dialogue import Conversation
from entrypoints.container import Container
from entrypoints.resolving import resolved

CHAT_ID = Conversation("console")
HELP = "Type a message and press Enter. /reset forgets the conversation, /quit (or Ctrl-D) leaves.\n"


async def run_chat(container: Container, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Read lines until /quit or end of input; each line is one user message."""
    stdout.write("Loading the model…\n")
    stdout.flush()
    try:
        # resources start on first use, so only the selected backends are opened
        service = await resolved(container.dialogue_service(channel=container.console_channel(out=stdout)))
        stdout.write(HELP)
        while True:
            stdout.write("you> ")
            stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                stdout.write("\n")
                return 0
            text = line.strip()
            if text in ("/quit", "/exit"):
                return 0
            if text == "/reset":
                await service.reset(CHAT_ID)
                stdout.write("(conversation forgotten)\n")
            elif text:
                await service.handle(CHAT_ID, text)
    finally:
        await resolved(container.shutdown_resources())
