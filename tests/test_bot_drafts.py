"""Drafts end to end: the real python-telegram-bot client against the Bot API stand-in. A private
chat with one beam sees its reply grow (sendMessageDraft), then gets it as a message; a group, or
beams, get the message only. Also `tinktalker bot` as a real process on the tiny model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from devkit.bot_api_stand_in import BotApiStandIn
from devkit.bot_run import ALICE, DAVE, GROUP, TOKEN, BotRun, bot_settings, private
from tests.fakes import FakeReplyGenerator
from tinktalker.entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def one_beam(settings: Settings, num_beams: int = 1) -> Settings:
    generation = settings.generation.model_copy(update={"num_beams": num_beams})
    return settings.model_copy(update={"generation": generation})


def test_a_private_chat_sees_drafts_then_the_message_and_a_group_only_the_message(api):
    generator = FakeReplyGenerator(lambda context: "акции растут, облигации стоят", piece_chars=5)
    settings = one_beam(bot_settings(api, None, draft_interval_s=0.1))
    with BotRun(api, settings, generator):
        api.say(GROUP, DAVE, "@tink_test_bot что с рынком?")
        api.say(private(ALICE), ALICE, "что с рынком?")
        assert api.wait_for_texts(ALICE["id"], 1) == ["акции растут, облигации стоят"]
        assert api.wait_for_texts(GROUP["id"], 1) == ["акции растут, облигации стоят"]
    drafts = api.drafts_to(ALICE["id"])
    assert drafts and drafts[0][1] == "акции"
    assert all("акции растут, облигации стоят".startswith(text) for _, text in drafts)
    assert len({draft_id for draft_id, _ in drafts}) == 1
    final = api.sent("sendMessage", ALICE["id"])[0]
    assert all(c.at <= final.at for c in api.sent("sendMessageDraft", ALICE["id"]))
    assert api.sent("sendMessageDraft", GROUP["id"]) == []


def test_beams_or_drafts_off_keep_the_single_message(api):
    generator = FakeReplyGenerator(piece_chars=2)
    for settings in (
        one_beam(bot_settings(api, None), num_beams=3),
        one_beam(bot_settings(api, None, stream_drafts=False)),
    ):
        with BotRun(api, settings, generator):
            api.say(private(ALICE), ALICE, "привет")
            api.wait_for(lambda: api.sent("sendMessage", ALICE["id"]), what="the reply")
        assert api.sent("sendMessageDraft") == []
        assert generator.closed_streams == 0  # not even streamed: today's path
        api.calls.clear()


def test_a_refused_draft_costs_only_the_draft(api):
    api.fail("sendMessageDraft", times=100, status=429, retry_after=30)
    generator = FakeReplyGenerator(lambda context: "ответ", piece_chars=1)
    with BotRun(api, one_beam(bot_settings(api, None, draft_interval_s=0.1)), generator):
        api.say(private(ALICE), ALICE, "привет")
        assert api.wait_for_texts(ALICE["id"], 1) == ["ответ"]
        api.say(private(ALICE), ALICE, "ещё")
        assert api.wait_for_texts(ALICE["id"], 2) == ["ответ", "ответ"]
    # the 429 paused every draft for its retry_after: one attempt, none after it
    assert len(api.sent("sendMessageDraft")) == 1


def test_tinktalker_bot_streams_drafts_of_the_tiny_model_then_sends_the_reply(
    tiny_model_dir, tmp_path
):
    executable = Path(sys.executable).parent / "tinktalker"
    with BotApiStandIn(TOKEN) as api:
        env = {
            **os.environ,
            "TELEGRAM_TOKEN": TOKEN,
            "TINKTALKER_CONFIG": str(ROOT / "config.yml"),
            "TINKTALKER_MODEL": str(tiny_model_dir),
            "TINKTALKER__STORE__BACKEND": "memory",
            "TINKTALKER__BOT__API_BASE_URL": api.base_url,
            "TINKTALKER__BOT__POLLING_TIMEOUT_S": "1",
            "TINKTALKER__BOT__DRAFT_INTERVAL_S": "0.1",
            "TINKTALKER__GENERATION__NUM_BEAMS": "1",
            "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "24",
            "TINKTALKER__GENERATION__MIN_NEW_TOKENS": "24",
        }
        process = subprocess.Popen(
            [str(executable), "bot"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
        )
        try:
            api.wait_for(
                lambda: api.sent("getUpdates") or process.poll() is not None, 120, "the bot to poll"
            )
            api.say(private(ALICE), ALICE, "привет, как рынок?")
            reply = api.wait_for_texts(ALICE["id"], 1, timeout=60)[0]
        finally:
            process.send_signal(signal.SIGTERM)
            _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    drafts = api.drafts_to(ALICE["id"])
    assert drafts, "no draft was shown"
    assert all(reply.startswith(text) for _, text in drafts)
    message = api.sent("sendMessage", ALICE["id"])[0]
    assert api.sent("sendMessageDraft", ALICE["id"])[0].at < message.at
