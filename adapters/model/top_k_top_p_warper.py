"""Temperature, top-k and top-p in one logits processor that sorts only the top-k candidates.

Hugging Face's TopPLogitsWarper sorts the whole vocabulary (50k for ruDialoGPT) for every beam row,
although top-k has already masked all but k of them; on a CPU that sort was a fifth of a batched
decoding step. The result is the same as HF's TemperatureLogitsWarper -> TopKLogitsWarper ->
TopPLogitsWarper chain, ties at the k-th score included (a test compares them bit for bit).
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor


class TopKTopPWarper(LogitsProcessor):
    def __init__(
        self, temperature: float, top_k: int, top_p: float, min_tokens_to_keep: int = 1
    ) -> None:
        self.temperature = temperature
        self.top_k = max(top_k, min_tokens_to_keep) if top_k > 0 else 0
        self.top_p = top_p
        self.min_tokens_to_keep = min_tokens_to_keep
        self.filter_value = -float("inf")

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        if self.temperature != 1.0:
            scores = scores / self.temperature
        if self.top_k == 0 or self.top_k >= scores.shape[-1]:
            return self._top_p(scores, scores.shape[-1])
        kth = torch.topk(scores, self.top_k)[0][..., -1, None]
        scores = scores.masked_fill(scores < kth, self.filter_value)
        kept = int(
            (scores > self.filter_value).sum(-1).max()
        )  # ties at the k-th score keep more than k
        return self._top_p(scores, max(kept, self.top_k))

    def _top_p(self, scores: torch.Tensor, candidates: int) -> torch.Tensor:
        if self.top_p >= 1.0:
            return scores
        values, indices = torch.topk(scores, candidates)  # every token still in play, best first
        values, indices = values.flip(-1), indices.flip(-1)  # ascending, as HF's sort
        if (
            candidates < scores.shape[-1]
        ):  # the masked rest of the vocabulary adds exp(-inf) = 0 to the mass
            values = torch.cat(
                [values.new_full((values.shape[0], 1), self.filter_value), values], dim=-1
            )
        cumulative = values.softmax(dim=-1).cumsum(dim=-1)
        remove = cumulative <= (1 - self.top_p)
        remove[..., -self.min_tokens_to_keep :] = False
        if candidates < scores.shape[-1]:
            remove = remove[..., 1:]
        mask = torch.zeros_like(scores, dtype=torch.bool).scatter(1, indices, remove)
        return scores.masked_fill(mask, self.filter_value)
