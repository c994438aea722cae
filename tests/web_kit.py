"""For web tests: a loopback web site of real documents, a one-route stand-in for a search
service, a listener that counts what reaches it, a scripted DNS, and a tiny real PDF."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from parley.tools.web.netguard import NetPolicy

SITE = Path(__file__).parent / "data" / "site"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}

# web_fetch's policy with loopback opened: the test site runs there.
LOOPBACK = NetPolicy.parse("127.0.0.1")


def make_pdf(lines: list[str], title: str) -> bytes:
    """A small, valid PDF (one page of Helvetica text, an Info title) built by hand."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td", "16 TL"]
    for line in lines:
        ops.append("(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '")
    ops.append("ET")
    stream = zlib.compress("\n".join(ops).encode("latin-1"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title (" + title.encode("latin-1") + b") /Producer (parley tests) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


PDF_LINES = ["Deliberation reports", "Panels of models answer in parallel.", "A judge compares."]
PDF = make_pdf(PDF_LINES, "Parley test report")


@dataclass
class Site:
    """The running site: its base URL and what it was asked."""

    base_url: str
    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path.lstrip('/')}"


def _app(site: Site) -> web.Application:
    async def record(request: web.Request) -> None:
        site.requests.append(
            {"path": request.path, "host": request.host, "headers": dict(request.headers)}
        )

    async def page(request: web.Request) -> web.StreamResponse:
        await record(request)
        name = request.match_info["name"]
        path = SITE / name
        if not path.is_file():
            raise web.HTTPNotFound(text="no such page")
        return web.Response(
            body=path.read_bytes(), headers={"Content-Type": TYPES.get(path.suffix, "text/plain")}
        )

    async def redirect(request: web.Request) -> web.StreamResponse:
        await record(request)
        # Location goes out as given: HTTPFound would normalise it (127。0。0。1 -> 127.0.0.1).
        return web.Response(status=302, headers={"Location": request.query["to"]})

    async def chain(request: web.Request) -> web.StreamResponse:
        await record(request)
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/chain/{n - 1}" if n > 0 else "/site/npm-ping.html")

    async def pdf(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(body=PDF, content_type="application/pdf")

    async def image(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")

    async def big(request: web.Request) -> web.StreamResponse:
        await record(request)
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        for _ in range(64):
            await resp.write(b"0123456789abcdef" * 1024)  # 16 KiB a chunk, 1 MiB in all
        await resp.write_eof()
        return resp

    async def echo(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.json_response(dict(request.headers))

    app = web.Application()
    app.router.add_get("/site/{name}", page)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/report.pdf", pdf)
    app.router.add_get("/image.png", image)
    app.router.add_get("/big.txt", big)
    app.router.add_get("/headers", echo)
    return app


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[int]:
    """An aiohttp app on 127.0.0.1 at a free port; yields the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve_route(method: str, path: str, handler: Handler) -> AsyncIterator[str]:
    """One handler on 127.0.0.1 at a free port (a stand-in for a service); yields the base URL."""
    app = web.Application()
    app.router.add_route(method, path, handler)
    async with serve_app(app) as port:
        yield f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serve_site() -> AsyncIterator[Site]:
    """The site on 127.0.0.1 at a free port."""
    site = Site("", 0)
    async with serve_app(_app(site)) as port:
        site.port, site.base_url = port, f"http://127.0.0.1:{port}"
        yield site


@dataclass
class Counter:
    """What reached a `serve_counter` listener: each connection's client address and bytes."""

    port: int = 0
    seen: dict[tuple[str, int], int] = field(default_factory=dict)

    async def reached(self) -> dict[tuple[str, int], int]:
        """Every connection made so far, seen: a probe connects last and waits for the
        listener to read it, and connections are taken in the order they were made, so none
        can still be queued unseen. The probe itself is left out."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        probe = writer.get_extra_info("sockname")[:2]
        writer.write(b"probe")
        await reader.read()  # EOF: the listener read the probe and closed it
        writer.close()
        await writer.wait_closed()
        return {peer: n for peer, n in self.seen.items() if peer != probe}


class _Counting(asyncio.Protocol):
    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.peer: tuple[str, int] = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")[:2]
        self.counter.seen[self.peer] = 0

    def data_received(self, data: bytes) -> None:
        self.counter.seen[self.peer] += len(data)
        self.transport.close()  # answer nothing: a client that got here fails at once


@asynccontextmanager
async def serve_counter() -> AsyncIterator[Counter]:
    """A plain TCP listener on 127.0.0.1 at a free port that counts what reaches it."""
    counter = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Counting(counter), "127.0.0.1", 0)
    counter.port = server.sockets[0].getsockname()[1]
    try:
        yield counter
    finally:
        server.close()
        await server.wait_closed()


class ScriptedDNS:
    """Answers each lookup of a name from a script; records every lookup."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.lookups: list[str] = []

    async def lookup(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        script = self.answers.get(host)
        if not script:
            raise OSError(f"no such host {host}")
        return script.pop(0) if len(script) > 1 else script[0]


def fetch_json(content: str) -> dict[str, Any]:
    data = json.loads(content)
    assert isinstance(data, dict)
    return data
