"""Why a policy picks what it picks: the funnel, the ranking, and "why not that model".

Everything here returns plain data (dicts, lists, strings, numbers, None) so
that ``policyeng explain --json``, the terminal renderer (``render.py``) and
other tools share one answer. The counts and values come from the compiler's
own predicates (``compile_condition`` / ``compile_value``), never from a second
evaluator, so an explanation cannot disagree with a selection.

The shape (``explain --json`` prints exactly this)::

    {"policy": TEXT, "catalog": {source, sha256, fetched_at, stale, models},
     "funnel": [STEP, ...],          # one per top-level `and` clause, in order
     "passed": N, "pickable": N,     # left after the funnel / of those, with an endpoint
     "order_by": [KEY_TEXT, ...],
     "candidates": [{"rank", "model_name", "endpoint", "category", "keys": [...],
                     "billing_unit", "picked"}, ...],  # billing_unit: what unit_price is per
     "pick": MODEL_NAME | None,
     "model": WHY | None}            # only with model=...

    STEP = {"clause", "entered", "passed", "dropped", "dropped_examples",
            "children": [STEP, ...]}  # children only under `or` / `not` (and inside them)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .diagnose import (
    clause_steps,
    clause_text,
    emptied_step,
    key_label,
    no_endpoint,
    plain_value,
)
from .fields import price_per_unit
from .language import ast as s
from .language.codegen import compile_condition, compile_value
from .text import close_matches

if TYPE_CHECKING:
    from .catalog.model import Catalog
    from .engine import Policy

#: How many models ranked ahead of a model are named, per deciding key.
AHEAD_EXAMPLES = 3


def explain(policy: Policy, catalog: Catalog, model: str | None = None) -> dict[str, Any]:
    """The funnel, the ranked candidates and the pick; with ``model``, why it was (not) picked."""
    if model is not None and not isinstance(model, str):
        raise TypeError(f"model is a model_name (str), not {type(model).__name__}")
    entries = policy._entries(catalog)
    funnel = clause_steps(
        policy, s.conjuncts(policy.tree), entries, sequential=True, tests=policy.clause_tests
    )
    ranked = policy.rank(catalog)
    pick = next((e for e in ranked if "endpoint" in e), None)
    result: dict[str, Any] = {
        "policy": policy.text,
        "catalog": {**catalog.info(), "models": len(catalog)},
        "funnel": funnel,
        "passed": len(ranked),
        "pickable": sum(1 for e in ranked if "endpoint" in e),
        "order_by": [key_text(policy, k) for k in policy.tree.order_by],
        "candidates": candidates(policy, ranked, pick),
        "pick": pick["model_name"] if pick is not None else None,
        "model": None,
    }
    if model is not None:
        result["model"] = why_not(policy, catalog, model, ranked=ranked, pick=pick)
    return result


def no_pick_reason(data: dict[str, Any]) -> str | None:
    """Why an explanation has no pick, in words (None when there is a pick)."""
    if data["pick"] is not None:
        return None
    if data["passed"]:
        return no_endpoint(f"{data['passed']} passed", data["candidates"])
    emptied = emptied_step(data["funnel"])
    if emptied is None:
        return "the catalog is empty"
    return f"`{emptied['clause']}` dropped the last {emptied['entered']}"


def explain_named(
    book: Any, name: str, catalog: Catalog, model: str | None = None
) -> dict[str, Any]:
    """``explain`` for a policy of a policy file, fallbacks included.

    The report is ``explain``'s for the policy that resolved (or, when none
    did, for ``name`` itself), plus ``name``, ``via`` (the fallback that
    resolved, or None) and ``chain``: every policy of the fallback chain, in
    order, with its text, where it is defined, whether it was ``tried`` (not
    when an earlier one resolved) and ``resolved``, its pick or the reason it
    has none, and (with ``model``) why that model was not picked by it.
    """
    tried = book.attempts(name, catalog)
    chain = []
    reports = {}
    for attempt in tried:
        named = book[attempt.name]
        data = reports[attempt.name] = explain(named.compiled, catalog, model)
        chain.append(
            {
                "name": attempt.name,
                "policy": named.text,
                "file": named.file,
                "line": named.line,
                "tried": True,
                "resolved": attempt.resolved,
                "pick": data["pick"],
                "reason": no_pick_reason(data),
                "funnel": data["funnel"],
                "model": data["model"],
            }
        )
    for later in book.chain(name)[len(tried) :]:  # fallbacks not needed
        named = book[later]
        chain.append(
            {
                "name": later,
                "policy": named.text,
                "file": named.file,
                "line": named.line,
                "tried": False,
                "resolved": False,
                "pick": None,
                "reason": None,
                "funnel": [],
                "model": None,
            }
        )
    resolved = tried[-1].name if tried[-1].resolved else None
    report = reports[resolved or name]
    via = resolved if resolved is not None and resolved != name else None
    return {"name": name, "via": via, "chain": chain, **report}


def candidates(
    policy: Policy, ranked: list[dict[str, Any]], pick: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Ranked entries as rows: rank, name, endpoint (None if unknown), the ranking keys' values."""
    keys = policy.key_values
    return [
        {
            "rank": rank,
            "model_name": entry["model_name"],
            "endpoint": entry.get("endpoint"),
            "category": entry.get("category"),
            "keys": [plain_value(value(entry)) for value in keys],
            "billing_unit": entry.get("billing_unit"),
            "picked": entry is pick,
        }
        for rank, entry in enumerate(ranked, 1)
    ]


