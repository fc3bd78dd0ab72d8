"""The chat entrypoint through the container, with the generator overridden by a fake."""

from __future__ import annotations

import io

from dependency_injector import providers

from tests.fakes import FakeReplyGenerator
from tinktalker.entrypoints.chat.repl import run_chat
from tinktalker.entrypoints.config_loading import load_settings
from tinktalker.entrypoints.container import make_container


async def test_chat_sends_each_line_through_the_domain_with_history():
    container = make_container(load_settings(None, env={"TINKTALKER__STORE__BACKEND": "memory"}))
    fake = FakeReplyGenerator(lambda context: "|".join(m.text for m in context))
    out = io.StringIO()
    with container.reply_generator.override(providers.Object(fake)):
        code = await run_chat(
            container, io.StringIO("один\nдва\n@@ВТОРОЙ@@три\n/reset\nчетыре\n"), out
        )
    assert code == 0
    replies = [
        line
        for line in out.getvalue().splitlines()
        if line.startswith("bot: ") and "thinking" not in line
    ]
    assert replies == [
        "bot: один",
        "bot: один|один|два",
        "bot: два|один|один|два|три",
        "bot: четыре",
    ]


async def test_only_the_selected_backends_are_opened(tmp_path):
    db = tmp_path / "unused.sqlite3"
    env = {"TINKTALKER__STORE__BACKEND": "memory", "TINKTALKER__STORE__SQLITE_PATH": str(db)}
    container = make_container(load_settings(None, env=env))
    with container.reply_generator.override(providers.Object(FakeReplyGenerator())):
        assert await run_chat(container, io.StringIO("hi\n"), io.StringIO()) == 0
    assert not db.exists()  # the sqlite store was never opened, nor the default hub model loaded


async def chat_transcript(
    lines: str, answer=None, env: dict | None = None
) -> tuple[str, FakeReplyGenerator]:
    container = make_container(
        load_settings(None, env={"TINKTALKER__STORE__BACKEND": "memory", **(env or {})})
    )
    fake = FakeReplyGenerator(answer)
    out = io.StringIO()
    with container.reply_generator.override(providers.Object(fake)):
        assert await run_chat(container, io.StringIO(lines), out) == 0
    return out.getvalue(), fake


async def test_help_and_unknown_commands_are_answered_by_the_chat_not_the_model():
    out, fake = await chat_transcript("/help\n/wat\n/quit\n")
    assert fake.contexts == []
    assert "/reset   forget this conversation" in out and "Ctrl-C" in out
    assert "unknown command /wat; /help lists the commands" in out


async def test_control_characters_in_a_reply_are_shown_not_obeyed():
    out, _ = await chat_transcript(
        "hi\n", answer=lambda context: "\x1b[2J\x1b]0;owned\x07red\rline\u202eevil\nnext"
    )
    reply = next(
        line for line in out.split("\n") if line.startswith("bot: ") and "thinking" not in line
    )
    assert (
        reply == "bot: <U+001B>[2J<U+001B>]0;owned<U+0007>red line<U+202E>evil next"
    )  # whitespace: the domain's
    assert "\x1b" not in out and "\x07" not in out


async def test_the_start_says_where_the_history_lives(tmp_path):
    db = tmp_path / "history.sqlite3"
    out, _ = await chat_transcript(
        "", env={"TINKTALKER__STORE__BACKEND": "sqlite", "TINKTALKER__STORE__SQLITE_PATH": str(db)}
    )
    assert f"History is kept in {db.resolve()} (store.sqlite_path)" in out
    out, _ = await chat_transcript("")
    assert "History is kept in memory only" in out
