"""A real headless Chromium driven by the DevTools protocol on a pipe (no driver, no websocket)."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TIMEOUT_S = 60
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


class DevToolsPipe:
    """Commands in, answers out: JSON messages ending in NUL on the browser's descriptors 3, 4."""

    def __init__(self, to_browser: Any, from_browser: Any) -> None:
        self._out, self._in = to_browser, from_browser
        self._next_id, self._pending = 0, b""

    def wait_for(self, event: str) -> dict:
        while (message := self._read()).get("method") != event:
            pass
        return message.get("params", {})

    def call(self, method: str, session: str | None = None, **params: Any) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        self._out.flush()
        while True:  # events arrive in between; the browser's exit ends the read with EOF
            answer = self._read()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def _read(self) -> dict:
        while b"\0" not in self._pending:
            if not select.select([self._in], [], [], TIMEOUT_S)[0]:
                raise TimeoutError(f"the browser said nothing for {TIMEOUT_S} s")
            chunk = os.read(self._in.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed its DevTools pipe")
            self._pending += chunk
        message, self._pending = self._pending.split(b"\0", 1)
        return json.loads(message)


@contextmanager
def headless_page(browser: str, url: str) -> Iterator[tuple[DevToolsPipe, str]]:
    """A page at `url` in a fresh headless browser profile; yields the pipe and its session."""
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen(
            [
                browser,
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-sandbox",  # root in a container has no user namespace for the sandbox
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            close_fds=False,  # the two descriptors below must reach the browser as 3 and 4
            preexec_fn=lambda: (os.dup2(to_browser_r, 3), os.dup2(from_browser_w, 4)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        with os.fdopen(to_browser_w, "wb") as out, os.fdopen(from_browser_r, "rb") as into:
            pipe = DevToolsPipe(out, into)
            try:
                target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
                session = pipe.call("Target.attachToTarget", targetId=target, flatten=True)
                pipe.call("Page.enable", session["sessionId"])
                pipe.call("Page.navigate", session["sessionId"], url=url)
                pipe.wait_for("Page.loadEventFired")
                yield pipe, session["sessionId"]
            finally:
                try:
                    pipe.call("Browser.close")
                except (RuntimeError, OSError):
                    pass
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def evaluate(pipe: DevToolsPipe, session: str, expression: str) -> Any:
    """The value of a JavaScript expression in the page (a promise is awaited)."""
    result = pipe.call(
        "Runtime.evaluate",
        session,
        expression=expression,
        awaitPromise=True,
        returnByValue=True,
    )
    if "exceptionDetails" in result:
        raise AssertionError(f"the page's script failed: {result['exceptionDetails']}")
    return result["result"].get("value")
