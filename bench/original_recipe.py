"""The notebook's recipe, kept only to be measured against: tied head, padding to 300, loss on
everything."""

from __future__ import annotations

import time

import torch

from tinktalker.training.exchanges import Exchange


def original_epoch(
    model, tokenizer, exchanges: list[Exchange], batch_size: int, learning_rate: float
) -> float:
    """Seconds for one epoch of the original training: every step runs and backpropagates the whole
    model."""
    texts = [
        f"@@ПЕРВЫЙ@@ {e.context[-1]} @@ВТОРОЙ@@ {e.reply}{tokenizer.eos_token}" for e in exchanges
    ]
    tokenizer.pad_token = tokenizer.eos_token
    encoded = tokenizer(
        texts, padding="max_length", max_length=300, truncation=True, return_tensors="pt"
    )
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    model.get_output_embeddings().weight.requires_grad_(
        True
    )  # tied: this is also the input embedding
    optimizer = torch.optim.AdamW([model.get_output_embeddings().weight], lr=learning_rate)
    model.train()
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        input_ids = encoded["input_ids"][rows]
        # the original's labels: the padded ids themselves, so padding was scored too
        loss = model(
            input_ids=input_ids, attention_mask=encoded["attention_mask"][rows], labels=input_ids
        ).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started