#: A ranking key as the user wrote it, with ``desc`` when it sorts downwards.
key_text = key_label


# --- why not this model -----------------------------------------------------------------------


def why_not(
    policy: Policy,
    catalog: Catalog,
    model: str,
    *,
    ranked: list[dict] | None = None,
    pick: dict | None = None,
) -> dict[str, Any]:
    """Where one model left the race: the clause it fails, or its rank and who beat it.

    ``status`` is one of ``unknown`` (no such model; ``did_you_mean`` lists
    close names), ``dropped`` (a clause is false for it: ``clause``,
    ``failed`` and ``reason`` say which and why, ``values`` its values of the
    fields involved), ``no-endpoint`` (passes, but its category has no
    endpoint, so it is never picked), ``picked``, or ``ranked`` (passes, but
    models rank before it; ``ahead_by`` groups them by the key that decided,
    ``tie_break`` true for the final ``model_name`` tie-break).
    """

    entry = catalog.get(model)
    if entry is None:
        return {"model_name": model, "status": "unknown", "did_you_mean": _close(catalog, model)}
    if ranked is None:
        ranked = policy.rank(catalog)
        pick = next((e for e in ranked if "endpoint" in e), None)
    clauses = s.conjuncts(policy.tree)
    for index, (node, test) in enumerate(zip(clauses, policy.clause_tests), 1):
        if not test(entry):
            failure = _failure(policy, node, entry)
            return {
                "model_name": model,
                "status": "dropped",
                "clause_index": index,
                "clauses": len(clauses),
                "clause": clause_text(policy, node),
                **failure,
            }
    rank = next(i for i, e in enumerate(ranked, 1) if e is entry)
    result: dict[str, Any] = {
        "model_name": model,
        "rank": rank,
        "of": len(ranked),
        "keys": [plain_value(value(entry)) for value in policy.key_values],
    }
    if "endpoint" not in entry:
        category = entry.get("category")
        return {
            **result,
            "status": "no-endpoint",
            "reason": f"it passes every clause, but its category {_show(category)} has no "
            "known endpoint, so it is never picked",
        }
    if entry is pick:
        return {**result, "status": "picked", "reason": "it is the pick"}
    ahead = ranked[: rank - 1]
    return {
        **result,
        "status": "ranked",
        "pick": pick["model_name"] if pick is not None else None,
        "ahead_by": _ahead_by(policy, entry, ahead),
    }


def _ahead_by(policy: Policy, entry: dict, ahead: list[dict]) -> list[dict[str, Any]]:
    """Group the models ranked before ``entry`` by the first ranking key that tells them apart."""
    sort_key = policy._code.sort_key
    mine = sort_key(entry)
    keys = list(policy.tree.order_by)
    names = [key_text(policy, k) for k in keys] + ["model_name (the final tie-break)"]
    values = [*policy.key_values, lambda e: e["model_name"]]
    groups: dict[int, list[dict]] = {}
    for other in ahead:
        theirs = sort_key(other)
        index = next(i for i, (a, b) in enumerate(zip(theirs, mine, strict=True)) if a != b)
        groups.setdefault(index, []).append(other)
    return [
        {
            "key": names[index],
            "tie_break": index == len(keys),
            "count": len(group),
            "value": plain_value(values[index](entry)),
            "examples": [
                {"model_name": e["model_name"], "value": plain_value(values[index](e))}
                for e in group[:AHEAD_EXAMPLES]
            ],
        }
        for index, group in sorted(groups.items())
    ]


def _close(catalog: Catalog, name: str) -> list[str]:
    names = [e["model_name"] for e in catalog]
    folded = {n.casefold(): n for n in names}
    if name.casefold() in folded:
        return [folded[name.casefold()]]
    close = close_matches(name.casefold(), folded, n=3)
    if not close:
        close = [n for n in folded if name.casefold() in n][:3]
    return [folded[n] for n in close]


