"""Why a policy found nothing (or why a pick changed): the diagnostics every report shares.

The funnel (how many models each clause let through), the clause that emptied
the set, values no model has (a likely typo), and the no-match message: the
CLI's error, ``check``'s failure and ``explain`` all word these the same way
because they all come from here. Counts come from the compiler's own
predicates, never a second evaluator, so a diagnosis cannot disagree with a
selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import NoMatch
from .fields import price_per_unit
from .language import ast as s
from .language.codegen import compile_condition
from .text import close_matches, plural

if TYPE_CHECKING:
    from .catalog.model import Catalog
    from .engine import Policy

#: How many dropped model names a funnel step lists.
EXAMPLES = 3


def no_match(policy: Policy, catalog: Catalog, *, name: str | None = None) -> NoMatch:
    """The error for an empty result, with how many models each top-level clause dropped."""
    steps = funnel(policy, catalog)
    label = f"policy {name!r}" if name else "the policy"
    models = plural(len(catalog), "model")
    lines = [f"no model matches {label} in catalog {catalog.source} ({models})"]
    for step in steps:
        lines.append(
            f"  {step['clause']:<40}  {step['entered']:>5} in  {step['dropped']:>5} dropped"
            f"  {step['passed']:>5} left"
        )
    emptied = emptied_step(steps)
    if emptied is not None:
        lines.append(f"  `{emptied['clause']}` dropped the last {emptied['entered']}")
        unknown = unknown_value(s.conjuncts(policy.tree)[steps.index(emptied)], catalog.entries)
        if unknown:
            lines.append(f"  {unknown}")
    matched = policy.filter(catalog)
    if matched:  # every match lacks an endpoint, or select would have picked one
        lines.append(f"  {no_endpoint(f'{len(matched)} matched', matched)}")
    return NoMatch("\n".join(lines), funnel=steps, text=policy.text)


def unknown_value(
    node: s.Node, entries: list[dict[str, Any]], *, any_missing: bool = False
) -> str | None:
    """For `supports chatt` or `category == "txt"`: no model has that value at all.

    A typo in a tag or a category matches nothing rather than failing, so the
    no-match message says so, with the closest values the catalog does have.
    """

    if isinstance(node, s.Supports):
        field, wanted = "supports", [node.tag]
        known = {tag for e in entries for tag in (e.get("supports") or ())}
    elif isinstance(node, (s.Compare, s.In)):
        operand: s.Node | None
        if isinstance(node, s.Compare) and node.op in ("==", "!="):
            pairs = [(node.left, node.right), (node.right, node.left)]
            operand, values = next(
                ((f, [v]) for f, v in pairs if isinstance(f, s.Field) and isinstance(v, s.String)),
                (None, []),
            )
        elif isinstance(node, s.In):
            operand, values = node.operand, [v for v in node.values if isinstance(v, s.String)]
        else:
            return None
        if not isinstance(operand, s.Field) or not values:
            return None
        field, wanted = operand.name, [v.value for v in values]
        known = {e.get(field) for e in entries} - {None}
    else:
        return None
    missing = [value for value in wanted if value not in known]
    if not missing or (len(missing) < len(wanted) and not any_missing):
        return None
    value = missing[0]
    close = close_matches(value, [str(k) for k in known], n=3)
    what = f"supports {value!r}" if field == "supports" else f"has {field} {value!r}"
    if close:
        return f"no model in the catalog {what}; did you mean {' or '.join(map(repr, close))}?"
    return f"no model in the catalog {what}"


#: The per-token prices a ranking can read by mistake for a model billed per unit.
TOKEN_PRICES = ("input_per_mtok", "output_per_mtok")


def per_unit_ranking(policy: Policy, catalog: Catalog) -> str | None:
    """`order by output_per_mtok` over image, video or audio models: a warning, or None.

    Such models are billed per image, second or character: their token prices
    are 0 or missing, so ranking by them orders the candidates by nothing
    (then by name) and quietly picks a dearer model. Said when a candidate
    has a ``unit_price`` and none of the token prices the ranking reads.
    """
    read = [
        name
        for name in TOKEN_PRICES
        if any(name in s.fields_used(key.expr) for key in policy.tree.order_by)
    ]
    if not read:
        return None
    candidates = policy.filter(catalog)
    billed = sorted(
        (
            e
            for e in candidates
            if e.get("unit_price") is not None and not any(e.get(name) for name in read)
        ),
        key=lambda e: (e["unit_price"], e["model_name"]),
    )
    if not billed:
        return None
    examples = ", ".join(
        f"{e['model_name']} {price_per_unit(e['unit_price'], e['billing_unit'])}"
        for e in billed[:EXAMPLES]
    )
    more = ", ..." if len(billed) > EXAMPLES else ""
    count, total = len(billed), len(candidates)
    which = (
        f"{count} of the {total} candidates"
        if count < total
        else "the only candidate"
        if count == 1
        else f"all {count} candidates"
    )
    return (
        f"order by {' and '.join(read)}: {which} "
        f"{'is' if count == 1 else 'are'} billed per unit and "
        f"{'has' if count == 1 else 'have'} no such price ({examples}{more}); "
        f"hint: order by unit_price ranks them by what they cost"
    )


def funnel(policy: Policy, catalog: Catalog) -> list[dict[str, Any]]:
    """For each top-level clause: how many models entered, passed and were dropped."""
    return clause_steps(
        policy,
        s.conjuncts(policy.tree),
        catalog.entries,
        sequential=True,
        nested=False,
        tests=policy.clause_tests,
    )


def emptied_step(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The funnel step that dropped the last models (None if none did)."""
    return next((step for step in steps if step["entered"] and not step["passed"]), None)


