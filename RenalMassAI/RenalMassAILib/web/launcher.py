"""`renalmassai serve`: one port for every reader, one process per browser session behind it.

A trame server shares its state with every page connected to it, so two readers on one server would
see each other's case. The launcher therefore gives each page load of `/` its own session server
(web.session_server: own process, scene, analysis worker, temporary folder) on a free local port, and
forwards `/session/<id>/...` (the page, its files and its websocket) to it. The id is a random token:
a session is reachable only by the page that made it. One spare session server is kept started, so a
new page gets one at once (its imports take seconds) and the next spare starts behind it. A session
ends when its page has been closed for `SESSION_TIMEOUT` seconds or when the launcher stops (the
launcher ends its process tree; a session server whose launcher has gone stops by itself). The
launcher binds to 127.0.0.1 unless told otherwise; put an authenticating reverse proxy (TLS) in front
before opening it to a network (README).
"""

import asyncio
import contextlib
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from RenalMassAILib.workers import process_tree

SESSION_MODULE = "RenalMassAILib.web.session_server"
SESSION_TIMEOUT = 60  # seconds a session lives on after its page closed (a reload reconnects within it)
START_TIMEOUT = 180.0  # seconds a session server may take to answer (imports, slicer, a busy machine)
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class SessionProcess:
    def __init__(self, cases: Path, options: list[str], python: str | None = None):
        self.port = free_port()
        self.log_path = process_tree.new_log_path("web-session")
        command = [
            *[process_tree.worker_python(python), "-m", SESSION_MODULE],
            # --timeout 0: the launcher, which sees the page's connection, decides when the session ends
            *["--cases", str(cases), "--port", str(self.port), "--timeout", "0", *options],
        ]
        with open(self.log_path, "ab") as log:  # stdout too: a full pipe would stall the session server
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=process_tree.worker_environment(),
                start_new_session=True,
            )
        self.started = time.monotonic()
        self.connections = 0  # the page's open websockets through the launcher
        self.idle_since: float | None = None  # since when no page is connected (None: connected, or the spare)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def answers(self, client: aiohttp.ClientSession) -> bool:
        """Whether the session server serves its page now (one request)."""
        with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
            async with client.get(f"{self.url}/index.html", timeout=aiohttp.ClientTimeout(total=2)) as answer:
                return answer.status == 200
        return False

    async def wait_ready(self, client: aiohttp.ClientSession) -> None:
        """Returns once the session server answers; RuntimeError when it ended or took too long."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the session server ended: {process_tree.last_error_line(self.log_path)}")
            if await self.answers(client):
                return
            await asyncio.sleep(0.25)
        raise RuntimeError(f"the session server did not answer within {START_TIMEOUT:.0f} s (log: {self.log_path})")

    def end(self) -> None:
        process_tree.end_process_tree(self.process)

    def abandoned(self, now: float) -> bool:
        """Its page has been gone for SESSION_TIMEOUT seconds."""
        return self.connections == 0 and self.idle_since is not None and now - self.idle_since > SESSION_TIMEOUT


class Launcher:
    def __init__(self, cases: Path, session_options: list[str], python: str | None = None):
        self.cases = Path(cases)
        self.session_options = session_options
        self.python = python
        self.sessions: dict[str, SessionProcess] = {}
        self.spare: SessionProcess | None = None  # started ahead, for the next page
        self.client: aiohttp.ClientSession | None = None
        self.pages: set[web.WebSocketResponse] = set()  # open page connections, closed at shutdown

    def application(self) -> web.Application:
        application = web.Application()
        application.router.add_get("/", self.new_session)
        application.router.add_get("/health", self.health)
        application.router.add_route("*", "/session/{id}/ws", self.forward_websocket)
        application.router.add_route("*", "/session/{id}/{path:.*}", self.forward_http)
        application.on_startup.append(self._startup)
        application.on_shutdown.append(self._shutdown)
        application.on_cleanup.append(self._cleanup)
        return application

    async def _startup(self, _application) -> None:
        self.client = aiohttp.ClientSession(auto_decompress=False)
        self.spare = self._start_session()
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def _shutdown(self, _application) -> None:
        """Closes the pages' connections first: the server would otherwise wait for them to end."""
        for page in list(self.pages):
            await page.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"the server is stopping")

    async def _cleanup(self, _application) -> None:
        self._reaper.cancel()
        for session in [*self.sessions.values(), *([self.spare] if self.spare else [])]:
            session.end()
        self.sessions.clear()
        self.spare = None
        await self.client.close()

    async def _reap_forever(self) -> None:
        """Ends sessions whose page has gone for SESSION_TIMEOUT seconds, forgets those that ended."""
        while True:
            await asyncio.sleep(2.0)
            now = time.monotonic()
            for key, session in list(self.sessions.items()):
                if session.abandoned(now):
                    session.end()
                if session.process.poll() is not None:
                    del self.sessions[key]

    def _start_session(self) -> SessionProcess:
        return SessionProcess(self.cases, self.session_options, self.python)

    async def new_session(self, request: web.Request) -> web.StreamResponse:
        """The spare session (or a new one when there is none) for this page; the next spare starts."""
        session = self.spare if self.spare is not None and self.spare.process.poll() is None else None
        self.spare = self._start_session()
        session = session or self._start_session()
        key = secrets.token_urlsafe(18)
        self.sessions[key] = session
        try:
            await session.wait_ready(self.client)
        except RuntimeError as error:
            self.sessions.pop(key, None)
            session.end()
            return web.Response(status=503, text=f"renalmassai serve: could not start a session: {error}\n")
        session.idle_since = time.monotonic()  # reaped like a closed page if its page never connects
        raise web.HTTPFound(f"/session/{key}/")

    async def health(self, _request: web.Request) -> web.Response:
        spare_ready = self.spare is not None and await self.spare.answers(self.client)
        return web.json_response({"sessions": len(self.sessions), "spare_ready": spare_ready})

    def _session(self, request: web.Request) -> SessionProcess:
        session = self.sessions.get(request.match_info["id"])
        if session is None or session.process.poll() is not None:
            raise web.HTTPNotFound(text="this session has ended: open the viewer's address again for a new one\n")
        return session

    async def forward_http(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        path = request.match_info["path"] or "index.html"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self.client.request(
            request.method,
            f"{session.url}/{path}",
            params=request.query,
            headers=headers,
            data=await request.read() if request.can_read_body else None,
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            if "Location" in kept and kept["Location"].startswith("/"):
                kept["Location"] = f"/session/{request.match_info['id']}{kept['Location']}"
            return web.Response(status=answer.status, body=body, headers=kept)

    async def forward_websocket(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        page = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await page.prepare(request)
        self.pages.add(page)
        session.connections += 1
        session.idle_since = None
        try:
            async with self.client.ws_connect(f"{session.url}/ws", max_msg_size=0) as server:
                await asyncio.gather(_pump(page, server), _pump(server, page), return_exceptions=True)
        finally:
            self.pages.discard(page)
            session.connections -= 1
            if session.connections == 0:
                session.idle_since = time.monotonic()
            await page.close()
        return page


async def _pump(source, target) -> None:
    """Copies messages from one websocket to the other until either closes."""
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await target.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await target.send_bytes(message.data)
        else:
            break
    await target.close()


def serve(cases: Path, host: str, port: int, session_options: list[str], python: str | None = None) -> None:
    """Runs the launcher until interrupted; every session's process tree ends with it."""
    launcher = Launcher(cases, session_options, python)
    print(f"RenalMassAI review: http://{host}:{port}/ (cases: {cases})", file=sys.stderr, flush=True)
    web.run_app(launcher.application(), host=host, port=port, print=None, handle_signals=True)
