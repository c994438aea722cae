"""Canned data the tests share: one judge analysis, with every key the contract requires."""

from __future__ import annotations

import json
from typing import Any

ANALYSIS: dict[str, Any] = {
    "consensus": ["Rayleigh scattering makes the sky blue."],
    "contradictions": [
        {
            "topic": "sunsets",
            "stances": [
                {"model": "vendor/a", "stance": "dust"},
                {"model": "vendor/b", "stance": "path length"},
            ],
        }
    ],
    "partial_coverage": [{"models": ["vendor/a"], "point": "ozone"}],
    "unique_insights": [{"model": "vendor/b", "insight": "Mars has blue sunsets."}],
    "blind_spots": ["human colour perception"],
}
ANALYSIS_JSON = json.dumps(ANALYSIS)
