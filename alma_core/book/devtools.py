"""A small Chrome DevTools protocol client: headless Chromium driven over --remote-debugging-pipe.

The published site's check (`alma_core.book.browser.check_site`) uses it to see every request a page makes, wait for
it to finish loading and evaluate a probe in the page; a pipe needs no websocket library and no open port.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from alma_core.book.site import BookError

__all__ = ["DevTools"]

# Puts the pipe ends on fds 3 and 4, where --remote-debugging-pipe expects them, then becomes Chromium.
_PIPE_EXEC = ("import fcntl, os, sys; a = fcntl.fcntl(int(sys.argv[1]), fcntl.F_DUPFD, 10); "
              "b = fcntl.fcntl(int(sys.argv[2]), fcntl.F_DUPFD, 10); os.dup2(a, 3); os.dup2(b, 4); "
              "os.execv(sys.argv[3], sys.argv[3:])")


class DevTools:
    """Headless Chromium driven over the DevTools protocol on --remote-debugging-pipe (no websocket library)."""

    def __init__(self, chromium: str, flags: Sequence[str], profile_dir: str) -> None:
        to_chrome, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome = os.pipe()
        cmd = [sys.executable, "-c", _PIPE_EXEC, str(to_chrome), str(from_chrome), chromium, *flags,
               f"--user-data-dir={profile_dir}", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(cmd, pass_fds=(to_chrome, from_chrome), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _next(self, deadline: float) -> dict[str, Any]:
        """The next message from Chromium; TimeoutError past `deadline`."""
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if select.select([self._from_chrome], [], [], left)[0]:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise BookError("CHECK FAILED: chromium closed its DevTools pipe (it crashed or could not start)")
                self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        """Send one command and return its result; events read meanwhile go to `events`."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_chrome, data):]
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._next(deadline)
            except TimeoutError:
                raise BookError(f"CHECK FAILED: chromium did not answer {method} within {timeout:.0f} s") from None
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BookError(f"CHECK FAILED: DevTools {method} {params}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def settle(self, quiet: float, deadline: float) -> None:
        """Read events until none came for `quiet` seconds with no request in flight (or `deadline`)."""
        pending: set[str] = set()
        last = time.monotonic()
        seen = 0
        while time.monotonic() < deadline:
            try:
                self.events.append(self._next(min(deadline, time.monotonic() + 0.1)))
            except TimeoutError:
                pass
            for event in self.events[seen:]:
                request = event.get("params", {}).get("requestId")
                if event.get("method") == "Network.requestWillBeSent":
                    pending.add(request)
                elif event.get("method") in ("Network.loadingFinished", "Network.loadingFailed"):
                    pending.discard(request)
            if len(self.events) > seen:
                seen, last = len(self.events), time.monotonic()
            loaded = any(e.get("method") == "Page.loadEventFired" for e in self.events)
            if loaded and not pending and time.monotonic() - last >= quiet:
                return
        raise BookError(f"CHECK FAILED: a page was still loading after the deadline ({len(pending)} requests open)")

    def open_page(self) -> str:
        """A new tab with network, page, runtime and log events on; returns its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime"):
            self.call(f"{domain}.enable", session=session)
        return session

    def close(self) -> None:
        """Close the browser (kill it if it does not exit) and the pipe."""
        try:
            self.call("Browser.close", timeout=5)
        except BookError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
