"""Terminal output for people: aligned tables that fit the width, colour only on a terminal.

Imported only by commands that print a table (``select --top``, ``catalog``,
``explain``), so a plain ``select`` pays nothing for it. No third-party
library: the tables are simple, and owning the code keeps the output the same
on every machine (which the tests and the README's examples rely on).

Rules, in one place:

* colour only when the stream is a terminal and ``NO_COLOR`` is unset or
  empty (https://no-color.org); piped output is plain text, never an escape code;
* width: the terminal's when the stream is a terminal, else ``COLUMNS`` when
  set, else unlimited, so ``policyeng catalog | grep`` sees whole names;
* a cell too long for its column ends in an ellipsis.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from typing import IO, Any

from ..explain import _show as show_value
from ..explain import no_pick_reason
from ..fields import price_per_unit
from ..text import is_terminal, plural, text_width, visible, visible_values
from .common import use_colour

#: ANSI SGR codes of the few styles used.
_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

Cell = str | tuple[str, str | None]  # plain text, or (text, style name or None)


class Style:
    """Paints text for one stream: ANSI styles on a colour terminal, nothing elsewhere."""

    def __init__(
        self, stream: IO[str], *, colour: bool | None = None, width: int | None = -1
    ) -> None:
        self.colour = use_colour(stream) if colour is None else colour
        self.width = output_width(stream) if width == -1 else width
        self.unicode = _can_encode(stream, "…├└─")
        self.ellipsis = "…" if self.unicode else "..."

    def __call__(self, text: str, style: str | None) -> str:
        text = visible(text)
        if not self.colour or not style or not text:
            return text
        codes = ";".join(_CODES[name] for name in style.split())
        return f"\x1b[{codes}m{text}\x1b[0m"


def output_width(stream: IO[str]) -> int | None:
    """The width tables must fit: the terminal's, else ``COLUMNS``, else None (no limit)."""
    if is_terminal(stream):
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    if not (columns.isascii() and columns.isdigit() and len(columns) <= 6):
        return None
    return int(columns) or None


