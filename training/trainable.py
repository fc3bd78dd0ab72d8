"""Chooses what learns: the untied head only, the original tied head + embeddings, or everything."""

from __future__ import annotations

from typing import Literal

Mode = Literal["head", "tied", "full"]
MODES = ("head", "tied", "full")


def untie_head(model) -> None:
    """Give lm_head its own copy of the embedding matrix, saved as such
    (tie_word_embeddings=False)."""
    import torch

    head = model.get_output_embeddings()
    head.weight = torch.nn.Parameter(head.weight.detach().clone())
    model.config.tie_word_embeddings = False
    if getattr(
        model.config, "get_text_config", None
    ):  # composite configs keep the flag on the text part
        model.config.get_text_config().tie_word_embeddings = False


def choose_trainable(model, mode: Mode) -> list:
    """Freeze what `mode` keeps fixed; return the parameters that learn."""
    if mode == "full":
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        return list(model.parameters())
    if mode == "head":
        untie_head(model)  # before freezing: a tied head would drag the input embeddings along
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    # "tied" reproduces the original: lm_head.weight IS wte.weight, so the input embeddings learn
    # too and every step backpropagates through the whole frozen body to reach them.
    head = model.get_output_embeddings().weight
    head.requires_grad_(True)
    return [head]


def head_is_tied(model) -> bool:
    return model.get_output_embeddings().weight is model.get_input_embeddings().weight
