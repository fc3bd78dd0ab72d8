"""One request in the decode loop: its prompt, how it chooses tokens, its beams, its outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tinktalker.adapters.model.continuous.beam_search import Beam, BeamSearch
from tinktalker.adapters.model.continuous.token_choice import TokenChoice


@dataclass(eq=False)
class Job:
    prompt: list[int]
    choice: TokenChoice
    push: Callable[[int], None] | None = None  # one beam, streamed: each token as chosen
    given_up: Callable[[], bool] = lambda: False
    stopped: Callable[[list[int]], bool] = lambda ids: False  # a stop string in the text
    beams: list[Beam] = field(default_factory=list)
    search: BeamSearch | None = None
    reply: list[int] | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def width(self) -> int:
        """Rows of the KV cache it needs."""
        return self.choice.decoding.num_beams

    @property
    def length(self) -> int:
        """Positions in its rows' cache once the newest token is fed."""
        return len(self.prompt) + len(self.beams[0].ids)

    def finish(self, reply: list[int] | None = None, error: BaseException | None = None) -> None:
        self.reply, self.error = reply, error
        self.done.set()