def _can_encode(stream: IO[str], text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def truncate(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` cut to ``width`` columns, ending in ``ellipsis`` when something was cut."""
    if text_width(text) <= width:
        return text
    room = max(0, width - text_width(ellipsis))
    kept, used = [], 0
    for char in text:
        size = text_width(char)
        if used + size > room:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ellipsis[: max(0, width - used)]


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    style: Style,
    *,
    right: Sequence[int] = (),
    shrink: Sequence[Sequence[int]] = (),
    indent: int = 0,
) -> list[str]:
    """Aligned lines: ``right`` columns right-aligned, ``shrink`` columns cut to fit the width.

    When the table is wider than ``style.width``, the groups of columns in
    ``shrink`` give up room in the order listed (the least useful first);
    within a group the widest column shrinks first; no column goes below its
    header's width or 8. Numbers are never in ``shrink``: they are never cut.
    """
    headers = [visible(h) for h in headers]
    cells = [[_split(c) for c in row] for row in rows]
    widths = [text_width(h) for h in headers]
    for row in cells:
        for i, (text, _) in enumerate(row):
            widths[i] = max(widths[i], text_width(text))
    if style.width is not None:
        excess = indent + sum(widths) + 2 * (len(widths) - 1) - style.width
        for group in shrink:
            floors = {i: max(8, text_width(headers[i])) for i in group}
            while excess > 0:
                roomy = [i for i in group if widths[i] > floors[i]]
                if not roomy:
                    break
                widest = max(roomy, key=lambda i: widths[i])
                widths[widest] -= 1
                excess -= 1
    lines = [_line([(h, "bold") for h in headers], widths, right, style, indent)]
    lines += [_line(row, widths, right, style, indent) for row in cells]
    return lines


def _split(cell: Cell) -> tuple[str, str | None]:
    """A cell's text, escaped (``text.visible``) before it is measured, and its style."""
    return (visible(cell), None) if isinstance(cell, str) else (visible(cell[0]), cell[1])


def _line(row, widths, right, style: Style, indent: int) -> str:
    parts = []
    last = len(row) - 1
    for i, (text, paint) in enumerate(row):
        text = truncate(text, widths[i], style.ellipsis)
        pad = " " * (widths[i] - text_width(text))
        if i in right:
            parts.append(pad + style(text, paint))
        elif i == last:
            parts.append(style(text, paint))
        else:
            parts.append(style(text, paint) + pad)
    return (" " * indent + "  ".join(parts)).rstrip()


def wrap(text: str, width: int | None) -> list[str]:
    """Prose lines wrapped to the output width (not at all when there is no limit)."""
    if width is None:
        return [text]
    import textwrap

    return textwrap.wrap(text, max(20, width)) or [""]


def value_cell(value: Any) -> Cell:
    """A catalog or key value for a table: numbers short, missing shown as ``(missing)``."""
    if value is None:
        return ("(missing)", "dim")
    if isinstance(value, str):
        return value
    return show_value(value)


def price_cell(price: float | None, unit: str | None) -> Cell:
    """A ``unit_price`` with what it is per: ``$0.003/image``."""
    return value_cell(price) if price is None else price_per_unit(price, unit)


# --- explain ----------------------------------------------------------------------------------


def explain_lines(data: dict[str, Any], style: Style, *, top: int = 10) -> list[str]:
    """The ``explain`` report: policy, funnel, ranked candidates, pick, and the why-not."""
    data = visible_values(data)  # model names and values come from the catalog: no escapes
    catalog = data["catalog"]
    dated = f", {catalog['fetched_at']}" if catalog.get("fetched_at") else ""
    stale = ", stale" if catalog.get("stale") else ""
    lines = chain_lines(data, style) if "chain" in data else []
    shown = data.get("via") or data.get("name")
    lines += [
        f"{style('policy', 'bold')}   {f'{shown}: ' if shown else ''}{data['policy']}",
        f"{style('catalog', 'bold')}  {catalog['source']} "
        f"({plural(catalog['models'], 'model')}{dated}{stale})",
        "",
    ]
    lines += funnel_lines(data["funnel"], style, title="funnel")
    lines.append("")
    lines += candidate_lines(data, style, top=top)
    lines.append("")
    pick = data["pick"]
    if pick is None:
        lines.append(style("no model is picked", "red bold") + ": " + str(no_pick_reason(data)))
    else:
        chosen = next(c for c in data["candidates"] if c["model_name"] == pick)
        lines.append(
            f"{style('picked', 'bold')}  {style(pick, 'green bold')}  {chosen['endpoint']}"
        )
    if data.get("model") is not None:
        lines.append("")
        lines += why_not_lines(data["model"], data, style)
    return lines


def chain_lines(data: dict[str, Any], style: Style) -> list[str]:
    """A named policy's fallback chain: which policy resolved, and why the earlier ones did not."""
    chain = data["chain"]
    first = chain[0]
    names = " -> ".join(step["name"] for step in chain)
    lines = [f"{style('chain', 'bold')}    {names} ({first['file']}:{first['line']})"]
    width = max(len(step["name"]) for step in chain)
    for step in chain:
        if not step["tried"]:
            verdict = style("not needed", "dim")
        elif step["resolved"]:
            verdict = style(f"resolved: {step['pick']}", "green")
            if step is not first:
                verdict += "; the report below is for this policy"
        else:
            verdict = style("no match", "red") + f": {step['reason']}"
        lines.append(f"  {step['name']:<{width}}  {verdict}")
        why = step.get("model")
        if not step["resolved"] and why and why["status"] == "dropped":
            lines.append(
                f"  {'':<{width}}  {why['model_name']}: clause {why['clause_index']} "
                f"drops it: {why['reason']}"
            )
    if not any(step["resolved"] for step in chain):
        lines.append(f"  no policy in the chain resolved; the report below is for {data['name']}")
    return [*lines, ""]


def funnel_lines(steps: list[dict[str, Any]], style: Style, *, title: str) -> list[str]:
    """The funnel as a table; parts of ``or``/``not`` clauses indented below them as a tree."""
    rows: list[list[Cell]] = []
    nested = False

    def add(step: dict[str, Any], prefix: str, branch: str) -> None:
        nonlocal nested
        emptied = step["entered"] and not step["passed"]
        examples = ", ".join(step["dropped_examples"])
        if step["dropped"] > len(step["dropped_examples"]):
            examples += ", " + style.ellipsis if examples else ""
        rows.append(
            [
                (
                    prefix + branch + step["clause"],
                    "red" if emptied and not prefix + branch else None,
                ),
                str(step["entered"]),
                (str(step["dropped"]), "yellow" if step["dropped"] else "dim"),
                (str(step["passed"]), "red bold" if emptied else None),
                (examples, "dim"),
            ]
        )
        children = step.get("children") or []
        if children:
            nested = True
        inner = prefix + (
            "" if not branch else ("   " if branch.startswith(_last(style)) else _pipe(style))
        )
        for i, child in enumerate(children):
            add(child, inner, _last(style) if i == len(children) - 1 else _tee(style))

    for step in steps:
        add(step, "", "")
    lines = table(
        [title, "in", "dropped", "left", "dropped, e.g."],
        rows,
        style,
        right=(1, 2, 3),
        shrink=((4,), (0,)),
    )
    if nested:
        note = (
            "(indented: the parts of an or/not clause, each counted over the models that "
            "reached that clause)"
        )
        lines += [style(line, "dim") for line in wrap(note, style.width)]
    return lines


def _tee(style: Style) -> str:
    return "├─ " if style.unicode else "|- "


def _last(style: Style) -> str:
    return "└─ " if style.unicode else "`- "


def _pipe(style: Style) -> str:
    return "│  " if style.unicode else "|  "


def candidate_lines(data: dict[str, Any], style: Style, *, top: int) -> list[str]:
    """The ranked candidates (first ``top``, plus the asked-about model), keys as columns."""
    candidates = data["candidates"]
    order = ", ".join(data["order_by"]) if data["order_by"] else "model_name (no `order by`)"
    if not candidates:
        return [f"{style('candidates', 'bold')}: none passed"]
    asked = (data.get("model") or {}).get("model_name")
    shown = candidates[:top]
    rest = [c for c in candidates[top:] if c["model_name"] == asked]
    title = f"{plural(len(candidates), 'candidate')}, best first by {order}"
    lines = [style(title, "bold")]
    lines += ranking_table(
        shown + rest, data["order_by"], style, asked=asked, gap_after=len(shown) if rest else None
    )
    hidden = len(candidates) - len(shown) - len(rest)
    if hidden > 0:
        lines.append(style(f"... {hidden} more (--top {len(candidates)} lists them all)", "dim"))
    return lines


def ranking_table(
    candidates: list[dict[str, Any]],
    keys: list[str],
    style: Style,
    *,
    asked: str | None = None,
    gap_after: int | None = None,
) -> list[str]:
    """``#``, model, endpoint and one column per ranking key; ``*`` in place of the pick's rank."""
    rows: list[list[Cell]] = []
    bare_keys = [key.removesuffix(" desc") for key in keys]
    for index, c in enumerate(candidates):
        if gap_after is not None and index == gap_after:
            rows.append(["...", "", "", *("" for _ in keys)])
        mark = "*" if c["picked"] else str(c["rank"])
        name_style = "green bold" if c["picked"] else "cyan" if c["model_name"] == asked else None
        endpoint = c["endpoint"] or f"(none: category {show_value(c.get('category'))})"
        rows.append(
            [
                (mark, "green bold" if c["picked"] else None),
                (c["model_name"], name_style),
                (endpoint, None if c["endpoint"] else "yellow"),
                *(
                    price_cell(v, c.get("billing_unit")) if key == "unit_price" else value_cell(v)
                    for key, v in zip(bare_keys, c["keys"])
                ),
            ]
        )
    right = tuple(range(3, 3 + len(keys)))
    lines = table(
        ["#", "model_name", "endpoint", *keys], rows, style, right=(0, *right), shrink=((1, 2),)
    )
    return lines


def why_not_lines(why: dict[str, Any], data: dict[str, Any], style: Style) -> list[str]:
    """The answer to "why not MODEL?" in a few lines."""
    status = why["status"]
    header = f"{style('why not', 'bold')} {style(why['model_name'], 'cyan bold')}?"
    if status == "dropped":
        lines = [
            header,
            f"  clause {why['clause_index']} of {why['clauses']} drops it: "
            + style(why["clause"], "red"),
        ]
        for alternative in why.get("alternatives") or [why]:
            label = f"{alternative['clause']}: " if "alternatives" in why else ""
            if not label and why["failed"] != why["clause"]:
                label = f"{why['failed']}: "
            lines.append(f"  {label}{alternative['reason']}")
        return lines
    if status == "picked":
        return [f"{style(why['model_name'], 'green bold')} is the pick (rank 1 of {why['of']})."]
    if status == "no-endpoint":
        return [header, f"  {why['reason']} (it ranks {why['rank']} of {why['of']})."]
    lines = [
        header,
        f"  it passes every clause, but ranks {why['rank']} of {why['of']}; "
        f"the pick is {why['pick']}.",
    ]
    for group in why["ahead_by"]:
        count = group["count"]
        models = plural(count, "model")
        more = f", {style.ellipsis}" if count > len(group["examples"]) else ""
        if group["tie_break"]:
            names = ", ".join(e["model_name"] for e in group["examples"])
            lines.append(
                f"  {models} tie with it on every ranking key and come first by "
                f"model_name (the final tie-break): {names}{more}"
            )
            continue
        others = ", ".join(f"{e['model_name']} {show_value(e['value'])}" for e in group["examples"])
        mine = (
            "it has no value, and missing values rank last"
            if group["value"] is None
            else f"it has {show_value(group['value'])}"
        )
        lines.append(f"  {group['key']} placed {models} before it: {mine}; {others}{more}")
    return lines
