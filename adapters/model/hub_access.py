"""Where a model name points before loading: a folder, a cached hub model, the hub, or nowhere.

The hub library retries an unreachable hub for about 50 s; one short request here finds that out in
seconds.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)

HUB_CHECK_TIMEOUT_S = 3.0
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_OFFLINE_VALUES = {"1", "on", "yes", "true"}


def is_hub_id(name: str) -> bool:
    """`owner/name`, as every hub model has (a bare `gpt2`-style name is taken for a folder)."""
    return bool(_HUB_ID.fullmatch(name))


def offline_by_environment() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in _OFFLINE_VALUES
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def hub_is_reachable(timeout_s: float = HUB_CHECK_TIMEOUT_S) -> bool:
    """One request to the hub's endpoint (through the hub library's own client, so proxies apply).

    It runs in a daemon thread given `timeout_s`: the client's timeout does not cover a name lookup,
    which can hang for many seconds on a machine without a network."""
    answered: list[bool] = []
    probe = threading.Thread(
        target=_probe_hub, args=(timeout_s, answered), daemon=True, name="hub-check"
    )
    probe.start()
    probe.join(timeout_s + 0.5)
    return bool(answered) and answered[0]


def _probe_hub(timeout_s: float, answered: list[bool]) -> None:
    from huggingface_hub.utils import get_session

    try:
        get_session().head(hub_endpoint(), timeout=timeout_s)
    except (
        Exception
    ) as error:  # any transport failure (DNS, refused, timeout, TLS) means: not reachable
        log.info("the hub at %s is not reachable: %s", hub_endpoint(), error)
        answered.append(False)
        return
    answered.append(True)


def is_cached(hub_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)


def not_a_folder(name: str) -> SetupError:
    return SetupError(
        f"no such folder '{name}' (and it is not a hub id like owner/name); pass --model with the "
        "folder of a downloaded or trained model (or set TINKTALKER_MODEL)"
    )


def offline_error(hub_id: str) -> SetupError:
    return SetupError(
        f"model '{hub_id}' is not on this machine and the Hugging Face hub "
        f"({hub_endpoint()}) cannot be reached (offline?): pass --model FOLDER with a copy of "
        f"it, or download it where there is a network "
        f"(`hf download {hub_id} --local-dir ./model`) and copy the folder here"
    )


def hub_files_only(hub_id: str, local_files_only: bool) -> bool:
    """Whether to load `hub_id` from the cache only; SetupError when neither the cache nor the hub
    has it."""
    if local_files_only or offline_by_environment():
        return local_files_only
    if hub_is_reachable():
        return False
    if is_cached(hub_id):
        log.warning("the Hugging Face hub is not reachable; loading '%s' from its cache", hub_id)
        return True
    raise offline_error(hub_id)


def unreadable_files(folder: Path) -> list[str]:
    """Files of a model folder this user cannot read (e.g. written 0600 by another user)."""
    return sorted(
        path.name for path in folder.iterdir() if path.is_file() and not os.access(path, os.R_OK)
    )
