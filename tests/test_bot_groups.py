"""Forum topics and groups with the real bot against the stand-in: each topic its own conversation,
replies in the topic they answer and quoting the question; one fast sender cannot hog the model."""

from __future__ import annotations

import pytest

from devkit.bot_fakes import EchoContextGenerator, bot, echo, user
from devkit.bot_run import ALICE, BOB, DAVE, ERIN, GROUP, BotRun, bot_settings, private

FORUM = {"id": -1003001, "type": "supergroup", "title": "Investors club", "is_forum": True}
BONDS, STOCKS = 11, 12


def test_each_topic_has_its_own_context_replies_land_in_it_and_reset_forgets_one_topic(api):
    settings = bot_settings(api, None, group_mode="every_message")
    with BotRun(api, settings, EchoContextGenerator(slow_s=0.5)):
        api.say(FORUM, DAVE, "slow bonds talk", topic=BONDS)
        api.wait_for(lambda: api.texts_to(FORUM["id"], BONDS), what="the reply in the bonds topic")
        api.say(FORUM, ERIN, "stocks talk", topic=STOCKS)
        api.wait_for(
            lambda: api.texts_to(FORUM["id"], STOCKS), what="the reply in the stocks topic"
        )
        api.say(FORUM, DAVE, "general talk")
        api.wait_for(lambda: api.texts_to(FORUM["id"]), what="the reply in General")
        api.say(FORUM, DAVE, "/reset", topic=BONDS)
        api.say(FORUM, DAVE, "bonds again", topic=BONDS)
        api.say(FORUM, ERIN, "stocks again", topic=STOCKS)
        api.wait_for(
            lambda: (
                len(api.texts_to(FORUM["id"], BONDS)) >= 3
                and len(api.texts_to(FORUM["id"], STOCKS)) >= 2
            ),
            what="the second replies",
        )
    first_stocks = echo([user("stocks talk")])
    assert api.texts_to(FORUM["id"], BONDS) == [
        echo([user("slow bonds talk")]),
        settings.bot.texts.reset,
        echo([user("bonds again")]),
    ]
    assert api.texts_to(FORUM["id"], STOCKS) == [
        first_stocks,
        echo([user("stocks talk"), bot(first_stocks), user("stocks again")]),
    ]
    assert api.texts_to(FORUM["id"]) == [
        echo([user("general talk")])
    ]  # General: no thread id, no leak
    sent = api.sent("sendMessage", FORUM["id"])
    assert all(call.topic in (BONDS, STOCKS, None) for call in sent) and len(sent) == 6
    typing = api.sent("sendChatAction", FORUM["id"])
    assert typing and {call.topic for call in typing} == {
        BONDS
    }  # typing showed in the topic asked in


@pytest.mark.parametrize("threading", ["groups", "always", "never"])
def test_replies_quote_the_question_in_groups_and_private_chats_stay_plain(api, threading):
    with BotRun(api, bot_settings(api, None, reply_threading=threading), EchoContextGenerator()):
        dave_asks = api.say(GROUP, DAVE, "@tink_test_bot what about gold?")
        erin_asks = api.say(GROUP, ERIN, "@tink_test_bot and silver?")
        topic_asks = api.say(FORUM, DAVE, "@tink_test_bot in a topic", topic=BONDS)
        alice_asks = api.say(private(ALICE), ALICE, "hello")
        api.wait_for(lambda: len(api.sent("sendMessage")) >= 4, what="four replies")
    quoted = {call.params["text"]: call.quoted for call in api.sent("sendMessage")}
    group = {"groups": True, "always": True, "never": False}[threading]
    assert quoted[echo([user("what about gold?")])] == (dave_asks if group else None)
    assert quoted[
        echo([user("what about gold?"), bot(echo([user("what about gold?")])), user("and silver?")])
    ] == (erin_asks if group else None)
    assert quoted[echo([user("in a topic")])] == (topic_asks if group else None)
    assert quoted[echo([user("hello")])] == (alice_asks if threading == "always" else None)


def test_a_quoted_question_that_was_deleted_does_not_block_the_reply(api):
    with BotRun(api, bot_settings(api, None), EchoContextGenerator()):
        api.say(GROUP, DAVE, "@tink_test_bot quick question")
        api.wait_for_texts(GROUP["id"], 1)
    parameters = api.sent("sendMessage", GROUP["id"])[0].params["reply_parameters"]
    assert '"allow_sending_without_reply": true' in parameters


def test_a_flooding_user_gets_one_slow_down_and_the_excess_is_dropped(api):
    settings = bot_settings(api, None, user_messages_per_minute=3, dialogue={"context_size": 1})
    with BotRun(api, settings, EchoContextGenerator()):
        for n in range(8):
            api.say(GROUP, DAVE, f"@tink_test_bot spam {n}")
        api.say(GROUP, ERIN, "@tink_test_bot a calm question")
        api.say(private(BOB), BOB, "hi")
        api.wait_for(
            lambda: echo([user("a calm question")]) in api.texts_to(GROUP["id"]),
            what="Erin's reply",
        )
        api.wait_for_texts(BOB["id"], 1)
        api.wait_for(lambda: len(api.texts_to(GROUP["id"])) >= 5, what="the group replies")
    group = api.texts_to(GROUP["id"])
    assert [t for t in group if "spam" in t] == [echo([user(f"spam {n}")]) for n in range(3)]
    assert group.count(settings.bot.texts.slow_down) == 1  # once, not once per dropped message
    assert echo([user("a calm question")]) in group and len(group) == 5
