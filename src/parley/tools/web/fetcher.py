"""The real `web_fetch` fetcher: SSRF-checked, redirect-checked, byte-capped, extracted.

Each hop's URL is checked first (`NetPolicy.check_url`, on the host aiohttp will connect
to) and requested exactly as checked. Names resolve through `GuardedResolver`, which
checks every answer and hands aiohttp only those, and every socket, IP literals included,
opens only to an address the guard approved; so the connection goes to exactly what was
checked, whatever DNS says a moment later. Redirects are followed by hand, each hop checked
again, at most `max_redirects`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import aiohttp

from parley.config import Settings
from parley.errors import MissingExtraError
from parley.http import new_web_session
from parley.tools.web.connguard import GuardedResolver
from parley.tools.web.extract import ExtractError, extract, kind_of
from parley.tools.web.netguard import DNSSource, NetPolicy, URLRefused
from parley.tools.web.protocols import FetchedPage
from parley.tools.web.search.local import SUFFIXES

MAX_REDIRECTS = 5
MAX_BYTES = 5_000_000
FETCH_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
ACCEPT = (
    "text/markdown, text/html;q=0.9, application/xhtml+xml;q=0.9, text/plain;q=0.8, "
    "application/json;q=0.7, application/pdf;q=0.6, */*;q=0.1"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class WebFetcher:
    """Fetches one URL for `web_fetch`; failures come back as `FetchedPage.error`, not raised.

    `policy` defaults to no private address at all (`default_fetcher` passes the
    `web.allow_private` setting's); `dns` to the
    system resolver. Each fetch uses its own short-lived session, so nothing it connected
    to outlives the checks made for it.
    """

    def __init__(
        self,
        *,
        policy: NetPolicy | None = None,
        dns: DNSSource | None = None,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        timeout_s: float = FETCH_TIMEOUT_S,
        local_root: str | Path | None = None,
    ) -> None:
        self.policy = policy or NetPolicy()
        # `file://` URLs under this folder are read (the local search backend's hits).
        self.local_root = Path(local_root).expanduser().resolve() if local_root else None
        self.dns = dns
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.timeout = aiohttp.ClientTimeout(
            total=timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)
        )

    async def fetch(self, url: str) -> FetchedPage:
        try:
            if url[:5].lower() == "file:" and self.local_root is not None:
                return await self._local(url)
            resolver = GuardedResolver(self.policy, self.dns)
            async with new_web_session(resolver, timeout=self.timeout) as session:
                return await self._follow(session, url)
        except URLRefused as exc:
            return FetchedPage(url=url, error=f"refused: {exc}")
        except (ExtractError, MissingExtraError) as exc:
            return FetchedPage(url=url, error=str(exc))
        except TimeoutError:
            return FetchedPage(url=url, error=f"timed out after {self.timeout.total:g}s")
        except aiohttp.ClientError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, URLRefused):
                return FetchedPage(url=url, error=f"refused: {cause}")
            return FetchedPage(url=url, error=f"{type(exc).__name__}: {exc}")

    async def _local(self, url: str) -> FetchedPage:
        assert self.local_root is not None
        ctype, raw = await asyncio.to_thread(_read_local, self.local_root, url, self.max_bytes + 1)
        return await self._page(url, raw[: self.max_bytes], ctype, len(raw) > self.max_bytes)

    async def _follow(self, session: aiohttp.ClientSession, url: str) -> FetchedPage:
        current = url
        for hop in range(self.max_redirects + 1):
            try:
                target = self.policy.check_url(current)
            except URLRefused as exc:
                if hop:
                    raise URLRefused(f"redirect to {current} refused: {exc}") from None
                raise
            async with session.get(
                target, allow_redirects=False, headers={"Accept": ACCEPT}
            ) as resp:
                if resp.status in _REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        return FetchedPage(url=url, error=f"HTTP {resp.status} with no Location")
                    current = urljoin(current, location)
                    continue
                if resp.status >= 400:
                    return FetchedPage(url=url, error=f"HTTP {resp.status} {resp.reason or ''}")
                content_type = resp.headers.get("Content-Type", "")
                body, truncated = await self._read(resp, content_type)
            return await self._page(current, body, content_type, truncated)
        return FetchedPage(url=url, error=f"more than {self.max_redirects} redirects")

    async def _read(self, resp: aiohttp.ClientResponse, content_type: str) -> tuple[bytes, bool]:
        """The body up to `max_bytes` (decompressed bytes count); True when cut short."""
        too_big = bool(resp.content_length and resp.content_length > self.max_bytes)
        if too_big and kind_of(content_type, b"") == "pdf":
            raise ExtractError(f"the PDF is larger than the {self.max_bytes}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            room = self.max_bytes - size
            if len(chunk) > room:
                chunks.append(chunk[:room])
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False

    async def _page(self, url: str, body: bytes, content_type: str, truncated: bool) -> FetchedPage:
        if truncated and kind_of(content_type, body) == "pdf":
            raise ExtractError(f"the PDF is larger than the {self.max_bytes}-byte cap")
        got = await extract(body, content_type, url)
        content = got.content
        if truncated:
            content += f"\n\n[truncated: the page is larger than {self.max_bytes} bytes]"
        return FetchedPage(url=url, title=got.title, content=content)


def _read_local(root: Path, url: str, n: int) -> tuple[str, bytes]:
    """(content type, first `n` bytes) of a document under `root`; nothing outside it."""
    path = Path(url2pathname(urlsplit(url).path)).resolve()
    if not path.is_relative_to(root):
        raise URLRefused(f"{url} is outside the local search folder ({root})")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None or not path.is_file():
        raise ExtractError(f"{url}: no such document in the local search folder")
    with path.open("rb") as fh:
        body = fh.read(n)
    return {"html": "text/html", "markdown": "text/markdown"}.get(kind, "text/plain"), body


def default_fetcher(settings: Settings) -> WebFetcher | None:
    """The real fetcher, unless `web.fetch` is off (it reads HTML without the `web` extra
    too, less well)."""
    web = settings.web
    if not web.fetch:
        return None
    folder = web.search_dir
    return WebFetcher(
        policy=NetPolicy.parse(web.allow_private),
        local_root=folder if folder and Path(folder).expanduser().is_dir() else None,
    )
