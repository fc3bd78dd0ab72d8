"""What one training step runs: the head on cached hidden states, or the whole model."""

from __future__ import annotations

from collections.abc import Sequence

from tinktalker.training.batches import pad_batch, plan_batches
from tinktalker.training.examples import IGNORED, Example

EVAL_CHUNK_TOKENS = 4096


class ModelEngine:
    """Every step runs the model: needed when the body learns (full, tied) or dropout is wanted."""

    def __init__(
        self,
        model,
        train: Sequence[Example],
        validation: Sequence[Example],
        pad_id: int,
        device,
        batch_size: int,
    ) -> None:
        self.model = model
        self._train, self._validation = train, validation
        self._pad_id, self._device, self._batch_size = pad_id, device, batch_size

    def loss(self, indices: Sequence[int]):
        self.model.train()  # dropout on, as in the original
        batch = pad_batch([self._train[i] for i in indices], self._pad_id)
        input_ids, attention, labels = (t.to(self._device) for t in batch)
        return self.model(input_ids=input_ids, attention_mask=attention, labels=labels).loss

    def evaluate(self) -> float:
        """Mean loss per scored validation token (eval mode, no dropout)."""
        import torch

        self.model.eval()
        examples = self._validation
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in plan_batches([len(e) for e in examples], self._batch_size, 0, 0):
                input_ids, attention, labels = (
                    t.to(self._device)
                    for t in pad_batch([examples[i] for i in batch], self._pad_id)
                )
                logits = self.model(input_ids=input_ids, attention_mask=attention).logits[:, :-1]
                targets = labels[:, 1:]
                total += torch.nn.functional.cross_entropy(
                    logits.float().reshape(-1, logits.shape[-1]),
                    targets.reshape(-1),
                    ignore_index=IGNORED,
                    reduction="sum",
                ).item()
                count += int((targets != IGNORED).sum())
        return total / max(count, 1)


class HiddenStates:
    """Final hidden states at scored positions only, with the token each one must predict."""

    def __init__(self, features, targets, offsets) -> None:
        self.features, self.targets, self.offsets = features, targets, offsets

    def rows(self, indices: Sequence[int]):
        import torch

        index = torch.cat([torch.arange(self.offsets[i], self.offsets[i + 1]) for i in indices])
        return self.features[index], self.targets[index]

    @classmethod
    def compute(
        cls, model, examples: Sequence[Example], batch_size: int, pad_id: int, device, progress=None
    ):
        """One pass of the frozen body in eval mode; batches are fixed, so a rerun is bitwise
        identical."""
        import torch

        body = model.base_model
        body.eval()
        per_example: list = [None] * len(examples)
        with torch.no_grad():
            for batch in plan_batches([len(e) for e in examples], batch_size, 0, 0):
                input_ids, attention, labels = (
                    t.to(device) for t in pad_batch([examples[i] for i in batch], pad_id)
                )
                hidden = body(input_ids=input_ids, attention_mask=attention).last_hidden_state
                for row, index in enumerate(batch):
                    scored = (labels[row, 1:] != IGNORED).nonzero().squeeze(1)
                    per_example[index] = (hidden[row, scored].clone(), labels[row, scored + 1])
                if progress is not None:
                    progress.update(len(batch))
        sizes = torch.tensor([0] + [len(t) for _, t in per_example])
        return cls(
            torch.cat([f for f, _ in per_example]),
            torch.cat([t for _, t in per_example]),
            torch.cumsum(sizes, 0).tolist(),
        )


class CachedHeadEngine:
    """Head-only training on hidden states computed once: epochs cost a matrix product, not the
    model."""

    def __init__(self, head, train: HiddenStates, validation: HiddenStates) -> None:
        self.head = head
        self._train, self._validation = train, validation

    def loss(self, indices: Sequence[int]):
        import torch

        features, targets = self._train.rows(indices)
        return torch.nn.functional.cross_entropy(self.head(features).float(), targets)

    def evaluate(self) -> float:
        import torch

        features, targets = self._validation.features, self._validation.targets
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(targets), EVAL_CHUNK_TOKENS):
                logits = self.head(features[start : start + EVAL_CHUNK_TOKENS]).float()
                total += torch.nn.functional.cross_entropy(
                    logits, targets[start : start + EVAL_CHUNK_TOKENS], reduction="sum"
                ).item()
        return total / max(len(targets), 1)
