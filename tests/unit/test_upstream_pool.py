"""The gateway's upstream pool grows with the deliberations it admits, so admitted work
does not queue behind a fixed pool, and never past what the process's file limit allows."""

from __future__ import annotations

import resource

from parley import _constants as C
from parley.http import pool_for


def test_the_pool_follows_the_admission_bound() -> None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert pool_for(1) == min(C.HTTP_POOL_LIMIT_PER_HOST, max(64, soft // 2))
    if soft == resource.RLIM_INFINITY or soft >= 2 * 4 * 1000:
        assert pool_for(1000) == 1000 * C.POOL_PER_DELIBERATION


def test_the_pool_leaves_file_descriptors_for_clients() -> None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY:
        assert pool_for(10**6) <= max(64, soft // 2)
