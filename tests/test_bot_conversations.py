"""End to end: the real python-telegram-bot Application polling a Bot API stand-in on loopback.

Several private chats and a group talk at once; the generator echoes the context it saw, so every
reply shows which messages reached the model."""

from __future__ import annotations

import json

import pytest

from devkit.bot_fakes import EchoContextGenerator, WatchedUpdateInbox, bot, echo, user
from devkit.bot_run import ALICE, BOB, CAROL, DAVE, ERIN, GROUP, BotRun, bot_settings, private


def test_many_chats_at_once_each_reply_lands_in_its_chat_and_contexts_never_mix(api, tmp_path):
    generator = EchoContextGenerator(slow_s=2.0)
    with BotRun(api, bot_settings(api, tmp_path / "history.sqlite3"), generator):
        api.say(private(ALICE), ALICE, "slow привет")
        api.say(private(BOB), BOB, "hi from bob")
        api.say(private(CAROL), CAROL, "hi from carol")
        api.say(GROUP, DAVE, "@tink_test_bot что с акциями?")
        api.say(GROUP, ERIN, "chatter the bot should not hear")
        api.say(GROUP, ERIN, "а дивиденды?", reply_to_bot=True)

        group_replies = api.wait_for_texts(GROUP["id"], 2)
        alice_reply = api.wait_for_texts(ALICE["id"], 1)
        assert api.texts_to(BOB["id"]) == [echo([user("hi from bob")])]
        assert api.texts_to(CAROL["id"]) == [echo([user("hi from carol")])]
        first_group = echo([user("что с акциями?")])
        assert group_replies == [
            first_group,
            echo([user("что с акциями?"), bot(first_group), user("а дивиденды?")]),
        ]
        assert alice_reply == [echo([user("slow привет")])]

        # the slow chat held up nobody: the others were answered while Alice's reply was being
        # written
        alice_at = api.sent(chat_id=ALICE["id"])[0].at
        assert all(api.sent(chat_id=c)[0].at < alice_at - 1.0 for c in (BOB["id"], CAROL["id"]))
        # typing was shown, and re-sent while the slow reply was written
        alice_typing = [c for c in api.sent("sendChatAction", ALICE["id"]) if c.at < alice_at]
        assert len(alice_typing) >= 4 and {c.params["action"] for c in alice_typing} == {"typing"}

        api.say(private(ALICE), ALICE, "second")
        assert api.wait_for_texts(ALICE["id"], 2)[1] == echo(
            [user("slow привет"), bot(echo([user("slow привет")])), user("second")]
        )
    assert all("chatter" not in m.text for context in generator.contexts for m in context)


def test_messages_in_one_chat_are_answered_in_order(api):
    generator = EchoContextGenerator(slow_s=0.5)
    with BotRun(api, bot_settings(api, None, dialogue={"context_size": 1}), generator):
        for text in ["slow one", "two", "slow three", "four"]:
            api.say(private(BOB), BOB, text)
        replies = api.wait_for_texts(BOB["id"], 4)
    assert replies == [echo([user(t)]) for t in ["slow one", "two", "slow three", "four"]]


def test_typing_indicators_never_eat_a_groups_message_allowance(api):
    # Telegram allows a bot about 20 messages a minute per group; AIORateLimiter enforces that.
    # Typing actions queued in the same allowance would hold replies up for a minute.
    generator = EchoContextGenerator(slow_s=0.3)
    with BotRun(
        api,
        bot_settings(api, None, typing_interval_s=0.05, dialogue={"context_size": 1}),
        generator,
    ):
        for n in range(10):
            api.say(GROUP, DAVE, f"@tink_test_bot slow {n}")
        replies = api.wait_for_texts(GROUP["id"], 10, timeout=15)
    assert replies == [echo([user(f"slow {n}")]) for n in range(10)]
    assert len(api.sent("sendChatAction", GROUP["id"])) > 20  # typing was shown all along


def test_commands_greet_reset_forgets_and_non_text_gets_a_polite_line(api):
    settings = bot_settings(api, None)
    texts = settings.bot.texts
    with BotRun(api, settings, EchoContextGenerator()):
        commands = json.loads(
            api.wait_for(lambda: api.sent("setMyCommands"), what="setMyCommands")[0].params[
                "commands"
            ]
        )
        assert [c["command"] for c in commands] == ["start", "help", "reset", "ask", "price"]
        api.say(private(ALICE), ALICE, "/start")
        api.say(private(ALICE), ALICE, "/help")
        api.say(private(ALICE), ALICE, "remember me")
        api.wait_for_texts(ALICE["id"], 3)
        api.say(private(ALICE), ALICE, "/reset")
        api.say(private(ALICE), ALICE, "who am I?")
        api.send_sticker(private(ALICE), ALICE)
        api.say(private(ALICE), ALICE, "/weird")
        replies = api.wait_for_texts(ALICE["id"], 7)
    assert replies == [
        texts.start,
        texts.help,
        echo([user("remember me")]),
        texts.reset,
        echo([user("who am I?")]),
        texts.non_text,
        texts.help,
    ]
    assert texts.start.startswith("Привет")


def test_in_a_group_only_addressed_messages_and_own_commands_are_answered(api):
    with BotRun(api, bot_settings(api, None), EchoContextGenerator()):
        api.say(GROUP, DAVE, "just people talking")
        api.send_sticker(GROUP, DAVE)
        api.say(GROUP, DAVE, "/reset@some_other_bot")
        api.say(GROUP, DAVE, "/weird")
        api.say(GROUP, DAVE, "/ask@tink_test_bot как рынок?")
        api.say(GROUP, ERIN, "/reset@tink_test_bot")
        api.say(GROUP, ERIN, "/ask")
        replies = api.wait_for_texts(GROUP["id"], 3)
    assert replies == [
        echo([user("как рынок?")]),
        bot_settings(api, None).bot.texts.reset,
        bot_settings(api, None).bot.texts.help,
    ]


def test_group_mode_ignore_keeps_the_bot_silent_in_groups(api):
    inbox = WatchedUpdateInbox(api.poke)
    settings = bot_settings(api, None, group_mode="ignore")
    with BotRun(api, settings, EchoContextGenerator(), inbox=inbox):
        api.say(GROUP, DAVE, "@tink_test_bot hello?")
        api.say(GROUP, DAVE, "/ask hello?")
        api.say(private(DAVE), DAVE, "hello in private")
        api.wait_for_texts(DAVE["id"], 1)  # the private chat is answered...
        api.wait_for(
            lambda: {1, 2} <= set(inbox.finished),
            what="the group messages (updates 1 and 2) handled",
        )
    assert api.texts_to(GROUP["id"]) == [] and not api.sent("sendChatAction", GROUP["id"])


@pytest.mark.parametrize("when_denied", ["reply", "silence"])
def test_allowlists_admit_listed_users_and_chats_only(api, when_denied):
    settings = bot_settings(
        api,
        None,
        allowed_user_ids=[ALICE["id"]],
        allowed_chat_ids=[GROUP["id"]],
        when_denied=when_denied,
    )
    with BotRun(api, settings, EchoContextGenerator()):
        api.say(private(BOB), BOB, "let me in")
        api.say(GROUP, BOB, "@tink_test_bot hi from the group")
        api.say(private(ALICE), ALICE, "hi")
        api.wait_for_texts(ALICE["id"], 1)
        api.wait_for_texts(GROUP["id"], 1)
    expected = [settings.bot.texts.denied] if when_denied == "reply" else []
    assert api.texts_to(BOB["id"]) == expected
