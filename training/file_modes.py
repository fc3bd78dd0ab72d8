"""Files a run writes get the mode any new file gets here (0644 under the usual umask 022).

safetensors and temporary-file writers create files 0600: a model saved so cannot be read by another
user, e.g. the inference image's unprivileged user reading a mounted model folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def new_file_mode() -> int:
    """0666 less the process umask: the mode open() gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def give_written_files_the_usual_mode(folder: Path) -> None:
    mode = new_file_mode()
    for path in Path(folder).rglob("*"):
        if path.is_file() and not path.is_symlink() and (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
