"""Progress bars of the libraries (`Loading weights`, `Writing model shards`, the hub's downloads)
are off where ours are: with `--no-progress`, or when stderr is a log, not a terminal."""

from __future__ import annotations

import os
import sys


def silence_library_progress_bars() -> None:
    # huggingface_hub reads this when imported, and transformers asks huggingface_hub when imported;
    # setting it costs no import, so a busy port or a bad token is still reported at once
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
