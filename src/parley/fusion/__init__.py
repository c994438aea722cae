"""Fusion: a panel answers in parallel (`panel`), a judge maps the answers (`judge`), the
result goes back to the asking model (`tool`); `run` holds the Deliberation."""
