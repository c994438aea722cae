"""The built-in server tools: importing this registers them (each module registers its
own kind in `parley.tools.registry.REGISTRY`). Fusion registers itself in
`parley.fusion.tool`, above the tools package, which knows nothing of it."""

from parley.tools import clock
from parley.tools.web import fetch_tool, search_tool

BUILTIN = (search_tool.KIND, fetch_tool.KIND, clock.KIND)
