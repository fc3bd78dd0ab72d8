"""Injected failures for crash tests: `kill-after-step:N`, `kill-in-checkpoint:N`,
`raise-in-checkpoint:N`."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from tinktalker.domain.errors import SetupError


class InjectedFailure(RuntimeError):
    """Raised by a `raise-…` fault: stands in for any crash inside the training loop."""


def fault_hook(spec: str | None) -> Callable[[str, int], None] | None:
    """A hook for the loop's events ('step', 'checkpoint-write'), or None when `spec` is empty."""
    if not spec:
        return None
    try:
        action, number = spec.rsplit(":", 1)
        at = int(number)
    except ValueError:
        raise SetupError(f"fault '{spec}' is not ACTION:N (e.g. kill-after-step:5)") from None
    events = {
        "kill-after-step": "step",
        "kill-in-checkpoint": "checkpoint-write",
        "raise-in-checkpoint": "checkpoint-write",
        "raise-after-step": "step",
    }
    if action not in events:
        raise SetupError(f"fault action '{action}' is unknown; use one of {', '.join(events)}")

    def hook(event: str, count: int) -> None:
        if event == events[action] and count == at:
            if action.startswith("kill"):
                os.kill(os.getpid(), signal.SIGKILL)  # as abrupt as a preempted GPU host
            raise InjectedFailure(f"injected failure: {spec}")

    return hook
