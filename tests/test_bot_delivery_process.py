"""Delivery as a user sees it, from a real `tinktalker bot` process: a busy group never freezes the
bot (300 group messages queued, group_mode: every_message, a 0.2-s model: a private message is still
answered within seconds), and a split reply whose second piece fails once arrives once, in full."""

from __future__ import annotations

import signal
import time

from devkit.bot_api_stand_in import BotApiStandIn
from devkit.bot_run import TOKEN, private
from tests.test_bot_crash import slow_model_server, start_bot
from tinktalker.adapters.telegram.user_channel import split_message

GROUP = {"id": -4001, "type": "supergroup", "title": "Very busy"}
PEOPLE = [{"id": 9000 + n, "is_bot": False, "first_name": f"p{n}"} for n in range(300)]
ALICE = {"id": 9999, "is_bot": False, "first_name": "Alice"}


def test_300_queued_group_messages_leave_a_private_message_answered_within_4_s(tmp_path):
    with BotApiStandIn(TOKEN) as api, slow_model_server(0.2) as model:
        for person in PEOPLE:
            api.say(GROUP, person, f"hello from {person['first_name']}")
        bot = start_bot(
            api, model, tmp_path / "bot.sqlite3", TINKTALKER__BOT__GROUP_MODE="every_message"
        )
        try:
            # every group message is recorded and confirmed, the group is being answered...
            api.wait_for(
                lambda: (
                    (not api.unconfirmed() and api.texts_to(GROUP["id"])) or bot.poll() is not None
                ),
                120,
                "the group's backlog to be taken in and its first reply",
            )
            assert bot.poll() is None, "the bot stopped"
            asked = time.monotonic()
            api.say(private(ALICE), ALICE, "are you free?")  # ...when someone writes privately
            answer = api.wait_for(
                lambda: api.sent("sendMessage", ALICE["id"]), 20, "the private reply"
            )[0]
            answered_in = answer.at - asked
            group_answers = len(api.texts_to(GROUP["id"]))
        finally:
            # SIGTERM would answer the whole backlog first (20 group messages a minute): not needed
            bot.send_signal(signal.SIGKILL)
            bot.communicate(timeout=30)
    assert answer.params["text"] == "re: are you free?"
    assert group_answers < 300  # the backlog was still there when the private message came
    assert answered_in < 4.0, f"the private message waited {answered_in:.1f} s"
    print(f"private reply after {answered_in:.2f} s, {group_answers} group replies by then")


def test_a_split_reply_whose_second_piece_fails_once_arrives_with_every_piece_once(tmp_path):
    question = "Акции растут. " * 400  # the model server echoes it: a 5,600-character reply
    expected = split_message("re: " + " ".join(question.split()))
    with BotApiStandIn(TOKEN) as api, slow_model_server(0.0) as model:
        bot = start_bot(api, model, tmp_path / "bot.sqlite3", TINKTALKER__BOT__SEND_BACKOFF_S="0.2")
        try:
            api.wait_for(lambda: api.sent("getUpdates") or bot.poll() is not None, 60, "a poll")
            api.fail(
                "sendMessage",
                after=1,
                times=1,
                status=502,
                retry_after=None,
                description="Bad Gateway",
            )
            api.say(private(ALICE), ALICE, question)
            api.wait_for(lambda: len(api.texts_to(ALICE["id"])) >= len(expected), 60, "the reply")
            api.say(private(ALICE), ALICE, "and then?")  # its reply marks the end of the first one
            api.wait_for(lambda: "re: and then?" in api.texts_to(ALICE["id"]), 60, "the marker")
        finally:
            bot.send_signal(signal.SIGTERM)
            _, err = bot.communicate(timeout=30)
    assert bot.returncode == 0, err[-3000:]
    assert len(expected) == 2 and api.failures_left("sendMessage") == 0  # the 502 was served
    assert api.texts_to(ALICE["id"]) == [*expected, "re: and then?"]
    assert [c.ok for c in api.sent("sendMessage", ALICE["id"])] == [True, False, True, True]
