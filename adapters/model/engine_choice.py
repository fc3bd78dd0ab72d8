"""Which in-process engine runs the model: `model.engine` auto, torch, ctranslate2, continuous."""

from __future__ import annotations

import json
import logging

from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)


def choose_engine(
    engine: str,
    device: str,
    ctranslate2_installed: bool,
    cuda_visible: bool,
    amx: bool = False,
    gpt2: bool = True,
) -> str:
    """auto on a CPU with AMX (Intel Sapphire Rapids and later) and a GPT-2 model = continuous
    (bfloat16 on the matrix units, requests joining the running decode: measured ahead of
    CTranslate2 int8 at every load on such a CPU); on other CPUs ctranslate2 when installed (int8,
    ~3x torch fp32); else torch."""
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
    if on_cpu and amx and gpt2:
        return "continuous"
    return "ctranslate2" if ctranslate2_installed and on_cpu else "torch"


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo is not there."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            line = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.partition(":")[2].split())


def is_gpt2(name_or_path: str, local_files_only: bool) -> bool:
    from tinktalker.adapters.model.loading import local_source

    config = local_source(name_or_path, local_files_only) / "config.json"
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type") == "gpt2"
    except (OSError, ValueError):
        return False  # the loader names what is wrong with the folder


def chosen_engine(
    engine: str, device: str, name_or_path: str = "", local_files_only: bool = False
) -> str:
    """`choose_engine` for this machine and model."""
    import torch

    try:
        import ctranslate2  # noqa: F401

        installed = True
    except ModuleNotFoundError:
        installed = False
    amx = "amx_bf16" in cpu_flags()
    gpt2 = engine != "auto" or not amx or is_gpt2(name_or_path, local_files_only)
    chosen = choose_engine(engine, device, installed, torch.cuda.is_available(), amx, gpt2)
    log.info("model.engine %s on device %s: %s", engine, device, chosen)
    return chosen
