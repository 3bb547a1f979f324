"""Run Debian's headless Chromium for the tests and drive it over the DevTools Protocol.

The browser is driven through ``--remote-debugging-pipe``: the DevTools
Protocol (CDP) as NUL-terminated JSON messages on the browser's file
descriptors 3 (commands in) and 4 (replies and events out). Nothing listens on
a port, no WebSocket client is needed, and only the process that started the
browser can talk to it. The flags are those this machine needs because its
network is closed: no sandbox (the tests run as root), no GPU, no QUIC, and
no background, component-update or sync traffic, with a fresh profile folder
for every start.

The binary comes from ``$SHIFTMEDIA_CHROMIUM``, else ``/usr/bin/chromium``
(Debian's ``chromium`` package, which ``make test`` installs).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from .process import stop_process

DEFAULT_BINARY = Path("/usr/bin/chromium")
START_TIMEOUT = 30.0
CALL_TIMEOUT = 60.0

#: Always passed: headless, and nothing that reaches for the network by itself.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)

Message = dict[str, Any]


class ChromiumError(RuntimeError):
    """Chromium could not be found, started, driven or stopped."""


class ProtocolError(ChromiumError):
    """The browser answered a DevTools command with an error."""


def chromium_binary() -> Path:
    """The ``chromium`` executable, or :class:`ChromiumError` saying how to install it."""
    configured = os.environ.get("SHIFTMEDIA_CHROMIUM")
    path = Path(configured) if configured else DEFAULT_BINARY
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ChromiumError(
            f"Chromium not found at {path}; run `make test` (it installs Debian's chromium "
            "package) or set SHIFTMEDIA_CHROMIUM to a chromium executable"
        )
    return path


@dataclass
class Chromium:
    """One headless browser process, its profile folder and its DevTools pipe."""

    work_dir: Path
    process: subprocess.Popen[bytes] | None = None
    version: str = ""
    startup_seconds: float = 0.0
    events: list[Message] = field(default_factory=list)
    _to_browser: int | None = None
    _from_browser: int | None = None
    _buffer: bytes = b""
    _next_id: int = 0

    @property
    def log_path(self) -> Path:
        """Where the browser's own output goes."""
        return self.work_dir / "chromium.log"

    def start(self, timeout: float = START_TIMEOUT) -> Self:
        """Start the browser with a new empty profile and wait until it answers on the pipe."""
        binary = chromium_binary()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        profile = self.work_dir / f"profile-{time.monotonic_ns()}"
        profile.mkdir()
        commands_read, commands_write = os.pipe()
        replies_read, replies_write = os.pipe()
        # The browser wants the pipe on fds 3 and 4 exactly, and subprocess keeps fds only under
        # their own numbers: so the child's ends move above 9 (where 3 and 4 cannot collide
        # with them), and bash puts them on 3 and 4 and execs the browser (Debian's launcher
        # execs in turn, so the PID is the browser's own).
        child_read, child_write = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_read, replies_write))
        os.close(commands_read)
        os.close(replies_write)
        self._to_browser, self._from_browser = commands_write, replies_read
        launcher = f'exec "$0" "$@" 3<&{child_read} 4>&{child_write} {child_read}<&- {child_write}>&-'
        args = ["/bin/bash", "-c", launcher, str(binary), *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        started = time.monotonic()
        try:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(child_read, child_write),
                    start_new_session=True,
                )
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(child_read)
            os.close(child_write)
        try:
            self.version = str(self.call("Browser.getVersion", timeout=timeout)["product"])
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def call(
        self,
        method: str,
        params: Message | None = None,
        *,
        session_id: str | None = None,
        timeout: float = CALL_TIMEOUT,
    ) -> Message:
        """Send one command and return its result; events read meanwhile go to :attr:`events`."""
        if self._to_browser is None:
            raise ChromiumError("the browser is not running")
        self._next_id += 1
        message: Message = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data) :]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, f"reply to {method}")
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise ProtocolError(f"{method}: {reply['error'].get('message', reply['error'])}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_event(
        self,
        method: str,
        *,
        session_id: str | None = None,
        predicate: Callable[[Message], bool] = lambda params: True,
        timeout: float = CALL_TIMEOUT,
    ) -> Message:
        """The params of the first event ``method`` (of ``session_id``) matching ``predicate``.

        Events already received are searched first and the one returned is
        removed from :attr:`events`.
        """

        def matches(event: Message) -> bool:
            return (
                event.get("method") == method
                and (session_id is None or event.get("sessionId") == session_id)
                and predicate(event.get("params", {}))
            )

        for index, event in enumerate(self.events):
            if matches(event):
                del self.events[index]
                return dict(event.get("params", {}))
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(deadline, f"event {method}")
            if matches(event):
                return dict(event.get("params", {}))
            self.events.append(event)

    def _receive(self, deadline: float, waiting_for: str) -> Message:
        """The next message from the browser, or :class:`ChromiumError` at the deadline or exit."""
        assert self._from_browser is not None
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChromiumError(f"no {waiting_for} from Chromium in time\n{self.log_tail()}")
            readable, _, _ = select.select([self._from_browser], [], [], min(remaining, 1.0))
            if not readable:
                if self.process is not None and self.process.poll() is not None:
                    raise ChromiumError(f"Chromium exited with {self.process.returncode}\n{self.log_tail()}")
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise ChromiumError(f"Chromium closed its DevTools pipe\n{self.log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def open_page(self, width: int = 1280, height: int = 800) -> Page:
        """A new tab attached to this client, with a ``width`` × ``height`` CSS-pixel viewport."""
        target = self.call("Target.createTarget", {"url": "about:blank", "newWindow": True})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, str(target), str(session))
        page.call("Page.enable")
        page.call("Network.enable")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    def log_tail(self, lines: int = 40) -> str:
        """The end of the browser's log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Ask the browser to close; then SIGTERM, and SIGKILL after :data:`STOP_GRACE` seconds."""
        process = self.process
        if process is not None and process.poll() is None and self._to_browser is not None:
            with contextlib.suppress(ChromiumError, OSError):
                self.call("Browser.close", timeout=5)
        self.process = None
        for fd in (self._to_browser, self._from_browser):
            if fd is not None:
                os.close(fd)
        self._to_browser = self._from_browser = None
        self._buffer = b""
        if process is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        stop_process(process)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class Page:
    """One tab of a :class:`Chromium`, driven through its flattened DevTools session."""

    browser: Chromium
    target_id: str
    session_id: str

    def call(self, method: str, params: Message | None = None, *, timeout: float = CALL_TIMEOUT) -> Message:
        """A DevTools command in this tab's session."""
        return self.browser.call(method, params, session_id=self.session_id, timeout=timeout)

    def navigate(self, url: str, *, timeout: float = CALL_TIMEOUT) -> None:
        """Load ``url`` and wait for its ``load`` event (every image loaded or failed)."""
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session_id]
        result = self.call("Page.navigate", {"url": url}, timeout=timeout)
        if result.get("errorText"):
            raise ChromiumError(f"navigation to {url} failed: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", session_id=self.session_id, timeout=timeout)

    def navigating(self, expression: str, *, timeout: float = CALL_TIMEOUT) -> Any:
        """Evaluate ``expression``, which makes the tab load another page (a form it submits, a link it
        follows), and wait for that page's ``load`` event; return the expression's value."""
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session_id]
        value = self.evaluate(expression, timeout=timeout)
        self.browser.wait_event("Page.loadEventFired", session_id=self.session_id, timeout=timeout)
        return value

    def reload(self, *, ignore_cache: bool = False, timeout: float = CALL_TIMEOUT) -> None:
        """Reload the page (``ignore_cache``: as shift-reload, every resource from the network) and wait for ``load``."""
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session_id]
        self.call("Page.reload", {"ignoreCache": ignore_cache}, timeout=timeout)
        self.browser.wait_event("Page.loadEventFired", session_id=self.session_id, timeout=timeout)

    def choose_files(self, selector: str, paths: list[Path]) -> None:
        """Choose ``paths`` in the file ``<input>`` matching ``selector``, as a person does in the file dialog."""
        root = self.call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = self.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise ChromiumError(f"no element matches {selector}")
        self.call("DOM.setFileInputFiles", {"nodeId": node, "files": [str(path) for path in paths]})

    def evaluate(self, expression: str, *, timeout: float = CALL_TIMEOUT) -> Any:
        """The JSON value of ``expression`` in the page, awaiting it if it is a promise."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise ChromiumError(f"script failed: {details.get('exception', {}).get('description', details)}")
        return result["result"].get("value")

    def responses(self) -> dict[str, int]:
        """HTTP status of every request this tab made since its last navigation, by URL asked for.

        A redirected request is reported under the URL first asked for, with
        the status of the response that ended its redirect chain.
        """
        first_url: dict[str, str] = {}
        statuses: dict[str, int] = {}
        for event in self.browser.events:
            if event.get("sessionId") != self.session_id:
                continue
            params = event.get("params", {})
            if event.get("method") == "Network.requestWillBeSent":
                first_url.setdefault(params["requestId"], params["request"]["url"])
            elif event.get("method") == "Network.responseReceived":
                url = first_url.get(params["requestId"], params["response"]["url"])
                statuses[url] = int(params["response"]["status"])
        return statuses

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page (not only the viewport) to ``path``."""
        metrics = self.call("Page.getLayoutMetrics")
        content = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": content["width"], "height": content["height"], "scale": 1}
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        """Close the tab and drop the events it left unread."""
        self.browser.call("Target.closeTarget", {"targetId": self.target_id})
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session_id]
