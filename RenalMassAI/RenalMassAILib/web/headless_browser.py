"""Headless Chromium driven over the DevTools protocol: for the web viewer's browser test and bench.

A plain `chromium --screenshot` captures the page before trame has connected (a spinner), so pages
are opened, read (`evaluate`), clicked and dragged (`Input.dispatchMouseEvent`, the events a real
mouse makes) and captured over DevTools. Each `Page` is a tab with its own connection; the browser
runs with a fresh profile in a temporary folder, removed by `close()`.
"""

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import aiohttp

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Every tab renders and runs its timers as if it were in front: a test drives several tabs, and
    # Chromium otherwise throttles a background tab's timers (to once a minute after five minutes).
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class Browser:
    def __init__(self, executable: str | None = None, width: int = 1400, height: int = 900):
        executable = executable or find_browser()
        if executable is None:
            raise RuntimeError("no Chromium found: install the Debian package 'chromium'")
        self.profile = tempfile.mkdtemp(prefix="renalmassai-chromium-")
        self.size = (width, height)
        self.loop = asyncio.new_event_loop()
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.http = self._devtools_address()
        self.pages: list[Page] = []

    def _devtools_address(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            found = re.search(r"DevTools listening on ws://([^/]+)/", line)
            if found:
                return f"http://{found.group(1)}"
            if not line and self.process.poll() is not None:
                break
        self.close()
        raise RuntimeError("Chromium did not start its DevTools server")

    def open(self, url: str) -> "Page":
        """A new tab at `url`."""
        request = urllib.request.Request(f"{self.http}/json/new?{url}", method="PUT")
        with urllib.request.urlopen(request, timeout=30) as answer:
            target = json.loads(answer.read())
        page = Page(self, target["webSocketDebuggerUrl"])
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in self.pages:
            page.close()
        self.pages = []
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
        if not self.loop.is_closed():
            self.loop.close()


class Page:
    def __init__(self, browser: Browser, websocket_url: str):
        self.browser = browser
        self._ids = itertools.count(1)
        self._session = None
        self._socket = browser.loop.run_until_complete(self._connect(websocket_url))
        width, height = browser.size
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    async def _connect(self, url: str):
        self._session = aiohttp.ClientSession()
        return await self._session.ws_connect(url, max_msg_size=0)

    def send(self, method: str, timeout: float = 60.0, **params) -> dict:
        """One DevTools command; its result (events that arrive meanwhile are dropped)."""
        return self.browser.loop.run_until_complete(self._send(method, params, timeout))

    async def _send(self, method: str, params: dict, timeout: float) -> dict:
        number = next(self._ids)
        await self._socket.send_str(json.dumps({"id": number, "method": method, "params": params}))
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads((await self._socket.receive()).data)
                if message.get("id") == number:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message.get("result", {})

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 120.0, interval: float = 0.1):
        """Polls a JavaScript expression until it is truthy; returns its value. TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"page: {expression!r} still false after {timeout:.0f} s")
            time.sleep(interval)

    def text(self, element_id: str) -> str | None:
        return self.evaluate(f"(document.getElementById({element_id!r}) || {{}}).innerText")

    def click(self, element_id: str) -> None:
        self.evaluate(f"document.getElementById({element_id!r}).click()")

    def mouse(self, kind: str, x: float, y: float, pressed: bool = False) -> None:
        self.send(
            "Input.dispatchMouseEvent",
            type=kind,
            x=x,
            y=y,
            button="left" if kind != "mouseMoved" or pressed else "none",
            buttons=1 if pressed else 0,
            clickCount=1 if kind != "mouseMoved" else 0,
        )

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 8, pause: float = 0.05) -> None:
        """Hover, press, move in steps, release: the events of a real drag."""
        self.mouse("mouseMoved", *start)
        time.sleep(0.3)  # the view's widget picks the point under the hovering mouse first
        self.mouse("mousePressed", *start, pressed=True)
        for i in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * i / steps
            y = start[1] + (end[1] - start[1]) * i / steps
            self.mouse("mouseMoved", x, y, pressed=True)
            time.sleep(pause)
        self.mouse("mouseReleased", *end)

    def screenshot(self) -> bytes:
        """PNG of the page as shown."""
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])

    def close_tab(self) -> None:
        """Closes this tab in the browser (its page's connection to the server ends)."""
        self.send("Page.close")
        self.close()

    def close(self) -> None:
        async def _close():
            if self._socket is not None:
                await self._socket.close()
            if self._session is not None:
                await self._session.close()

        if not self.browser.loop.is_closed():
            self.browser.loop.run_until_complete(_close())
        self._socket = self._session = None
