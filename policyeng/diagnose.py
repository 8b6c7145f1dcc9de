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

if TYPE_CHECKING:
    from .catalog.model import Catalog
    from .engine import Policy

#: How many dropped model names a funnel step lists.
EXAMPLES = 3



def no_match(policy: Policy, catalog: Catalog, *, name: str | None = None) -> NoMatch:
    """The error for an empty result, with how many models each top-level clause dropped."""
    steps = funnel(policy, catalog)
    label = f"policy {name!r}" if name else "the policy"
    models = f"{len(catalog)} model{'' if len(catalog) == 1 else 's'}"
    lines = [f"no model matches {label} in catalog {catalog.source} ({models})"]
    for step in steps:
        lines.append(
            f"  {step['clause']:<40}  {step['entered']:>5} in  {step['dropped']:>5} dropped"
            f"  {step['passed']:>5} left"
        )
    step = emptied_step(steps)
    if step is not None:
        lines.append(f"  `{step['clause']}` dropped the last {step['entered']}")
        unknown = unknown_value(s.conjuncts(policy.tree)[steps.index(step)], catalog.entries)
        if unknown:
            lines.append(f"  {unknown}")
    matched = policy.filter(catalog)
    if matched:  # every match lacks an endpoint, or select would have picked one
        lines.append(f"  {no_endpoint(f'{len(matched)} matched', matched)}")
    return NoMatch("\n".join(lines), funnel=steps, text=policy.text)


def unknown_value(node: s.Node, entries: list[dict[str, Any]], *,
                  any_missing: bool = False) -> str | None:
    """For `supports chatt` or `category == "txt"`: no model has that value at all.

    A typo in a tag or a category matches nothing rather than failing, so the
    no-match message says so, with the closest values the catalog does have.
    """
    import difflib  # only when wording an error

    if isinstance(node, s.Supports):
        field, wanted = "supports", [node.tag]
        known = {tag for e in entries for tag in (e.get("supports") or ())}
    elif isinstance(node, (s.Compare, s.In)):
        if isinstance(node, s.Compare) and node.op in ("==", "!="):
            pairs = [(node.left, node.right), (node.right, node.left)]
            operand, values = next(((f, [v]) for f, v in pairs if isinstance(f, s.Field)
                                    and isinstance(v, s.String)), (None, []))
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
    close = difflib.get_close_matches(value, [str(k) for k in known], n=3, cutoff=0.6)
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
    read = [name for name in TOKEN_PRICES
            if any(name in s.fields_used(key.expr) for key in policy.tree.order_by)]
    if not read:
        return None
    candidates = policy.filter(catalog)
    billed = sorted((e for e in candidates if e.get("unit_price") is not None
                     and not any(e.get(name) for name in read)),
                    key=lambda e: (e["unit_price"], e["model_name"]))
    if not billed:
        return None
    examples = ", ".join(f"{e['model_name']} {price_per_unit(e['unit_price'], e['billing_unit'])}"
                         for e in billed[:EXAMPLES])
    more = ", ..." if len(billed) > EXAMPLES else ""
    count, total = len(billed), len(candidates)
    which = (f"{count} of the {total} candidates" if count < total
             else "the only candidate" if count == 1 else f"all {count} candidates")
    return (f"order by {' and '.join(read)}: {which} "
            f"{'is' if count == 1 else 'are'} billed per unit and "
            f"{'has' if count == 1 else 'have'} no such price ({examples}{more}); "
            f"hint: order by unit_price ranks them by what they cost")


def funnel(policy: Policy, catalog: Catalog) -> list[dict[str, Any]]:
    """For each top-level clause: how many models entered, passed and were dropped."""
    return clause_steps(policy, s.conjuncts(policy.tree), catalog.entries, sequential=True,
                        nested=False, tests=policy.clause_tests)



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
        passed, dropped = [], []
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

