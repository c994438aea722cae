"""Every default Parley uses, in one place, so that behaviour is easy to audit and change."""

from __future__ import annotations

# Fusion parameter bounds (contract section 2).
PANEL_MIN = 1
PANEL_MAX = 8
INNER_MAX_TOOL_CALLS_DEFAULT = 8
INNER_MAX_TOOL_CALLS_MIN = 1
INNER_MAX_TOOL_CALLS_MAX = 16
TEMPERATURE_MIN = 0.0
TEMPERATURE_MAX = 2.0
INNER_TOOLS_MAX = 8
DEADLINE_MAX_S = 3600.0
MCP_DEADLINE_S = 50.0  # a 60 s host tool limit, less time for the judge and the answer
JUDGE_TEMPERATURE = 0.0

# Top-level server-tool loop (contract section 5).
OUTER_MAX_TOOL_CALLS_DEFAULT = 30
OUTER_MAX_TOOL_CALLS_MAX = 100
FUSION_CALLS_PER_TURN = 1

# Headers.
DEPTH_HEADER = "x-openrouter-fusion-depth"

# Tool names as the models see them, and the type prefixes clients may use.
TOOL_PREFIXES = ("openrouter:", "parley:")
FUSION_TOOL = "fusion"
WEB_SEARCH_TOOL = "web_search"
WEB_FETCH_TOOL = "web_fetch"
DATETIME_TOOL = "datetime"
INNER_DEFAULT_TOOLS = (WEB_SEARCH_TOOL, WEB_FETCH_TOOL)

# Model aliases.
FUSION_ALIAS = "openrouter/fusion"
FUSION_FLASH_ALIAS = "openrouter/fusion-flash"
PARLEY_FUSION_ALIAS = "parley/fusion"
PARLEY_FUSION_FLASH_ALIAS = "parley/fusion-flash"
# Without a slash, for agent frameworks that read a slash as a provider prefix.
SLASHLESS_FUSION_ALIAS = "parley-fusion"
SLASHLESS_FUSION_FLASH_ALIAS = "parley-fusion-flash"
FLASH_PRESET = "general-fast"
DEFAULT_PRESET = "general-high"

# Upstreams.
OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
OPENAI_BASE_URL = "https://api.openai.com/v1"
UPSTREAM_CONNECT_TIMEOUT_S = 10.0
# A hung upstream (no headers, or nothing more of a stream) fails in tens of seconds.
UPSTREAM_FIRST_BYTE_TIMEOUT_S = 30.0
UPSTREAM_IDLE_TIMEOUT_S = 30.0
UPSTREAM_TOTAL_TIMEOUT_S = 600.0
# Seconds a call may wait for a free connection of Parley's own pool before it fails as
# Parley's overload (503), not the provider's.
UPSTREAM_POOL_TIMEOUT_S = 30.0
UPSTREAM_RETRIES = 2
# An upstream timeout while this process's event loop ran late by more than
# LOOP_LAG_EXCUSE_S (in the last LOOP_LAG_WINDOW_S) is our overload, not the provider's:
# its circuit breaker does not count it (parley.models.loop_lag).
LOOP_LAG_TICK_S = 0.1
LOOP_LAG_WINDOW_S = 10.0
LOOP_LAG_EXCUSE_S = 0.5
# A runaway guard, far above a real request's calls (8 members of 17 turns, a judge, an
# outer model of 101 turns).
MAX_UPSTREAM_CALLS = 400
# Labelled metric children the gateway remembers (model ids come from clients: bounded).
METRIC_CHILDREN_MAX = 4096
# Model ids whose route and remote model a Router remembers (they come from clients:
# bounded).
ROUTE_MEMO_MAX = 4096
# Distinct model ids the metrics label; calls for any later id count under `other`, so a
# client cycling through made-up ids cannot grow the registry (and each scrape) forever.
METRIC_MODELS_MAX = 256
# aiohttp's default pool (100) would queue a wide fan-out; the limit exists to bound sockets.
HTTP_POOL_LIMIT = 512
HTTP_POOL_LIMIT_PER_HOST = 256
# Upstream connections the gateway keeps per deliberation it admits (a panel of ~4).
POOL_PER_DELIBERATION = 4
USER_AGENT = "parley/0.1 (+https://github.com/parley-llm/parley)"

# Gateway (`parley serve`).
GATEWAY_HOST = "127.0.0.1"
GATEWAY_PORT = 8000
# Large enough for a few base64 images in `messages`; `parley serve --max-body` changes it.
GATEWAY_MAX_BODY_BYTES = 20 * 1024 * 1024
# A stream with server tools running sends a comment at least this often.
GATEWAY_HEARTBEAT_S = 2.0
# Deliberations (requests with server tools) running at once; past it a 429 at once, not
# a silent queue behind the upstream connection pool.
GATEWAY_MAX_IN_FLIGHT = 256
# The largest request body that may go to a panel: every panelist receives it, so it is
# multiplied by the panel size upstream.
GATEWAY_MAX_QUESTION_BYTES = 1024 * 1024
# Seconds a client may take to send its whole request body.
GATEWAY_READ_TIMEOUT_S = 30.0
# Seconds running requests may take to finish once the server is told to stop.
GATEWAY_SHUTDOWN_GRACE_S = 30.0
# The probe port (`gateway.health_port`): the event loop sends its process a snapshot this
# often, and /health there is a 503 once the loop has missed it by more than the stall bound.
GATEWAY_LOOP_TICK_S = 0.25
GATEWAY_LOOP_STALL_S = 10.0
# The collector's generation thresholds in `parley serve` (Python's default: 700, 10, 10);
# why so high: `parley.gateway.state._settle_heap`.
GATEWAY_GC_THRESHOLDS = (50_000, 20, 100)
# What a refused client is told to wait (429 when full, 503 while draining).
GATEWAY_RETRY_AFTER_S = 1
# Arrays and objects nested deeper than this in a request body are a 400: no wire shape
# needs more than a dozen levels, and Python's parser and encoder recurse per level.
JSON_MAX_DEPTH = 100
# The fusion depth header's longest accepted value; any depth >= 1 means the same.
DEPTH_HEADER_MAX_DIGITS = 9

# Web tools: a hard cap on calls per request, across its outer loop, panel and judge, so a
# wide panel cannot multiply the per-loop caps into hundreds of fetches.
WEB_FETCHES_PER_REQUEST = 60
WEB_SEARCHES_PER_REQUEST = 120
# A search service's whole call; a hung one must not hold a panelist for the model timeout.
SEARCH_TIMEOUT_S = 20.0

# Judge.
JUDGE_REASK_ATTEMPTS = 1

# Config.
CONFIG_ENV = "PARLEY_CONFIG"
APP_NAME = "parley"
