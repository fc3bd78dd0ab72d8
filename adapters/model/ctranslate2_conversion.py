"""A model folder or hub id as a CTranslate2 model: converted once, cached by content and
quantization.

The cache entry is written to a temporary folder and renamed into place, so a conversion that is
killed never leaves an entry that loads; temporary folders of dead conversions are removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path

import ctranslate2
from ctranslate2.converters import TransformersConverter
from transformers import AutoConfig

from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)

# The files that make up a model; training logs, plots and checkpoints beside them do not change it.
_MODEL_FILES = (
    "config.json",
    "*.safetensors",
    "*.bin",
    "tokenizer*",
    "vocab*",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
)
_TEMPORARY = ".converting-"
FALLBACK = "or set model.engine: torch"


def supported_compute_type(
    quantization: str, device: str, supported: set[str] | None = None
) -> str:
    """`quantization` if this CTranslate2 build runs it on `device` ('cpu' or 'cuda'), checked
    before anything is converted; a refused one is a SetupError naming those available."""
    if supported is None:
        supported = set(ctranslate2.get_supported_compute_types(device))
    if quantization == "auto":
        return "int8_float16" if device == "cuda" and "int8_float16" in supported else "int8"
    if quantization not in supported:
        raise SetupError(
            f"model.quantization '{quantization}' is not supported by CTranslate2 "
            f"{ctranslate2.__version__} on {device}; this machine has: "
            f"{', '.join(sorted(supported))} (or auto), {FALLBACK}"
        )
    return quantization


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinktalker"


def source_fingerprint(folder: Path) -> str:
    """sha256 over the model files' names and contents."""
    digest = hashlib.sha256()
    files = sorted({f for pattern in _MODEL_FILES for f in folder.glob(pattern) if f.is_file()})
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with open(file, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def converted_model(source: Path, quantization: str, cache_dir: Path) -> Path:
    """The cached CTranslate2 folder for `source` at `quantization`, converting it first when
    missing."""
    entry = cache_dir / "ctranslate2" / f"{source_fingerprint(source)[:24]}-{quantization}"
    if (entry / "model.bin").is_file():
        log.info("using the converted model %s", entry)
        return entry
    _writable(entry.parent)
    _remove_dead_conversions(entry.parent)
    temporary = entry.parent / f"{_TEMPORARY}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    log.info(
        "converting %s for CTranslate2 (%s) into %s; this happens once per model and quantization",
        source,
        quantization,
        entry,
    )
    try:
        _convert(source, temporary, quantization)
        os.rename(temporary, entry)  # the commit: before it no entry exists, after it a whole one
    except OSError as error:
        if not (entry / "model.bin").is_file():  # not merely another process that finished first
            raise SetupError(
                f"could not write the converted model to {entry} ({error}); set model.cache_dir "
                f"to a writable folder with room for the model, {FALLBACK}"
            ) from error
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return entry


def _convert(source: Path, output: Path, quantization: str) -> None:
    try:
        FullVocabularyConverter(str(source), low_cpu_mem_usage=True).convert(
            str(output), quantization=quantization
        )
    except (ValueError, KeyError, NotImplementedError, TypeError, AttributeError) as error:
        first_line = (str(error).splitlines() or [""])[0][:300]
        raise SetupError(
            f"CTranslate2 cannot convert the model in {source} ({type(error).__name__}: "
            f"{first_line}); {FALLBACK}"
        ) from error


class FullVocabularyConverter(TransformersConverter):
    """Hugging Face's converter, given a vocabulary as long as the model's embedding.

    Models pad their embedding past the tokenizer (ruDialoGPT: 50261 rows) and tokenizers may lack
    an unknown token; CTranslate2 refuses both. Unused rows get placeholder names, so the
    vocabulary's index is the token id and no id ever changes meaning.
    """

    def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
        tokenizer = super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs)
        rows = AutoConfig.from_pretrained(model_name_or_path).vocab_size
        return _IdOrderedVocabulary(tokenizer, rows)


class _IdOrderedVocabulary:
    """The three token names and `get_vocab()` that the GPT-2 loader reads from a tokenizer."""

    def __init__(self, tokenizer, rows: int) -> None:
        names = [f"<unused_{i}>" for i in range(max(rows, len(tokenizer)))]
        for token, index in tokenizer.get_vocab().items():
            names[index] = token
        self._vocabulary = {name: index for index, name in enumerate(names)}
        self.bos_token = tokenizer.bos_token or tokenizer.eos_token
        self.eos_token = tokenizer.eos_token
        self.unk_token = tokenizer.unk_token or tokenizer.eos_token  # CTranslate2 needs one to load

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocabulary)


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise SetupError(
            f"model.cache_dir: cannot write to {folder} ({error.strerror or error}); "
            f"set model.cache_dir to a writable folder, {FALLBACK}"
        ) from None


def _remove_dead_conversions(folder: Path) -> None:
    for leftover in folder.glob(f"{_TEMPORARY}*"):
        pid = leftover.name[len(_TEMPORARY) :].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            log.info("removing %s, left by a conversion that did not finish", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