def no_endpoint(how_many: str, matched: list[dict[str, Any]]) -> str:
    """Models matched, but every one is of a category with no endpoint."""
    categories = ", ".join(sorted({str(e.get("category")) for e in matched}))
    return f"{how_many}, but none has an endpoint (unknown category: {categories})"


def clause_text(policy: Policy, node: s.Node) -> str:
    """A clause as the user wrote it (or printed, when positions are unknown)."""
    if node.span is not None:
        return policy.text[node.span.start : node.span.end]
    return s.to_text(node)


def clause_steps(
    policy: Policy,
    nodes: tuple[s.Node, ...],
    entries: list[dict],
    *,
    sequential: bool,
    nested: bool = True,
    tests: list | None = None,
) -> list[dict[str, Any]]:
    """Count each clause over ``entries``.

    Under ``and`` (``sequential``) each clause sees only what the previous one
    let through, like a funnel; under ``or`` every alternative sees the same
    models, so its count says how many that alternative alone would keep.
    ``nested=False`` leaves out the parts of ``or``/``not`` clauses (the short
    funnel of a no-match error); ``tests`` are the clauses' compiled predicates
    when the caller already has them.
    """

    steps = []
    for node, test in zip(nodes, tests or [compile_condition(node) for node in nodes]):
        passed: list[dict] = []
        dropped: list[dict] = []
        for entry in entries:
            (passed if test(entry) else dropped).append(entry)
        steps.append(
            {
                "clause": clause_text(policy, node),
                "entered": len(entries),
                "passed": len(passed),
                "dropped": len(dropped),
                "dropped_examples": [e["model_name"] for e in dropped[:EXAMPLES]],
                "children": _children(policy, node, entries) if nested else [],
            }
        )
        if sequential:
            entries = passed
    return steps


def _children(policy: Policy, node: s.Node, entries: list[dict]) -> list[dict[str, Any]]:
    if isinstance(node, s.Or):
        return clause_steps(policy, node.operands, entries, sequential=False)
    if isinstance(node, s.Not) and isinstance(node.operand, (s.And, s.Or, s.Not)):
        return clause_steps(policy, (node.operand,), entries, sequential=False)
    if isinstance(node, s.Not):
        return []
    if isinstance(node, s.And):  # nested (a top-level `and` is the funnel itself)
        return clause_steps(policy, node.operands, entries, sequential=True)
    return []


# --- why a pick changed -------------------------------------------------------------------------
#
# A deployment (or CI) holds a pick recorded earlier, from a lock file or an
# older catalog, and today's catalog resolves the policy to another model. The
# classifier names the one reason, with the values that show it. Everything
# here takes and returns plain data (plus the compiled policies of the chain),
# so ``check --locked``, ``diff`` and the resolver's change events word a
# drift the same way.

#: Every drift reason, in the order they are tried (the first that holds is the reason).
DRIFT_REASONS = (
    "fallback",
    "removed",
    "fails",
    "no-endpoint",
    "endpoint",
    "outranked",
    "tie-break",
)

