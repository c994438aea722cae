"""The deliberation log: every exchange, its panel's answers, the analysis and the usage.

store = LogStore(settings.log_path())    # logs.db in the user data directory
store.save(entry_from_outcome(...))      # the CLI and the gateway both log this way
for e in store.recent(10, query="kubernetes"): ...
"""

from parley.store.db import LogStore, new_id
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
    "DeliberationRecord",
    "Entry",
    "EventRecorder",
    "LogStore",
    "PanelAnswer",
    "answer_of",
    "entry_from_outcome",
    "from_deliberation",
    "from_result",
    "new_id",
]
