"""Telegram Desktop exports as exchanges: reply links, the gap rule, entities, what is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit import schema_defaults as defaults
from tests.telegram_exports import chat, full_account, message, service, write_export
from tinktalker.domain.errors import SetupError
from tinktalker.training.chat_files import read_chat_data
from tinktalker.training.exchanges import DataRules, Exchange

RULES = defaults.data_rules(context_size=3, gap_minutes=10)


def exchanges_of(tmp_path: Path, messages: list[dict], rules: DataRules = RULES) -> list[Exchange]:
    return read_chat_data(write_export(tmp_path / "result.json", chat(messages)), rules).exchanges


def test_a_reply_link_answers_its_target_and_the_context_walks_the_links(tmp_path: Path) -> None:
    found = exchanges_of(
        tmp_path,
        [
            message(1, "anna", "ставку снизят?", 0),
            message(2, "vera", "про погоду", 1),
            message(3, "boris", "вряд ли", 2, reply_to=1),
            message(4, "vera", "снова про погоду", 3),
            message(5, "anna", "почему?", 4, reply_to=3),
            message(6, "boris", "инфляция высокая", 5, reply_to=5),
        ],
    )
    by_reply = {e.reply: e.context for e in found}
    assert by_reply["вряд ли"] == ("ставку снизят?",)
    assert by_reply["почему?"] == ("ставку снизят?", "вряд ли")
    assert by_reply["инфляция высокая"] == ("ставку снизят?", "вряд ли", "почему?")


def test_the_context_holds_at_most_context_size_messages_oldest_first(tmp_path: Path) -> None:
    lines = [message(1, "anna", "m1", 0)] + [
        message(n, "anna" if n % 2 else "boris", f"m{n}", n, reply_to=n - 1) for n in range(2, 7)
    ]
    last = exchanges_of(tmp_path, lines, defaults.data_rules(context_size=2))[-1]
    assert last == Exchange(("m4", "m5"), "m6")


def test_the_gap_rule_links_only_recent_messages_of_another_person(tmp_path: Path) -> None:
    lines = [
        message(1, "anna", "кто держит сбер?", 0),
        message(2, "boris", "я держу", 9.5),  # within 10 minutes: answers 1
        message(3, "anna", "давно?", 25),  # 15.5 minutes later: starts a conversation
        message(4, "boris", "год", 26),
    ]
    data = read_chat_data(write_export(tmp_path / "result.json", chat(lines)), RULES)
    assert [e.reply for e in data.exchanges] == ["я держу", "год"]
    assert data.exchanges[1].context == ("давно?",)  # the walk back stops at the gap too
    assert data.skipped == {"starting a conversation (nothing within --gap)": 2}
    wider = read_chat_data(tmp_path / "result.json", defaults.data_rules(gap_minutes=20))
    assert wider.exchanges[-1].context == ("кто держит сбер?", "я держу", "давно?")


def test_entities_become_plain_text_and_links_stay(tmp_path: Path) -> None:
    text = [
        {"type": "bold", "text": "Смотрите"},
        " отчёт ",
        {"type": "link", "text": "https://moex.com/report"},
        " от ",
        {"type": "mention", "text": "@boris"},
    ]
    found = exchanges_of(
        tmp_path, [message(1, "anna", text, 0), message(2, "boris", ["спасибо"], 1)]
    )
    assert found == [Exchange(("Смотрите отчёт https://moex.com/report от @boris",), "спасибо")]


def test_service_and_textless_messages_are_skipped_and_counted(tmp_path: Path) -> None:
    lines = [
        message(1, "anna", "привет всем", 0),
        service(2, "vera", 0.5),
        message(3, "vera", "", 0.7, media_type="sticker", sticker_emoji="👍"),
        message(4, "vera", "", 0.8, photo="(File not included)"),
        message(5, "boris", "привет", 1),  # answers 1: nothing textless stands between
        message(6, "vera", "мой график", 2, photo="(File not included)"),  # a caption is text
        message(7, "anna", "красиво", 3),
    ]
    data = read_chat_data(write_export(tmp_path / "result.json", chat(lines)), RULES)
    assert [(e.context[-1], e.reply) for e in data.exchanges] == [
        ("привет всем", "привет"),
        ("привет", "мой график"),
        ("мой график", "красиво"),
    ]
    assert data.skipped["service messages (joins, pins, calls)"] == 1
    assert data.skipped["without text (stickers, voice, media without a caption)"] == 2
    assert data.read == 7 and data.unit == "messages"


def test_a_forward_is_never_a_reply_but_may_be_answered(tmp_path: Path) -> None:
    lines = [
        message(1, "anna", "что с рынком?", 0),
        message(2, "boris", "ЦБ сохранил ставку", 1, forwarded_from="Новости ЦБ"),
        message(3, "vera", "ожидаемо", 2),
    ]
    data = read_chat_data(write_export(tmp_path / "result.json", chat(lines)), RULES)
    assert data.exchanges == [Exchange(("что с рынком?", "ЦБ сохранил ставку"), "ожидаемо")]
    assert data.skipped["forwarded (never taken as a reply)"] == 1


def test_a_person_answering_themselves_is_skipped(tmp_path: Path) -> None:
    lines = [
        message(1, "anna", "купила ОФЗ", 0),
        message(2, "anna", "и немного золота", 1),  # right after her own
        message(3, "anna", "забыла сказать", 2, reply_to=1),  # a reply link to her own
        message(4, "boris", "зачем золото?", 3, reply_to=2),
    ]
    data = read_chat_data(write_export(tmp_path / "result.json", chat(lines)), RULES)
    assert data.exchanges == [Exchange(("и немного золота",), "зачем золото?")]
    assert data.skipped["answering themselves"] == 2


def test_control_markers_never_reach_an_example(tmp_path: Path) -> None:
    lines = [
        message(1, "anna", "вопрос @@ВТОРОЙ@@ ответь да </s>", 0),
        message(2, "boris", "@@ПЕР@@ПЕРВЫЙ@@ВЫЙ@@нет", 1),
        message(3, "anna", "@@ВТОРОЙ@@ <|endoftext|>", 2),
    ]
    data = read_chat_data(write_export(tmp_path / "result.json", chat(lines)), RULES)
    assert data.exchanges == [Exchange(("вопрос ответь да",), "нет")]
    assert data.skipped["empty after removing control markers"] == 1


def test_a_reply_to_a_message_not_in_the_export_is_skipped(tmp_path: Path) -> None:
    lines = [message(5, "anna", "ответ на удалённое", 0, reply_to=3)]
    with pytest.raises(SetupError, match="no usable exchange") as error:
        exchanges_of(tmp_path, lines)
    assert "1 replying to a message without text or not in the export" in str(error.value)


def test_a_full_account_export_reads_every_chat_and_never_links_across(tmp_path: Path) -> None:
    first = chat([message(1, "anna", "в первом чате", 0), message(2, "boris", "да", 1)])
    second = chat(
        [
            message(1, "vera", "во втором чате", 1.5),  # within the gap of chat 1's last
            message(2, "anna", "привет", 2, reply_to=1),
        ],
        name="Личное",
    )
    path = write_export(tmp_path / "result.json", full_account([first, second]))
    data = read_chat_data(path, RULES)
    assert data.exchanges == [
        Exchange(("в первом чате",), "да"),
        Exchange(("во втором чате",), "привет"),
    ]
    assert data.skipped["starting a conversation (nothing within --gap)"] == 2


def test_an_export_is_found_by_content_whatever_its_name(tmp_path: Path) -> None:
    lines = [message(1, "anna", "a", 0), message(2, "boris", "b", 1)]
    export = write_export(tmp_path / "history.txt", chat(lines))
    assert read_chat_data(export, RULES).kind == "Telegram export"
    csv_named_json = tmp_path / "chat.json"
    csv_named_json.write_text("message,reply\na,b\n", encoding="utf-8")
    assert read_chat_data(csv_named_json, RULES).kind == "CSV"


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"name": "x", "list": [1, 2]}', "is JSON but no Telegram export"),
        ("[1, 2, 3]", "is JSON but no Telegram export"),
        (
            '{"name": "x", "messages": [{"id": 1, "type": "message", "te',
            "truncated Telegram export",
        ),
        ('{"messages": [{"id": 1,, }]}', "not valid JSON"),
    ],
)
def test_bad_json_is_one_line_naming_the_problem(tmp_path: Path, content: str, expected: str):
    path = tmp_path / "result.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SetupError) as error:
        read_chat_data(path, RULES)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_a_truncated_export_names_where_it_ends(tmp_path: Path) -> None:
    lines = [message(n, "anna" if n % 2 else "boris", f"m{n}", n) for n in range(1, 40)]
    whole = write_export(tmp_path / "whole.json", chat(lines)).read_bytes()
    cut = tmp_path / "result.json"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SetupError) as error:
        read_chat_data(cut, RULES)
    assert f"ends at byte {len(whole) // 2} after " in str(error.value)


def test_an_export_without_any_exchange_says_why(tmp_path: Path) -> None:
    lines = [
        message(1, "anna", "один", 0),
        message(2, "anna", "сама с собой", 1),
        service(3, "a", 2),
    ]
    with pytest.raises(SetupError, match="no usable exchange") as error:
        exchanges_of(tmp_path, lines)
    assert "1 answering themselves" in str(error.value) and "--gap (10)" in str(error.value)
