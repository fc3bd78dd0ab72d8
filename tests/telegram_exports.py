"""Hand-written Telegram Desktop exports for the tests: messages as the export writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

START = 1_788_000_000  # a Unix time; messages are placed in minutes after it
PEOPLE = {"anna": "Анна", "boris": "Борис", "vera": "Вера"}


def message(
    number: int, who: str, text: Any, minute: float, reply_to: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A `type: message` entry; `text` may be a string or a list of strings and entities."""
    entry: dict[str, Any] = {
        "id": number,
        "type": "message",
        "date": "2026-08-29T10:00:00",
        "date_unixtime": str(int(START + minute * 60)),
        "from": PEOPLE.get(who, who),
        "from_id": f"user-{who}",
        "text": text,
        "text_entities": [],
    }
    if reply_to is not None:
        entry["reply_to_message_id"] = reply_to
    return {**entry, **extra}


def service(number: int, who: str, minute: float, action: str = "join_group_by_link") -> dict:
    return {
        "id": number,
        "type": "service",
        "date": "2026-08-29T10:00:00",
        "date_unixtime": str(int(START + minute * 60)),
        "actor": PEOPLE.get(who, who),
        "actor_id": f"user-{who}",
        "action": action,
        "text": "",
        "text_entities": [],
    }


def chat(messages: list[dict[str, Any]], name: str = "Инвесторы") -> dict[str, Any]:
    return {"name": name, "type": "private_supergroup", "id": 42, "messages": messages}


def write_export(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def full_account(chats: list[dict[str, Any]]) -> dict[str, Any]:
    """A whole account's export: personal data first, the chats under `chats.list`."""
    return {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1, "first_name": "Анна"},
        "contacts": {"about": "...", "list": [{"first_name": "Борис", "phone_number": "+7"}]},
        "chats": {"about": "...", "list": chats},
        "left_chats": {"about": "...", "list": []},
    }