def _failure(policy: Policy, node: s.Node, entry: dict) -> dict[str, Any]:
    """Why ``node`` is false for ``entry``: the innermost failing predicate and the values read."""

    if isinstance(node, s.And):
        for operand in node.operands:
            if not compile_condition(operand)(entry):
                return _failure(policy, operand, entry)
    if isinstance(node, s.Or):
        alternatives = [
            {"clause": clause_text(policy, op), **_failure(policy, op, entry)}
            for op in node.operands
        ]
        return {
            "failed": clause_text(policy, node),
            "reason": "none of the alternatives holds: "
            + "; ".join(f"{a['clause']}: {a['reason']}" for a in alternatives),
            "values": {k: v for a in alternatives for k, v in a["values"].items()},
            "alternatives": alternatives,
        }
    return {
        "failed": clause_text(policy, node),
        "reason": _reason(policy, node, entry),
        "values": _values(node, entry),
    }


def _values(node: s.Node, entry: dict) -> dict[str, Any]:
    """The entry's values of every field the clause reads, in the order they appear."""
    names: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop(0)
        if isinstance(current, s.Field):
            names.append(current.name)
        elif isinstance(current, s.Has):
            names.append(current.field)
        elif isinstance(current, s.Supports):
            names.append("supports")
        stack[:0] = s.children(current)
    if "healthy" in names:
        names.insert(names.index("healthy") + 1, "health_status")
    return {name: plain_value(entry.get(name)) for name in dict.fromkeys(names)}


def _reason(policy: Policy, node: s.Node, entry: dict) -> str:
    """One line in words: the value the model has, and what the clause needs."""

    text = clause_text(policy, node)
    if isinstance(node, s.Supports):
        tags = entry.get("supports")
        if tags is None:
            return f"supports is missing, needs {_tag(node.tag)}"
        return f"supports = [{', '.join(_tag(t) for t in tags)}], needs {_tag(node.tag)}"
    if isinstance(node, s.Has):
        return f"{node.field} is missing (absent or null), needs {text}"
    if isinstance(node, s.Field) and node.name == "healthy":
        return f'health_status = {_show(entry.get("health_status"))}, needs "healthy"'
    if isinstance(node, s.Field) and node.name == "live":
        return "it is not listed by GET /v1/models (live = false)"
    if isinstance(node, s.Field):
        return f"{node.name} = {_show(entry.get(node.name))}, needs true"
    if isinstance(node, s.Bool):
        return "the clause is the constant false"
    if isinstance(node, s.Compare):
        sides = [side for side in (node.left, node.right) if not _is_literal(side)]
        missing = [side for side in sides if compile_value(side)(entry) is None]
        if missing:
            return f"{_describe(policy, missing[0], entry)}, so {text} is false"
        described = "; ".join(_describe(policy, side, entry) for side in sides)
        if _is_literal(node.right):
            return f"{described}, needs {node.op} {clause_text(policy, node.right)}"
        return f"{described}, needs {text}"
    if isinstance(node, (s.In, s.Matches)):
        operand = node.operand
        if compile_value(operand)(entry) is None:
            return f"{_describe(policy, operand, entry)}, so {text} is false"
        if isinstance(node, s.Matches):
            need = f"matches {clause_text(policy, node.pattern)}"
        else:
            values = ", ".join(_show(v.value) for v in node.values)
            need = f"{'not in' if node.negated else 'in'} [{values}]"
        return f"{_describe(policy, operand, entry)}, needs {need}"
    if isinstance(node, s.Not):
        facts = "; ".join(
            _describe_field(name, value, entry)
            for name, value in _values(node.operand, entry).items()
        )
        return f"{facts}, so {clause_text(policy, node.operand)} holds and `not` drops it"
    return f"{text} is false"  # pragma: no cover - every predicate kind is handled above


def _describe(policy: Policy, node: s.Node, entry: dict) -> str:
    """``output_per_mtok = 1.2``; arithmetic also lists the fields it read."""

    value = compile_value(node)(entry)
    if isinstance(node, s.Field):
        return _describe_field(node.name, value, entry)
    fields = "; ".join(_describe_field(n, v, entry) for n, v in _values(node, entry).items())
    shown = "missing" if value is None else _show(value)
    verb = "is" if value is None else "="
    return f"{clause_text(policy, node)} {verb} {shown} ({fields})"


def _describe_field(name: str, value: Any, entry: dict) -> str:
    if value is None:
        return f"{name} is missing"
    if name == "unit_price":  # with what it is per: unit_price = $0.0015/minute
        return f"{name} = {price_per_unit(value, entry.get('billing_unit'))}"
    if isinstance(value, list):
        return f"{name} = [{', '.join(_tag(v) for v in value)}]"
    return f"{name} = {_show(value)}"


def _is_literal(node: s.Node) -> bool:
    return isinstance(node, (s.Number, s.String, s.Bool)) or (
        isinstance(node, s.Negative) and _is_literal(node.operand)
    )


def _tag(tag: Any) -> str:
    text = str(tag)
    return text if text.isidentifier() else f'"{text}"'


def _show(value: Any) -> str:
    """A value in policy syntax: strings quoted, numbers short, missing as ``missing``."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
