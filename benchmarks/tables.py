"""How the benchmark prints: times, ratios, one table per section, progress on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    us = s * 1e6
    if us < 1000:
        return f"{us:.3g} µs" if us >= 1 else f"{us:.2f} µs"
    if us < 1e6:
        return f"{us / 1000:.3g} ms"
    return f"{us / 1e6:.3g} s"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.3g}x" if r < 100 else f"{r:.0f}x"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def print_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> None:
    print()
    print(title)
    print("=" * len(title))
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    for n in notes:
        print(f"  note: {n}")
    sys.stdout.flush()


def progress(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def short(name: str | None, width: int = 44) -> str:
    if name is None:
        return "(none)"
    return name if len(name) <= width else name[: width - 1] + "…"
