"""GPT-2's forward pass on a `KvCache`: one token for each running row and, in the same pass, the
whole prompt of each request that joins, so the matrices are read once for both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tinktalker.adapters.model.continuous.gpt2_weights import Gpt2Weights, LayerWeights
from tinktalker.adapters.model.continuous.kv_cache import KvCache


@dataclass(frozen=True)
class Joining:
    row: int  # the cache row its prompt's keys and values go to
    ids: list[int]


def step(
    weights: Gpt2Weights,
    cache: KvCache,
    tokens: Sequence[int],
    positions: Sequence[int],
    joining: Sequence[Joining] = (),
) -> torch.Tensor:
    """Token i at positions[i] of row i (rows 0..n-1), then each joining prompt from position 0.
    Logits [n + joining, vocab]: the running rows' next tokens, then each prompt's first."""
    running = len(tokens)
    lengths = [len(j.ids) for j in joining]
    ids = torch.tensor([*tokens, *(i for j in joining for i in j.ids)])
    places = torch.tensor([*positions, *(p for n in lengths for p in range(n))])
    x = weights.tokens[ids] + weights.positions[places]
    attend = _attention(weights, cache, positions, joining)
    for index, layer in enumerate(weights.layers):
        x = x + layer.out(attend(index, _norm(x, weights, layer.ln1), layer))
        x = x + _mlp(_norm(x, weights, layer.ln2), layer)
    ends = [running + sum(lengths[: k + 1]) - 1 for k in range(len(lengths))]
    last = x[[*range(running), *ends]]
    return weights.head(_norm(last, weights, weights.final_norm)).float()


def _attention(weights: Gpt2Weights, cache: KvCache, positions, joining):
    heads, size = weights.heads, weights.width // weights.heads
    running = len(positions)
    at = torch.tensor(positions, dtype=torch.long)
    span = int(max(positions)) + 1 if running else 0
    mask = (torch.arange(span)[None, :] <= at[:, None])[:, None, None, :]
    every = torch.arange(running)

    def attend(index: int, h: torch.Tensor, layer: LayerWeights) -> torch.Tensor:
        qkv = layer.qkv(h).view(-1, 3, heads, size)
        keys, values = cache.keys[index], cache.values[index]
        out = []
        if running:
            q, k, v = qkv[:running].unbind(1)  # each [rows, heads, size]
            keys[every, :, at] = k.to(keys.dtype)
            values[every, :, at] = v.to(values.dtype)
            a = F.scaled_dot_product_attention(  # the cache may be narrower than the stream
                q[:, :, None].to(keys.dtype),
                keys[:running, :, :span],
                values[:running, :, :span],
                attn_mask=mask,
            )
            out.append(a.reshape(running, -1).to(h.dtype))
        start = running
        for join in joining:
            length = len(join.ids)
            q, k, v = qkv[start : start + length].permute(1, 2, 0, 3).unbind(0)
            keys[join.row, :, :length] = k  # [heads, length, size]
            values[join.row, :, :length] = v
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            out.append(a.transpose(0, 1).reshape(length, -1))
            start += length
        return torch.cat(out) if len(out) > 1 else out[0]

    return attend


def _norm(x: torch.Tensor, weights: Gpt2Weights, pair: tuple[torch.Tensor, torch.Tensor]):
    return F.layer_norm(x, (weights.width,), pair[0], pair[1], weights.epsilon)


def _mlp(h: torch.Tensor, layer: LayerWeights) -> torch.Tensor:
    return layer.down(F.gelu(layer.up(h), approximate="tanh"))
