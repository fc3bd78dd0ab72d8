"""Which in-process engine runs the model: `model.engine` auto, torch, ctranslate2, continuous."""

from __future__ import annotations

import logging

from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)


def choose_engine(engine: str, device: str, ctranslate2_installed: bool, cuda_visible: bool) -> str:
    """auto = ctranslate2 when installed and the model runs on a CPU (int8 there is ~3x torch fp32,
    and with a batch per worker in flight it was ahead of the continuous engine at 1, 8 and 32
    clients even on a CPU with AMX: README, "Throughput under load"), else torch."""
    if engine == "ctranslate2" and not ctranslate2_installed:
        raise SetupError(
            "model.engine is 'ctranslate2' but the ctranslate2 package is not installed; "
            "pip install ctranslate2 (it is in the model extra), or set model.engine: torch"
        )
    on_cpu = device == "cpu" or (device == "auto" and not cuda_visible)
    if engine == "continuous" and not on_cpu:
        raise SetupError(
            f"model.engine 'continuous' runs on a CPU, but model.device is '{device}'"
            f"{' and a GPU is visible' if device == 'auto' else ''}; set model.device: cpu, "
            "or model.engine: torch on a GPU"
        )
    if engine != "auto":
        return engine
    return "ctranslate2" if ctranslate2_installed and on_cpu else "torch"


def chosen_engine(engine: str, device: str) -> str:
    """`choose_engine` for this machine."""
    import torch

    try:
        import ctranslate2  # noqa: F401

        installed = True
    except ModuleNotFoundError:
        installed = False
    chosen = choose_engine(engine, device, installed, torch.cuda.is_available())
    log.info("model.engine %s on device %s: %s", engine, device, chosen)
    return chosen
