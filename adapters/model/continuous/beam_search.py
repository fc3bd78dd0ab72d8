"""Beam sampling for one request, as Hugging Face's `generate(num_beams>1, do_sample=True)` does it.

Each step: log-softmax per beam, the processors and warpers (`token_choice`), plus the beam's
score; then
`max(2, 1 + stop ids) * beams` candidates are drawn from the softmax over all beams' scores (the
best ones without sampling). A stop token among the best `beams` candidates finishes a hypothesis
(scored by sum / length ** length_penalty); the best other candidates continue. Done once `beams`
hypotheses are finished and no running beam can beat the worst of them, or at max_new_tokens (the
running beams then count as hypotheses too)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from tinktalker.adapters.model.continuous.token_choice import NEGATIVE, TokenChoice, draw


@dataclass(eq=False)
class Beam:
    row: int  # its row of the KV cache
    ids: list[int] = field(default_factory=list)  # the reply so far
    score: float = 0.0


@dataclass(frozen=True)
class Continuation:
    parent: Beam
    token: int
    score: float


class BeamSearch:
    def __init__(self, choice: TokenChoice) -> None:
        self._choice = choice
        self.width = choice.decoding.num_beams
        self._penalty = choice.decoding.length_penalty
        self.finished: list[tuple[float, list[int]]] = []

    def step(
        self, beams: list[Beam], scores: torch.Tensor, ids: torch.Tensor, first: bool
    ) -> list[Continuation]:
        """The running beams' next tokens from each beam's best processed log-probabilities
        (`scores`, `ids`: [beams, candidates]). First step: the beams are copies of one, so only
        the first row counts (HF starts the others at -1e9)."""
        generated = len(beams[0].ids)
        scores = scores + torch.tensor([[b.score] for b in beams])
        if first:
            scores[1:] = NEGATIVE
        width = scores.shape[1]
        flat = scores.reshape(-1)
        count = max(2, 1 + len(self._choice.stop_ids)) * self.width
        count = min(count, int((flat > NEGATIVE).sum()))
        if count == 0:
            return []
        picked = draw(self._choice, flat, count)
        values = flat[picked]
        order = values.argsort(descending=True)
        flat_ids = ids.reshape(-1).tolist()
        return self._keep(
            [
                Continuation(beams[p // width], flat_ids[p], v)
                for p, v in zip(picked[order].tolist(), values[order].tolist(), strict=True)
            ],
            generated + 1,
        )

    def _keep(self, candidates: list[Continuation], length: int) -> list[Continuation]:
        running: list[Continuation] = []
        for rank, candidate in enumerate(candidates):
            if candidate.token in self._choice.stop_ids:
                if rank < self.width:
                    self._finish([*candidate.parent.ids, candidate.token], candidate.score, length)
            elif len(running) < self.width:
                running.append(candidate)
        return running

    def _finish(self, ids: list[int], score: float, length: int) -> None:
        self.finished.append((score / length**self._penalty, ids))
        self.finished.sort(key=lambda hypothesis: hypothesis[0], reverse=True)
        del self.finished[self.width :]

    def done(self, beams: list[Beam]) -> bool:
        if not beams:
            return True
        if len(self.finished) < self.width:
            return False
        best_running = max(b.score for b in beams) / len(beams[0].ids) ** self._penalty
        return best_running <= self.finished[-1][0]

    def best(self, beams: list[Beam]) -> list[int]:
        """The reply: the best finished hypothesis, the running beams counted at the end."""
        for beam in beams:
            if beam.score > NEGATIVE:
                self._finish(list(beam.ids), beam.score, max(len(beam.ids), 1))
        return self.finished[0][1] if self.finished else []
