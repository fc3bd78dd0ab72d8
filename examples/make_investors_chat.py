"""Writes the sample chat: `python examples/make_investors_chat.py` (seeded: the files never drift).

`investors_chat.json` is a Telegram Desktop export ("Export chat history", JSON) of a made-up
Russian investors' group; `investors_chat.csv` holds the same chat's exchanges as the 2-column
training CSV (the message answered, the reply), as `tinktalker dataset` finds them.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
sys.path.insert(0, str(FOLDER))
from investors_chat_threads import PEOPLE, THREADS  # noqa: E402

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
SHORT = ["👍", "+1", "Согласен", "Спасибо!", "Интересно", "Ага", "Точно", "😂"]
STICKERS = ["👍", "😂", "🚀", "📉", "🤔"]
FORWARDS = [
    ("Канал «Биржевой день»", "Индекс Мосбиржи закрылся ростом на 1,2%"),
    ("Новости ЦБ", "Банк России сохранил ключевую ставку"),
]
LINKS = ["https://www.moex.com/ru/index/IMOEX", "https://cbr.ru/hd_base/KeyRate/"]


class ChatWriter:
    def __init__(self, rng: random.Random) -> None:
        self.rng, self.messages, self.when = rng, [], START

    def _base(self, kind: str, minutes: float) -> dict:
        self.when += timedelta(minutes=minutes)
        return {
            "id": len(self.messages) + 1,
            "type": kind,
            "date": self.when.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(self.when.timestamp())),
        }

    def say(self, who: str, text, minutes: float, reply_to: int | None = None, **extra) -> int:
        name, user = PEOPLE[who]
        message = {**self._base("message", minutes), "from": name, "from_id": user}
        if reply_to is not None:
            message["reply_to_message_id"] = reply_to
        message.update(extra, text=text)
        self.messages.append(message)
        return message["id"]

    def service(self, who: str, action: str, minutes: float) -> None:
        name, user = PEOPLE[who]
        self.messages.append(
            {
                **self._base("service", minutes),
                "actor": name,
                "actor_id": user,
                "action": action,
                "text": "",
            }
        )


def _styled(text: str, rng: random.Random):
    """Some messages carry entities: a bold word or a link, as the export writes them (a list)."""
    roll = rng.random()
    if roll < 0.06:
        return [text + " ", {"type": "link", "text": rng.choice(LINKS)}]
    if roll < 0.12 and " " in text:
        head, tail = text.split(" ", 1)
        return [{"type": "bold", "text": head}, " " + tail]
    return text


def _thread(chat: ChatWriter, lines: list[tuple[str, str]]) -> None:
    rng = chat.rng
    said: list[tuple[str, int]] = []
    added = False  # the previous speaker added a line: the next one replies to the point itself
    for number, (who, text) in enumerate(lines):
        others = [m for w, m in said if w != who]
        reply_to = None
        if others and (added or rng.random() < 0.35):
            reply_to = said[-1][1] if added and said[-1][0] != who else rng.choice(others)
        gap = rng.uniform(240, 900) if number == 0 else rng.uniform(0.3, 6)
        said.append((who, chat.say(who, _styled(text, rng), gap, reply_to)))
        added = rng.random() < 0.08
        if added:  # the same person adds a line: no exchange
            chat.say(who, rng.choice(["Кстати, это не совет", "Ну, это моё мнение"]), 0.5)
    roll = rng.random()
    if roll < 0.25:
        others = [w for w in PEOPLE if w != lines[-1][0]]
        chat.say(rng.choice(others), rng.choice(SHORT), rng.uniform(0.5, 3), said[-1][1])
    elif roll < 0.37:
        chat.say(
            rng.choice(list(PEOPLE)),
            "",
            rng.uniform(0.5, 3),
            media_type="sticker",
            file="(File not included)",
            sticker_emoji=rng.choice(STICKERS),
        )


def build_chat(seed: int = 7) -> dict:
    rng = random.Random(seed)
    chat = ChatWriter(rng)
    chat.service("А", "create_group", 0)
    for who in PEOPLE:
        if who != "А":
            chat.service(who, "join_group_by_link", rng.uniform(5, 60))
    for number, lines in enumerate(THREADS):
        _thread(chat, lines)
        if number % 9 == 4:
            source, text = FORWARDS[number % len(FORWARDS)]
            chat.say(rng.choice(list(PEOPLE)), text, rng.uniform(10, 60), forwarded_from=source)
        if number % 13 == 6:
            chat.say(
                rng.choice(list(PEOPLE)),
                "",
                rng.uniform(10, 60),
                photo="(File not included)",
                width=1280,
                height=720,
            )
        if number % 17 == 8:
            chat.service(rng.choice(list(PEOPLE)), "pin_message", rng.uniform(1, 5))
    return {
        "name": "Инвесторы: болтаем о рынке",
        "type": "private_supergroup",
        "id": 1987654321,
        "messages": chat.messages,
    }


def write_csv(export: Path, target: Path) -> int:
    from devkit import schema_defaults as defaults
    from tinktalker.training.telegram_export import read_export

    examples = read_export(export, defaults.data_rules()).exchanges
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["message", "reply"])
        writer.writerows([e.context[-1], e.reply] for e in examples)
    return len(examples)


if __name__ == "__main__":
    export = FOLDER / "investors_chat.json"
    document = build_chat()
    export.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    rows = write_csv(export, FOLDER / "investors_chat.csv")
    print(f"{export}: {len(document['messages'])} messages; investors_chat.csv: {rows} rows")
