"""Batch plans (seeded per epoch, so a resumed run replays them) and dynamic padding."""

from __future__ import annotations

import random
from collections.abc import Sequence

from tinktalker.training.examples import IGNORED, Example

GROUP_BATCHES = 50  # batches per length-sorted pool: similar lengths together, order still random


def plan_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, group_by_length: bool = True
) -> list[list[int]]:
    """Indices of each batch of one epoch; the same (seed, epoch) gives the same plan."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if group_by_length:
        pool = batch_size * GROUP_BATCHES
        order = [
            i
            for start in range(0, len(order), pool)
            for i in sorted(order[start : start + pool], key=lambda i: lengths[i])
        ]
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if group_by_length:
        rng.shuffle(batches)  # otherwise every pool would run short-to-long
    return batches


def pad_batch(examples: Sequence[Example], pad_id: int):
    """(input_ids, attention_mask, labels) padded on the right to the longest example; padding
    scores nothing."""
    import torch

    width = max(len(e) for e in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORED, dtype=torch.long)
    for row, example in enumerate(examples):
        size = len(example)
        input_ids[row, :size] = torch.tensor(example.input_ids)
        attention[row, :size] = 1
        labels[row, :size] = torch.tensor(example.labels)
    return input_ids, attention, labels
