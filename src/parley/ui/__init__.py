"""The web page: plain files in `static/`, no build step, no CDN.

Each asset is addressed as `/ui/static/<name>?v=<hash of its bytes>`, so a browser may keep
it for a year and still never runs an old script against a new server: the page (never
cached) names the current hash. `index.html` writes `{{asset:app.js}}` where a URL goes.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_PLACEHOLDER = re.compile(r"\{\{asset:([\w.-]+)\}\}")
PREFIX = "/ui/static/"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@dataclass(frozen=True)
class Assets:
    files: dict[str, Asset]
    page: bytes  # index.html with every asset URL versioned


@functools.cache
def assets() -> Assets:
    """The files, read once from the installed package."""
    folder = resources.files(__name__) / "static"
    files: dict[str, Asset] = {}
    for item in folder.iterdir():
        suffix = "." + item.name.rpartition(".")[2]
        if item.is_file() and suffix in _TYPES:
            body = item.read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            files[item.name] = Asset(body, _TYPES[suffix], version)

    def url(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{PREFIX}{name}?v={files[name].version}"

    html = (folder / "index.html").read_text(encoding="utf-8")
    return Assets(files, _PLACEHOLDER.sub(url, html).encode())
