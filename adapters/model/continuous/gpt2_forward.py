"""GPT-2's forward pass on a `KvCache`: a prompt into its rows, then one token per running row."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tinktalker.adapters.model.continuous.gpt2_weights import Gpt2Weights
from tinktalker.adapters.model.continuous.kv_cache import KvCache


def _norm(x: torch.Tensor, weights: Gpt2Weights, pair: tuple[torch.Tensor, torch.Tensor]):
    return F.layer_norm(x, (weights.width,), pair[0], pair[1], weights.epsilon)


def _mlp(x: torch.Tensor, weights: Gpt2Weights, layer) -> torch.Tensor:
    h = F.gelu(F.linear(_norm(x, weights, layer.ln2), *layer.up), approximate="tanh")
    return F.linear(h, *layer.down)


def prefill(weights: Gpt2Weights, cache: KvCache, row: int, ids: list[int]) -> torch.Tensor:
    """Runs a prompt (causal attention), writes its keys/values into `row`; the last logits."""
    heads, size = weights.heads, weights.width // weights.heads
    length = len(ids)
    x = weights.tokens[torch.tensor(ids)] + weights.positions[:length]
    for index, layer in enumerate(weights.layers):
        qkv = F.linear(_norm(x, weights, layer.ln1), *layer.qkv).view(length, 3, heads, size)
        q, k, v = qkv.permute(1, 2, 0, 3).unbind(0)  # each [heads, length, size]
        cache.keys[index, row, :, :length] = k
        cache.values[index, row, :, :length] = v
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + F.linear(a.transpose(0, 1).reshape(length, -1), *layer.out)
        x = x + _mlp(x, weights, layer)
    return F.linear(_norm(x[-1:], weights, weights.final_norm), weights.head)[0].float()


def decode(
    weights: Gpt2Weights, cache: KvCache, tokens: list[int], positions: list[int]
) -> torch.Tensor:
    """One step for rows 0..n-1: token i sits at positions[i] of row i. Logits [n, vocab]."""
    rows = len(tokens)
    heads, size = weights.heads, weights.width // weights.heads
    at = torch.tensor(positions)
    span = int(max(positions)) + 1
    mask = (torch.arange(span)[None, :] <= at[:, None])[:, None, None, :]
    every = torch.arange(rows)
    x = weights.tokens[torch.tensor(tokens)] + weights.positions[at]
    for index, layer in enumerate(weights.layers):
        qkv = F.linear(_norm(x, weights, layer.ln1), *layer.qkv).view(rows, 3, heads, size)
        q, k, v = qkv.unbind(1)  # each [rows, heads, size]
        keys, values = cache.keys[index], cache.values[index]
        keys[every, :, at] = k
        values[every, :, at] = v
        a = F.scaled_dot_product_attention(
            q[:, :, None], keys[:rows, :, :span], values[:rows, :, :span], attn_mask=mask
        )
        x = x + F.linear(a.reshape(rows, -1), *layer.out)
        x = x + _mlp(x, weights, layer)
    return F.linear(_norm(x, weights, weights.final_norm), weights.head).float()
