"""The deliberation log: every exchange, its panel's answers, the analysis and the usage.

store = LogStore()                       # logs.db in the user data directory
store.save(entry_from_outcome(...))      # the CLI and the gateway both log this way
for e in store.recent(10, query="kubernetes"): ...
"""

from parley.store.db import LOG_ENV, LogStore, log_path, new_id
from parley.store.records import (
    DeliberationRecord,
    Entry,
    EventRecorder,
    PanelAnswer,
    answer_of,
    entry_from_outcome,
    from_deliberation,
    from_result,
)

__all__ = [
    "LOG_ENV",
    "DeliberationRecord",
    "Entry",
    "EventRecorder",
    "LogStore",
    "PanelAnswer",
    "answer_of",
    "entry_from_outcome",
    "from_deliberation",
    "from_result",
    "log_path",
    "new_id",
]
