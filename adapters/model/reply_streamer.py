"""Hands each row's reply text to its listener while `generate()` writes it (one beam: the only
decoding whose tokens are final as they come)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from transformers.generation.streamers import BaseStreamer

VisibleText = Callable[
    [list[int]], tuple[str, bool]
]  # generated ids -> (reply text so far, stopped)


class RowStreamer(BaseStreamer):
    """Sends only text that can no longer change: whitespace at the end, an incomplete character and
    the start of a marker or stop string wait for the next token (the reply may be cut there)."""

    def __init__(
        self,
        listeners: Sequence[Callable[[str], None] | None],
        visible: VisibleText,
        cut_at: Sequence[str],
    ) -> None:
        self._listeners = list(listeners)
        self._visible = visible
        self._cut_at = [c for c in cut_at if c]
        self._ids: list[list[int]] = [[] for _ in self._listeners]
        self._sent = ["" for _ in self._listeners]
        self._done = [listener is None for listener in self._listeners]

    def put(self, value) -> None:
        if value.dim() > 1:  # generate() first hands over the prompt
            return
        for row, token in enumerate(value.tolist()):
            self.push(row, token)

    def push(self, row: int, token: int) -> None:
        """One generated token of `row` (CTranslate2's step callback calls this directly)."""
        if self._done[row]:
            return
        self._ids[row].append(token)
        text, stopped = self._visible(self._ids[row])
        self._done[row] = stopped
        self._send(row, text.strip() if stopped else self._settled(text))

    def end(self) -> None:
        pass  # the caller sends what is left from the final reply

    def _send(self, row: int, text: str) -> None:
        sent, listener = self._sent[row], self._listeners[row]
        if listener is not None and len(text) > len(sent) and text.startswith(sent):
            listener(text[len(sent) :])
            self._sent[row] = text

    def _settled(self, text: str) -> str:
        text = text.lstrip().rstrip(
            "\ufffd"
        )  # U+FFFD: a character whose bytes are not all written yet
        held = max(
            (k for c in self._cut_at for k in range(1, len(c)) if text.endswith(c[:k])), default=0
        )
        return text[: len(text) - held].rstrip()
