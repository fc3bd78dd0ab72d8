"""How requests pick their next tokens, for every running row of a step at once.

The model card's processors in Hugging Face's order: repetition penalty and banned n-grams over the
prompt and the reply (as `generate` does), stop ids suppressed until `min_new_tokens`, then
temperature, top-k and top-p. Beams first take the log-softmax (as HF's beam search does) and keep
at least `1 + stop ids` candidates. What is left of each row is its best `width` candidates, best
first, so a draw or a beam step looks at tens of numbers, not the vocabulary. One difference from
HF: a tie at the k-th score keeps exactly k (HF keeps every tied token)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tinktalker.adapters.model.decoding import Decoding

NEGATIVE = -float("inf")


class TokenChoice:
    """One request's decoding and its own random draws (a seed gives the same reply)."""

    def __init__(self, decoding: Decoding, stop_ids: tuple[int, ...], seed: int | None) -> None:
        self.decoding = decoding
        self.stop_ids = stop_ids
        self.beams = decoding.num_beams > 1
        self.keep = len(stop_ids) + 1 if self.beams else 1  # as HF keeps for beams
        self.draws = torch.Generator().manual_seed(seed) if seed is not None else None

    @property
    def candidates(self) -> int:
        """How many of a row's best scores this request can ever use (0 = the whole vocabulary)."""
        d = self.decoding
        if d.do_sample:
            return max(d.top_k, self.keep) if d.top_k > 0 else 0
        return max(2, 1 + len(self.stop_ids)) * d.num_beams


@dataclass(frozen=True)
class Row:
    choice: TokenChoice
    history: list[int]  # prompt and reply so far
    generated: int


def best_candidates(logits: torch.Tensor, rows: list[Row]) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's best scores after processing and warping, best first: (scores, token ids)."""
    vocab = logits.shape[1]
    widths = [row.choice.candidates for row in rows]
    width = vocab if 0 in widths else min(max(widths), vocab)
    scores = logits.float()
    beams = torch.tensor([row.choice.beams for row in rows])
    if bool(beams.any()):
        scores = torch.where(beams[:, None], scores.log_softmax(-1), scores)
    scores = _penalised(scores, rows)
    _ban(scores, rows)
    temperature = torch.tensor(
        [r.choice.decoding.temperature if r.choice.decoding.do_sample else 1.0 for r in rows]
    )
    values, ids = torch.topk(scores / temperature[:, None], width)
    limit = torch.tensor([w or vocab for w in widths])
    values = values.masked_fill(torch.arange(width)[None, :] >= limit[:, None], NEGATIVE)
    return _nucleus(values, rows), ids


def _penalised(scores: torch.Tensor, rows: list[Row]) -> torch.Tensor:
    penalty = rows[0].choice.decoding.repetition_penalty  # not a per-request option
    if penalty == 1.0:
        return scores
    longest = max(len(row.history) for row in rows)
    history = torch.tensor([r.history + [r.history[0]] * (longest - len(r.history)) for r in rows])
    seen = scores.gather(1, history)
    return scores.scatter(1, history, torch.where(seen < 0, seen * penalty, seen / penalty))


def _ban(scores: torch.Tensor, rows: list[Row]) -> None:
    """Banned n-grams and, before min_new_tokens, the stop ids: -inf in place."""
    at: list[int] = []
    ids: list[int] = []
    for index, row in enumerate(rows):
        banned = _banned_ngrams(row.history, row.choice.decoding.no_repeat_ngram_size)
        if row.generated < row.choice.decoding.min_new_tokens:
            banned += row.choice.stop_ids
        at += [index] * len(banned)
        ids += banned
    if ids:
        scores[torch.tensor(at), torch.tensor(ids)] = NEGATIVE


def _banned_ngrams(history: list[int], size: int) -> list[int]:
    """Tokens that would repeat an n-gram of `history` (HF's NoRepeatNGramLogitsProcessor)."""
    if size <= 0 or len(history) < size:
        return []
    if size == 1:
        return list(history)
    prefix = history[len(history) - size + 1 :]
    if size == 2:
        last = prefix[0]
        return [history[i + 1] for i in range(len(history) - 1) if history[i] == last]
    return [
        history[i + size - 1]
        for i in range(len(history) - size + 1)
        if history[i : i + size - 1] == prefix
    ]


def _nucleus(values: torch.Tensor, rows: list[Row]) -> torch.Tensor:
    """Top-p on scores sorted best first: a token goes once the better ones hold top_p."""
    top_p = torch.tensor(
        [r.choice.decoding.top_p if r.choice.decoding.do_sample else 1.0 for r in rows]
    )
    if bool((top_p >= 1.0).all()):
        return values
    probabilities = values.softmax(-1)
    better = probabilities.cumsum(-1) - probabilities
    remove = better >= top_p[:, None]
    keep = torch.tensor([r.choice.keep for r in rows])
    remove &= torch.arange(values.shape[1])[None, :] >= keep[:, None]
    remove &= (top_p < 1.0)[:, None]
    return values.masked_fill(remove, NEGATIVE)


def draw(choice: TokenChoice, scores: torch.Tensor, count: int) -> torch.Tensor:
    """Positions in `scores` (1-D, -inf = out): `count` distinct draws, or the best ones."""
    if not choice.decoding.do_sample:
        return torch.topk(scores, count)[1]
    return torch.multinomial(scores.softmax(-1), count, generator=choice.draws)
