"""The one-pass temperature/top-k/top-p warper equals Hugging Face's chain of three."""

from __future__ import annotations

import pytest
import torch
from transformers.generation.logits_process import (
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from tinktalker.adapters.model.top_k_top_p_warper import TopKTopPWarper


def hf_chain(temperature, top_k, top_p, keep):
    warpers = [TemperatureLogitsWarper(temperature)]
    if top_k:
        warpers.append(TopKLogitsWarper(top_k, min_tokens_to_keep=keep))
    return LogitsProcessorList([*warpers, TopPLogitsWarper(top_p, min_tokens_to_keep=keep)])


def random_case(generator: torch.Generator, ties: bool):
    rows, vocab = (
        int(torch.randint(1, 8, (), generator=generator)),
        int(torch.randint(5, 3000, (), generator=generator)),
    )
    scores = torch.randn(rows, vocab, generator=generator) * 4
    if ties:
        scores = scores.round()
    banned = torch.randint(0, vocab, (vocab // 3,), generator=generator)
    scores[:, banned] = -float("inf")  # what no_repeat_ngram bans look like
    temperature = float(torch.rand((), generator=generator)) * 2 + 0.1
    top_k = int(torch.randint(0, 20, (), generator=generator))
    top_p = float(torch.rand((), generator=generator))
    keep = int(torch.randint(1, 5, (), generator=generator))
    return scores, (temperature, top_k, top_p, keep)


@pytest.mark.parametrize("seed", range(5))
def test_equals_the_hf_chain_bit_for_bit(seed):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(40):
        scores, settings = random_case(generator, ties=False)
        assert torch.equal(
            TopKTopPWarper(*settings)(None, scores.clone()),
            hf_chain(*settings)(None, scores.clone()),
        )


@pytest.mark.slow
def test_with_exact_ties_it_keeps_as_many_tokens_and_the_same_mass():
    # which of several exactly-tied tokens survives at the nucleus edge is unspecified in HF too
    # (unstable sort)
    generator = torch.Generator().manual_seed(123)
    for _ in range(100):
        scores, settings = random_case(generator, ties=True)
        ours, theirs = (
            TopKTopPWarper(*settings)(None, scores.clone()),
            hf_chain(*settings)(None, scores.clone()),
        )
        kept_ours, kept_theirs = ours > -float("inf"), theirs > -float("inf")
        assert torch.equal(kept_ours.sum(-1), kept_theirs.sum(-1))
        warmed = scores / settings[0]
        mass = lambda kept, warmed=warmed: torch.where(kept, warmed, -float("inf")).logsumexp(-1)  # noqa: E731
        assert torch.allclose(mass(kept_ours), mass(kept_theirs))
