"""Keeps one sender from hogging the model: a limit on messages per minute, per sender."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from enum import Enum


# StrEnum would change str() and format() of a member ("answer", not "Verdict.ANSWER").
class Verdict(str, Enum):  # noqa: UP042
    ANSWER = "answer"
    WARN = "warn"  # the first message over the limit: tell the sender to slow down
    DROP = "drop"  # later ones, until the sender is under the limit again


class FloodGuard:
    """At most `per_minute` answered messages per sender in any `window_s`; 0 = no limit."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self._limit = per_minute
        self._window_s = window_s
        self._answered: dict[Hashable, deque[float]] = {}
        self._warned: set[Hashable] = set()

    def check(self, sender: Hashable, now: float) -> Verdict:
        if self._limit <= 0:
            return Verdict.ANSWER
        times = self._answered.setdefault(sender, deque())
        while times and times[0] <= now - self._window_s:
            times.popleft()
        if len(times) < self._limit:
            times.append(now)
            self._warned.discard(sender)
            return Verdict.ANSWER
        if sender in self._warned:
            return Verdict.DROP
        self._warned.add(sender)
        return Verdict.WARN
