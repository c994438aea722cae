"""The README's table of environment variables, generated from `parley.config.ENV_VARS`.

    python -m parley._dev.env_table        # prints the markdown table

The test suite checks that the README holds exactly this table.
"""

from __future__ import annotations

from parley.config import ENV_VARS


def markdown() -> str:
    """One row per variable: its name, the config-file key it sets, its default, its use."""
    rows = ["| variable | config file key | default | what it sets |", "|---|---|---|---|"]
    for v in ENV_VARS:
        key = f"`{v.key}`" if v.key else "—"
        doc = f"{v.doc} (a secret: never shown)" if v.secret else v.doc
        rows.append(f"| `{v.name}` | {key} | {v.default} | {doc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())
