"""Headless Chromium for the HTML reports' tests, driven over the DevTools protocol: a page is
loaded as a file, measured from outside (the pages carry no script) and screenshotted."""

import base64
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


class Chromium:
    """Headless Chromium driven with the DevTools protocol over --remote-debugging-pipe
    (NUL-separated JSON on fds 3 and 4), so no websocket client is needed."""

    def __init__(self, profile: Path, log: Path):
        to_child, self._send_fd = os.pipe()
        self._recv_fd, from_child = os.pipe()

        def wire():  # through fds above 10 first, so that neither dup2 overwrites the other's source
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1200,900"]
        with open(log, "w") as stderr:
            self.process = subprocess.Popen([str(CHROMIUM), *flags, "about:blank"], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(3, 4), preexec_fn=wire)
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self._events = b"", 0, []

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._recv_fd, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 20
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._id:
                assert "error" not in answer, answer["error"]
                return answer["result"]
            self._events.append(answer)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + 20
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
            self._events.append(self._receive(deadline))

    def open(self, path: Path, measure: str, width: int | None = None,
             whole_page: bool = False) -> tuple[list[str], object, bytes]:
        """Load a page in a fresh tab, `width` CSS pixels wide when given: (console problems, the value
        of `measure`, evaluated by DevTools and not by the page, and a PNG screenshot)."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session)
        if width:
            self.call("Emulation.setDeviceMetricsOverride", session, width=width, height=900, deviceScaleFactor=1,
                      mobile=False)
        self._events.clear()
        self.call("Page.navigate", session, url=path.resolve().as_uri())
        self._wait_for("Page.loadEventFired", session)
        value = self.call("Runtime.evaluate", session, expression=measure, returnByValue=True)["result"].get("value")
        png = base64.b64decode(self.call("Page.captureScreenshot", session, captureBeyondViewport=whole_page)["data"])
        problems = [problem for e in self._events if e.get("sessionId") == session for problem in console_problems(e)]
        self.call("Target.closeTarget", targetId=target)
        return problems, value, png

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self._send_fd)
            os.close(self._recv_fd)


def console_problems(event: dict) -> list[str]:
    """What DevTools would show in red or yellow: uncaught exceptions, console.error/warn, failed loads."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return [f"uncaught: {details.get('exception', {}).get('description', details['text'])}"]
    if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
        return [f"console.{params['type']}: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])]
    if method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
        return [f"{params['entry']['source']}: {params['entry']['text']}"]
    if method == "Page.javascriptDialogOpening":
        return [f"dialog: {params['message']}"]
    return []


CHART_BOXES = """({
  charts: [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll('rect.bar')].filter(r => r.getBoundingClientRect().height > 0 && r.getBoundingClientRect().width > 0);
    return {kind: svg.getAttribute('class'), width: box.width, height: box.height, drawn: drawn.length};
  }),
  text: document.body.innerText,
})"""


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium): the pages are not rendered")
    folder = tmp_path_factory.mktemp("chromium")
    browser = Chromium(folder / "profile", folder / "stderr.log")
    yield browser
    browser.close()


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
