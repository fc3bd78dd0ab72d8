"""A GPT-2 checkpoint's weights as plain tensors, laid out for `torch.nn.functional.linear`."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LayerWeights:
    ln1: tuple[torch.Tensor, torch.Tensor]
    qkv: tuple[torch.Tensor, torch.Tensor]  # [3 * width, width], bias
    out: tuple[torch.Tensor, torch.Tensor]
    ln2: tuple[torch.Tensor, torch.Tensor]
    up: tuple[torch.Tensor, torch.Tensor]
    down: tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Gpt2Weights:
    """Token and position embeddings, the blocks, the final norm and the (maybe untied) head."""

    tokens: torch.Tensor
    positions: torch.Tensor
    layers: tuple[LayerWeights, ...]
    final_norm: tuple[torch.Tensor, torch.Tensor]
    head: torch.Tensor
    heads: int
    epsilon: float

    @property
    def width(self) -> int:
        return int(self.tokens.shape[1])

    @property
    def max_positions(self) -> int:
        return int(self.positions.shape[0])

    @classmethod
    def of(cls, model, dtype: torch.dtype) -> Gpt2Weights:
        """From a transformers `GPT2LMHeadModel` (Conv1D weights are [in, out]: transposed here)."""
        config = model.config
        if getattr(config, "model_type", "") != "gpt2":
            raise ValueError(f"the continuous engine runs GPT-2 models, not {config.model_type}")
        state = {k: v.detach().to(dtype) for k, v in model.state_dict().items()}

        def pair(prefix: str, transpose: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
            weight = state[f"{prefix}.weight"]
            return (weight.t().contiguous() if transpose else weight), state[f"{prefix}.bias"]

        layers = tuple(
            LayerWeights(
                ln1=pair(f"transformer.h.{i}.ln_1"),
                qkv=pair(f"transformer.h.{i}.attn.c_attn", transpose=True),
                out=pair(f"transformer.h.{i}.attn.c_proj", transpose=True),
                ln2=pair(f"transformer.h.{i}.ln_2"),
                up=pair(f"transformer.h.{i}.mlp.c_fc", transpose=True),
                down=pair(f"transformer.h.{i}.mlp.c_proj", transpose=True),
            )
            for i in range(config.n_layer)
        )
        tokens = state["transformer.wte.weight"]
        return cls(
            tokens=tokens,
            positions=state["transformer.wpe.weight"],
            layers=layers,
            final_norm=pair("transformer.ln_f"),
            head=state.get("lm_head.weight", tokens),
            heads=int(config.n_head),
            epsilon=float(config.layer_norm_epsilon),
        )
