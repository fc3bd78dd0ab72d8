"""Generated chat CSVs for the training tests: a learnable question → answer set in the tiny model's
words."""

from __future__ import annotations

import csv
from pathlib import Path

PAIRS = [
    ("привет как дела", "спасибо"),
    ("акции растут", "купил облигации"),
    ("что думаешь о рынке", "buy the dip"),
    ("индекс мосбиржи упал", "я держу долгосрок"),
    ("доллар дорожает", "нефть дешевеет"),
    ("hello how are you", "да"),
]


def write_dialogue_csv(path: Path, rows: int = 120, extra: list[list[str]] | None = None) -> Path:
    """`rows` exchanges cycling through PAIRS (each question always gets its answer), then `extra`
    rows."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first", "second"])
        for row in range(rows):
            writer.writerow(PAIRS[row % len(PAIRS)])
        writer.writerows(extra or [])
    return path