#: Said when the recorded pick is a version 1 lock entry (no values recorded).
V1_LIMIT = (
    "a version 1 lock records no values, so the values then are unknown; "
    "run `policyeng lock` again to record them"
)


def key_label(policy: Policy, key: s.OrderKey) -> str:
    """A ranking key as the user wrote it, with ``desc`` when it sorts downwards."""
    return clause_text(policy, key.expr) + (" desc" if key.descending else "")


def fields_read(policies: list[Policy]) -> list[str]:
    """Every entry field these policies read (``where`` and ``order by``), sorted.

    ``healthy`` brings ``health_status``, and ``category`` is always there (the
    pick's endpoint follows from it): the values a reader needs to see why a
    derived field changed.
    """
    names: set[str] = {"category"}
    for policy in policies:
        names |= s.fields_used(policy.tree.where)
        for key in policy.tree.order_by:
            names |= s.fields_used(key.expr)
    if "healthy" in names:
        names.add("health_status")
    return sorted(names)


def resolution(chain: list[tuple[str, Policy]], catalog: Catalog) -> dict[str, Any] | None:
    """What a policy and its fallbacks resolve to, as a version 2 lock records it.

    ``chain`` is ``[(name, compiled policy), ...]``: the policy first, then its
    fallbacks in the order they are tried. The answer is None when none
    resolves, else ``{"model_name", "endpoint", "via", "keys", "fields",
    "candidates"}``: ``via`` the fallback that resolved (None for the policy
    itself), ``keys`` the pick's ranking-key values (``[{"key": TEXT,
    "value": V}, ...]``, missing values as None), ``fields`` its values of
    every field the policies tried read (absent fields as None), and
    ``candidates`` the sorted names of every model that passed the policy that
    resolved.
    """
    for index, (name, policy) in enumerate(chain):
        passed = policy.filter(catalog)
        pickable = [e for e in passed if "endpoint" in e]
        if not pickable:
            continue
        best = min(pickable, key=policy._code.sort_key)
        tried = [p for _, p in chain[: index + 1]]
        return {
            "model_name": best["model_name"],
            "endpoint": best["endpoint"],
            "via": None if index == 0 else name,
            "keys": [
                {"key": key_label(policy, key), "value": plain_value(value(best))}
                for key, value in zip(policy.tree.order_by, policy.key_values)
            ],
            "fields": {f: plain_value(best.get(f)) for f in fields_read(tried)},
            "candidates": sorted(e["model_name"] for e in passed),
        }
    return None


