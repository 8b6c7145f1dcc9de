"""Shared pieces of the resolver tests: small catalogs, a policy file, a waiter."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

POLICIES = """\
version: 1
policies:
  chat:
    where: supports chat and healthy
    order_by: output_per_mtok
    fallback: backup
  backup:
    where: supports embeddings
    order_by: output_per_mtok
"""


def model(
    name: str,
    price: float,
    *,
    supports: tuple[str, ...] = ("chat",),
    category: str = "text",
    health: str = "healthy",
) -> dict[str, Any]:
    return {
        "model_name": name,
        "category": category,
        "supports": list(supports),
        "health_status": health,
        "output_per_mtok": price,
    }


#: chat: a (1) < b (2) < c (3); backup: e (1)
CATALOG = [
    model("a", 1),
    model("b", 2),
    model("c", 3),
    model("e", 1, supports=("embeddings",), category="embedding"),
]


def body(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(entries).encode()


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll until another thread has done its part (never a wait for time itself)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the resolver thread")
        time.sleep(0.002)
