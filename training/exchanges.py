"""What training learns from: exchanges (a context, oldest first, and the reply to its last one)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tinktalker.domain.dialogue import Message, Speaker
from tinktalker.domain.prompt_safety import sanitize_user_text


@dataclass(frozen=True)
class Exchange:
    context: tuple[str, ...]  # oldest first; the last one is the message the reply answers
    reply: str

    def messages(self) -> tuple[Message, ...]:
        """The context as the bot sees a conversation: the answered message is the user's, and
        speakers alternate backwards from it (the reply's author is the bot)."""
        last = len(self.context) - 1
        return tuple(
            Message(Speaker.USER if (last - i) % 2 == 0 else Speaker.BOT, text)
            for i, text in enumerate(self.context)
        )


@dataclass(frozen=True, kw_only=True)
class DataRules:
    """How messages become exchanges: the same context size and sanitising as the bot (every value
    from the settings: `dialogue.context_size`, `training.gap_minutes`, the prompt's fragments)."""

    context_size: int
    gap_minutes: float
    control_fragments: Sequence[str]

    def clean(self, text: str) -> str:
        if not any(fragment in text for fragment in self.control_fragments):
            return " ".join(text.split())  # what sanitising gives when there is nothing to strip
        return sanitize_user_text(text, self.control_fragments)


@dataclass
class ChatData:
    exchanges: list[Exchange]
    kind: str  # "CSV", "JSON Lines" or "Telegram export"
    read: int  # rows or messages in the file
    unit: str = "rows"
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    left_out: int = 0  # usable exchanges dropped by --limit (the oldest)

    @property
    def used(self) -> int:
        return len(self.exchanges)

    def limited(self, limit: int | None) -> ChatData:
        if not limit or limit >= len(self.exchanges):
            return self
        kept = self.exchanges[-limit:]
        left_out = len(self.exchanges) - len(kept)
        return ChatData(kept, self.kind, self.read, self.unit, self.skipped, left_out)

    def summary(self, used: int | None = None) -> str:
        """One line: what was read, how many exchanges came of it, what was skipped and why."""
        total = sum(self.skipped.values())
        line = (
            f"{self.read} {self.unit}, {self.used if used is None else used} used, {total} skipped"
        )
        if total:
            line += " (" + ", ".join(f"{n} {why}" for why, n in self.skipped.most_common()) + ")"
        if self.left_out:
            line += f", {self.left_out} older exchanges left out by the limit"
        return line