def same_pick(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two picks name the same model, endpoint and ``via``."""
    if a is None or b is None:
        return a is b
    return all(a.get(k) == b.get(k) for k in ("model_name", "endpoint", "via"))


def classify_drift(
    locked: dict[str, Any],
    chain: list[tuple[str, Policy]],
    catalog: Catalog,
    *,
    old_catalog: Catalog | None = None,
    now: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Why ``chain`` no longer resolves to ``locked`` in ``catalog``; None if it still does.

    ``locked`` is the pick recorded earlier: a lock file's entry (version 2:
    ``model_name``, ``endpoint``, ``via``, ``keys``, ``fields``,
    ``candidates``; version 1: the first three only), or ``resolution(chain,
    old_catalog)``. ``old_catalog`` (when the caller has it, as ``diff`` does)
    also tells whether today's winner is new to the catalog and how its values
    moved. ``now`` is today's ``resolution`` when the caller already has it.

    The answer is plain data::

        {"reason": one of DRIFT_REASONS,
         "locked": {"model_name", "endpoint", "via"},
         "now": {"model_name", "endpoint", "via"} | None,   # None: nothing resolves
         "policy": NAME,          # the policy of the chain the locked pick came from
         "detail": {...},         # per reason, below
         "text": "one sentence in words",
         "limited": None | "why the values then are unknown"}

    ``detail`` per reason: ``removed`` {}; ``fails`` {"clause": N (1-based),
    "clause_text", "values": {FIELD: {"then", "now"}}}; ``no-endpoint`` and
    ``endpoint`` {"category": {"then", "now"}}; ``outranked`` and ``tie-break``
    {"key", "winner": {"model_name", "value", "new", "was_candidate"},
    "locked_value", "moved": [{"model_name", "key", "then", "now"}, ...]}
    (``new``: absent from the old catalog, None when no old catalog is known;
    ``was_candidate``: passed the policy then, None when unknown); ``fallback``
    {"then": NAME, "now": NAME | None, "cause": a removed/fails/no-endpoint
    classification of the locked model against the policy that resolved then,
    or None when that policy resolves again}.
    """
    now = resolution(chain, catalog) if now is None else now
    if same_pick(locked, now):
        return None
    names = [name for name, _ in chain]
    limited = None if "fields" in locked else V1_LIMIT
    then_name = locked.get("via") or names[0]
    if then_name not in names:  # the files changed: that fallback is gone
        then_name = names[0]
    then_policy = dict(chain)[then_name]
    now_name = None if now is None else (now.get("via") or names[0])
    result: dict[str, Any] = {
        "locked": _brief(locked),
        "now": _brief(now),
        "policy": then_name,
        "limited": limited,
    }
    cause = _lost(locked, then_policy, catalog)
    if now is not None and now_name != then_name:
        moved = {"then": then_name, "now": now_name, "cause": cause}
        return {
            **result,
            "reason": "fallback",
            "detail": moved,
            "text": _fallback_text(locked, moved),
        }
    if cause is not None:
        return {**result, **cause}
    entry = catalog.get(locked["model_name"])
    assert entry is not None and now is not None  # it passes, so the chain resolves
    if now["model_name"] == locked["model_name"]:
        detail: dict[str, Any] = {"category": _category_then_and_now(locked, entry)}
        return {
            **result,
            "reason": "endpoint",
            "detail": detail,
            "text": f"{locked['model_name']} is now called through {entry['endpoint']} "
            f"(was {locked.get('endpoint')}): its category "
            f"{_change(detail['category'])}",
        }
    return {**result, **_outranked(locked, then_policy, catalog, now, old_catalog)}


def _brief(pick: dict[str, Any] | None) -> dict[str, Any] | None:
    if pick is None:
        return None
    return {
        "model_name": pick.get("model_name"),
        "endpoint": pick.get("endpoint"),
        "via": pick.get("via"),
    }


def _category_then_and_now(locked: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The locked model's category when it was locked and now: what moved its endpoint."""
    return {"then": _then(locked, "category"), "now": plain_value(entry.get("category"))}


def _then(locked: dict[str, Any], field: str) -> Any:
    """The locked pick's value of a field then (None when the lock does not say)."""
    return (locked.get("fields") or {}).get(field)


def _lost(locked: dict[str, Any], policy: Policy, catalog: Catalog) -> dict[str, Any] | None:
    """removed / fails / no-endpoint for the locked model, or None if it could still win."""
    model = locked["model_name"]
    entry = catalog.get(model)
    if entry is None:
        return {"reason": "removed", "detail": {}, "text": f"{model} is no longer in the catalog"}
    clauses = s.conjuncts(policy.tree)
    for index, (node, test) in enumerate(zip(clauses, policy.clause_tests), 1):
        if not test(entry):
            used = s.fields_used(node)
            read = sorted(used | {"health_status"} if "healthy" in used else used)
            values = {f: {"then": _then(locked, f), "now": plain_value(entry.get(f))} for f in read}
            text = clause_text(policy, node)
            shown = "; ".join(
                f"{f} {_change(v, known='fields' in locked)}" for f, v in values.items()
            )
            return {
                "reason": "fails",
                "detail": {"clause": index, "clause_text": text, "values": values},
                "text": f"{model} fails clause {index} `{text}`" + (f": {shown}" if shown else ""),
            }
    if "endpoint" not in entry:
        detail = {"category": _category_then_and_now(locked, entry)}
        return {
            "reason": "no-endpoint",
            "detail": detail,
            "text": f"{model} has no endpoint now: its category "
            f"{_change(detail['category'], known='fields' in locked)}",
        }
    return None


def _outranked(
    locked: dict[str, Any],
    policy: Policy,
    catalog: Catalog,
    now: dict[str, Any],
    old_catalog: Catalog | None,
) -> dict[str, Any]:
    """``outranked`` or ``tie-break``: the key that put today's winner first, and why."""
    mine, winner = catalog.get(locked["model_name"]), catalog.get(now["model_name"])
    assert mine is not None and winner is not None
    keys = list(policy.tree.order_by)
    labels = [key_label(policy, k) for k in keys] + ["model_name"]
    values = [*policy.key_values, lambda e: e["model_name"]]
    sort_key = policy._code.sort_key
    index = next(
        (i for i, (a, b) in enumerate(zip(sort_key(winner), sort_key(mine))) if a != b), len(keys)
    )
    deciding = keys[index].expr if index < len(keys) else s.Field("model_name")
    tie = isinstance(deciding, s.Field) and deciding.name == "model_name"
    label = labels[index]
    then_keys = {k.get("key"): k.get("value") for k in locked.get("keys") or ()}
    old_winner = old_catalog.get(winner["model_name"]) if old_catalog is not None else None
    new = None if old_catalog is None else old_winner is None
    candidates = locked.get("candidates")
    was_candidate = None if candidates is None else winner["model_name"] in candidates
    if was_candidate is None and old_winner is not None:
        was_candidate = policy.matches(old_winner)
    moved = []
    for i, key in enumerate(labels[:-1]):
        now_value = plain_value(values[i](mine))
        if key in then_keys and then_keys[key] != now_value:
            moved.append(
                {
                    "model_name": mine["model_name"],
                    "key": key,
                    "then": then_keys[key],
                    "now": now_value,
                }
            )
        if old_winner is not None:
            then_value = plain_value(values[i](old_winner))
            now_value = plain_value(values[i](winner))
            if then_value != now_value:
                moved.append(
                    {
                        "model_name": winner["model_name"],
                        "key": key,
                        "then": then_value,
                        "now": now_value,
                    }
                )
    detail = {
        "key": label,
        "winner": {
            "model_name": winner["model_name"],
            "value": plain_value(values[index](winner)),
            "new": new,
            "was_candidate": was_candidate,
        },
        "locked_value": plain_value(values[index](mine)),
        "moved": moved,
    }
    if tie:
        equal = [
            f"{k} = {show_value(plain_value(v(mine)))}"
            for k, v in zip(labels[:index], values[:index])
        ]
        text = (
            f"{winner['model_name']} ties with {mine['model_name']}"
            + (f" on {', '.join(equal)}" if equal else "")
            + f" and comes first by {label}"
        )
    else:
        text = (
            f"{winner['model_name']} ranks ahead on {label}: "
            f"{show_value(detail['winner']['value'])} against "
            f"{show_value(detail['locked_value'])} for {mine['model_name']}"
        )
    text += _why_ahead(detail)
    return {"reason": "tie-break" if tie else "outranked", "detail": detail, "text": text}


def _why_ahead(detail: dict[str, Any]) -> str:
    """``; X is new to the catalog`` or ``; Y's price moved from 1 to 2``."""
    winner = detail["winner"]
    parts = [
        f"{m['model_name']}'s {m['key']} moved from {show_value(m['then'])} to "
        f"{show_value(m['now'])}"
        for m in detail["moved"]
    ]
    if winner["new"]:
        parts.insert(0, f"{winner['model_name']} is new to the catalog")
    elif winner["was_candidate"] is False:
        parts.insert(0, f"{winner['model_name']} was not a candidate then")
    elif winner["was_candidate"] and not parts:  # then behind, now ahead: its values moved
        parts.append(
            f"{winner['model_name']} ranked behind it when locked, so its own values moved"
        )
    return "; " + "; ".join(parts) if parts else ""


def _fallback_text(locked: dict[str, Any], detail: dict[str, Any]) -> str:
    cause = detail["cause"]
    if detail["now"] is None or cause is None:
        return (
            f"{detail['now']} resolves again (the locked pick came from its fallback "
            f"{detail['then']})"
        )
    return f"{detail['then']} matches nothing now ({cause['text']}); {detail['now']} resolved"


def _change(values: dict[str, Any], known: bool = True) -> str:
    """``was 0.5, now 1.2`` (or ``is now 1.2`` when the value then is unknown)."""
    if not known:
        return f"is now {show_value(values['now'])}"
    return f"was {show_value(values['then'])}, now {show_value(values['now'])}"


def show_value(value: Any) -> str:
    """A value in policy syntax: strings quoted, numbers short, ``missing`` for None."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # shortest text that reads back as the same number
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return str(value)


def plain_value(value: Any) -> Any:
    """JSON-safe: a non-finite number (from overflowing arithmetic) counts as missing."""
    # NaN or infinite; math.isfinite would import math on select's path, which loads us.
    if isinstance(value, float) and value - value != 0:
        return None
    return value
