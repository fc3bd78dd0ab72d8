"""The KV cache of every running sequence: one preallocated tensor, so its memory is bounded.

Row r holds sequence r's keys and values at positions 0..length-1. Running sequences always occupy
rows 0..n-1 (a finished one's rows are filled from the end), so a decode step attends over a view,
never a gathered copy."""

from __future__ import annotations

import torch


class KvCache:
    def __init__(
        self, layers: int, heads: int, head_size: int, rows: int, tokens: int, dtype: torch.dtype
    ) -> None:
        self.rows = rows
        self.tokens = tokens
        self.keys = torch.zeros(layers, rows, heads, tokens, head_size, dtype=dtype)
        self.values = torch.zeros(layers, rows, heads, tokens, head_size, dtype=dtype)

    @property
    def megabytes(self) -> float:
        return 2 * self.keys.numel() * self.keys.element_size() / 2**20

    def move(self, source: int, target: int, length: int) -> None:
        """Row `source`'s first `length` positions into row `target` (filling a freed row)."""
        self.keys[:, target, :, :length] = self.keys[:, source, :, :length]
        self.values[:, target, :, :length] = self.values[:, source, :, :length]

    def regroup(self, rows: list[int], parents: list[int], length: int) -> None:
        """Beams: row rows[i] continues from row parents[i] (a row of `rows`); copies only
        changes."""
        moved = [(row, parent) for row, parent in zip(rows, parents, strict=True) if row != parent]
        if not moved:
            return
        target = torch.tensor([row for row, _ in moved])
        picked = torch.tensor([parent for _, parent in moved])
        for cache in (self.keys, self.values):  # the sources are read before any row is written
            cache[:, target, :, :length] = cache[:, picked, :, :length]
