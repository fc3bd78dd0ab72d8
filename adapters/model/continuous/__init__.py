"""Continuous batching on a CPU: a decode loop of our own over a bounded KV cache."""
