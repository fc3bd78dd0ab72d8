"""The bot's quotes follow its settings: market.enabled, the allowlists, groups' addressing."""

from __future__ import annotations

import json

from devkit.bot_fakes import EchoContextGenerator, echo, user
from devkit.bot_run import ALICE, BOB, GROUP, BotRun, bot_settings, private
from tests.iss_stand_in import IssStandIn
from tinktalker.entrypoints.settings import MarketSettings


def test_with_market_disabled_there_is_no_price_command_and_cashtags_get_no_quote(api):
    settings = bot_settings(api, None)
    settings = settings.model_copy(update={"market": MarketSettings(enabled=False)})
    with IssStandIn() as iss, BotRun(api, settings, EchoContextGenerator()):
        commands = json.loads(api.wait_for(lambda: api.sent("setMyCommands"))[0].params["commands"])
        api.say(private(ALICE), ALICE, "/price SBER")
        api.say(private(ALICE), ALICE, "что с $SBER?")
        replies = api.wait_for_texts(ALICE["id"], 2)
    assert "price" not in [c["command"] for c in commands]
    assert replies == [settings.bot.texts.help, echo([user("что с $SBER?")])]
    assert iss.requests == []


def test_quotes_go_only_to_admitted_users_and_addressed_group_messages(api):
    settings = bot_settings(api, None, allowed_user_ids=[ALICE["id"]], when_denied="silence")
    with IssStandIn() as iss:
        settings = settings.model_copy(
            update={"market": MarketSettings(iss_url=iss.url, timeout_s=2)}
        )
        with BotRun(api, settings, EchoContextGenerator()):
            api.say(private(BOB), BOB, "/price SBER")
            api.say(GROUP, ALICE, "просто болтаем про $SBER")
            api.say(private(ALICE), ALICE, "/price SBER")
            reply = api.wait_for_texts(ALICE["id"], 1)[0]
        assert iss.asked("/SBER.json") == 1
    assert "SBER (Сбербанк): 315,90" in reply
    assert api.texts_to(BOB["id"]) == [] and api.texts_to(GROUP["id"]) == []
