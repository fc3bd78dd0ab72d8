"""Atomic, pruned training checkpoints: a folder is written under a temporary name, then renamed."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)
_NAME = re.compile(r"^step-(\d{9})$")
STATE_FILE = "state.json"


class CheckpointStore:
    """`folder/step-000000120/` holds one checkpoint; a folder exists under that name only once
    complete."""

    def __init__(
        self, folder: Path, keep: int = 2, on_event: Callable[[str, int], None] | None = None
    ) -> None:
        self.folder = Path(folder)
        self._keep = max(keep, 1)
        self._on_event = on_event or (lambda name, step: None)
        self._writes = 0

    def latest(self) -> Path | None:
        found = self._complete()
        return found[-1] if found else None

    def save(self, step: int, tensors: dict[str, Any], state: dict[str, Any]) -> Path:
        """Write `tensors` (one torch file each) and `state` (JSON) as the checkpoint of `step`."""
        import torch

        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"step-{step:09d}"
        temporary = self.folder / f".writing-{final.name}"
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        self._writes += 1
        for number, (name, value) in enumerate(tensors.items()):
            torch.save(value, temporary / f"{name}.pt")
            if number == 0:
                self._on_event("checkpoint-write", self._writes)  # lets tests kill a write half-way
        _write_synced(temporary / STATE_FILE, json.dumps(state).encode())
        for path in temporary.iterdir():
            _fsync(path)
        if final.exists():  # the same step saved twice (e.g. epoch end == every-N): keep the newer
            shutil.rmtree(final)
        os.replace(temporary, final)
        _fsync(self.folder)
        self._prune()
        return final

    def fingerprint(self, path: Path) -> str | None:
        try:
            return json.loads((path / STATE_FILE).read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, ValueError):
            return None

    def load(self, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        import torch

        try:
            state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
            tensors = {
                p.stem: torch.load(p, map_location="cpu", weights_only=True)
                for p in path.glob("*.pt")
            }
        except (OSError, ValueError, RuntimeError) as error:
            raise SetupError(
                f"checkpoint '{path}' cannot be read ({error}); delete it to resume from "
                "the one before, or start over without --resume"
            ) from None
        return tensors, state

    def _complete(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        found = [
            p for p in self.folder.iterdir() if _NAME.match(p.name) and (p / STATE_FILE).is_file()
        ]
        return sorted(found, key=lambda p: p.name)

    def _prune(self) -> None:
        for old in self._complete()[: -self._keep]:
            shutil.rmtree(old, ignore_errors=True)
        for stale in self.folder.glob(".writing-*"):  # left by a run killed while writing
            shutil.rmtree(stale, ignore_errors=True)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
