"""web_fetch cost on the test site of real pages (tests/data/site), on loopback.

Prints, per HTML page: extraction time (trafilatura, median of runs), a bare GET (one shared
aiohttp session, body read, nothing else), and the fetch tool's whole call (fresh guarded
session, address check, redirect-aware GET, byte cap, extraction in a worker thread). The
key figure is the fetch tool's added time over the bare GET, median over the site.

    python benchmarks/web_extract.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from parley.tools.web.extract import extract_sync
from parley.tools.web.fetcher import WebFetcher
from parley.tools.web.netguard import NetPolicy

SITE = Path(__file__).resolve().parent.parent / "tests" / "data" / "site"
ROUNDS = 25


def _ms(seconds: float) -> float:
    return seconds * 1000.0


async def main() -> None:
    pages = sorted(p.name for p in SITE.glob("*.html"))
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        body = (SITE / request.match_info["name"]).read_bytes()
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    app.router.add_get("/{name}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]

    fetcher = WebFetcher(policy=NetPolicy.parse("127.0.0.1"))
    rows = []
    async with aiohttp.ClientSession() as bare:

        async def bare_get(url: str) -> bytes:
            async with bare.get(url) as resp:
                return await resp.read()

        for name in pages:
            url = f"http://127.0.0.1:{port}/{name}"
            html = (SITE / name).read_bytes()
            extract_sync(html, "text/html")  # warm the extractor's caches once
            await bare_get(url)
            checked = await fetcher.fetch(url)
            assert checked.error is None, checked.error

            # Interleaved rounds, so the machine's drift hits all three alike.
            ext_t, get_t, tool_t = [], [], []
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                extract_sync(html, "text/html")
                t1 = time.perf_counter()
                await bare_get(url)
                t2 = time.perf_counter()
                await fetcher.fetch(url)
                t3 = time.perf_counter()
                ext_t.append(t1 - t0)
                get_t.append(t2 - t1)
                tool_t.append(t3 - t2)
            ext, get, tool = (statistics.median(x) for x in (ext_t, get_t, tool_t))
            rows.append((name, len(html), ext, get, tool))
    await runner.cleanup()

    print(f"{'page':32} {'bytes':>7} {'extract ms':>11} {'bare GET ms':>12} {'web_fetch ms':>13}")
    for name, size, ext, get, tool in rows:
        print(f"{name:32} {size:7d} {_ms(ext):11.2f} {_ms(get):12.2f} {_ms(tool):13.2f}")
    ext_med = statistics.median(r[2] for r in rows)
    added = statistics.median(r[4] - r[3] for r in rows)
    guard = statistics.median(r[4] - r[3] - r[2] for r in rows)
    print(f"extract_median_ms={_ms(ext_med):.2f}")
    print(f"fetch_added_minus_extract_ms={_ms(guard):.2f}")
    print(f"fetch_added_ms={_ms(added):.2f}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
