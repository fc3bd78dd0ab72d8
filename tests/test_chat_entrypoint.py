"""The chat entrypoint through the container, with the generator overridden by a fake."""
from __future__ import annotations

import io

from dependency_injector import providers

from entrypoints.chat.repl import run_chat
from entrypoints.config_loading import load_settings
from entrypoints.container import make_container
from tests.fakes import FakeReplyGenerator


async def test_chat_sends_each_line_through_the_domain_with_history():
    container = make_container(load_settings(None, env={"TINKTALKER__STORE__BACKEND": "memory"}))
    fake = FakeReplyGenerator(lambda context: "|".join(m.text for m in context))
    out = io.StringIO()
    with container.reply_generator.override(providers.Object(fake)):
        code = await run_chat(container, io.StringIO("один\nдва\n@@ВТОРОЙ@@три\n/reset\nчетыре\n"), out)
    assert code == 0
    replies = [line for line in out.getvalue().splitlines() if line.startswith("bot: ") and "thinking" not in line]
    assert replies == ["bot: один", "bot: один|один|два", "bot: два|один|один|два|три", "bot: четыре"]


async def test_only_the_selected_backends_are_opened(tmp_path):
    db = tmp_path / "unused.sqlite3"
    env = {"TINKTALKER__STORE__BACKEND": "memory", "TINKTALKER__STORE__SQLITE_PATH": str(db)}
    container = make_container(load_settings(None, env=env))
    with container.reply_generator.override(providers.Object(FakeReplyGenerator())):
        assert await run_chat(container, io.StringIO("hi\n"), io.StringIO()) == 0
    assert not db.exists()  # the sqlite store was never opened, nor the default hub model loaded
