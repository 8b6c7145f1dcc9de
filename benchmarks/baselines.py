"""The benchmark policies and the same selections written by hand.

Each `BenchPolicy` holds one policy in the policyeng language and the same
selection expressed four other ways:

- `floor`  -- a hand-written list comprehension + `min`: the fastest plain
  Python can do, and the bar the compiled policy is measured against;
- `jmespath` -- one JMESPath expression (compiled once);
- `jq`     -- one jq program, run on the catalog file;
- `cel`    -- a CEL filter (cel-python) plus the floor's ranking key in
  Python, since CEL has no sort.

All of them implement the policy language's semantics (docs/language.md), so all
must pick the same `model_name`:

- a missing value (field absent or null) makes a comparison false, and
  `not` is the plain complement;
- only entries whose category is one of the nine the provider page knows are
  pickable (an unknown category has no endpoint);
- ranking keys that are missing sort last; the final tie-break is
  `model_name` ascending.

JMESPath has no arithmetic and no null-last sort: the ranked candidates are
split into "key present" (ranked with `min_by` after a stable `sort_by` on
`model_name`, which gives the tie-break) and "key missing" (taken, by name,
only when no candidate has a key).  `3 * x + y` becomes `sum([x, x, x, y])`,
which rounds exactly like `3 * x + y` (x + x is exact, so both are one
rounding of 3x, then + y).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

KNOWN_CATEGORIES = (
    "text",
    "code",
    "reasoning",
    "multimodal",
    "vision",
    "embedding",
    "image",
    "audio",
    "video",
)
KNOWN = frozenset(KNOWN_CATEGORIES)

Entry = Mapping[str, Any]


# --------------------------------------------------------------------------
# Floors: what a careful person writes by hand.  Missing values (absent or
# None) make comparisons false; the key tuple puts missing keys last and
# breaks ties on model_name.
# --------------------------------------------------------------------------


def floor_p1(entries: Iterable[Entry]) -> str | None:
    cands = [
        e
        for e in entries
        if "tool_use" in (e.get("supports") or ())
        and (p := e.get("output_per_mtok")) is not None
        and p < 1
        and e.get("health_status") == "healthy"
        and e.get("category") in KNOWN
    ]
    if not cands:
        return None
    return min(
        cands,
        key=lambda e: (
            e.get("output_per_mtok") is None,
            e.get("output_per_mtok") or 0,
            e["model_name"],
        ),
    )["model_name"]


def _key_p2(e: Entry) -> float | None:
    i = e.get("input_per_mtok")
    o = e.get("output_per_mtok")
    if i is None or o is None:
        return None
    return 3 * i + o


def floor_p2(entries: Iterable[Entry]) -> str | None:
    cands = [
        e
        for e in entries
        if e.get("category") in ("text", "code", "reasoning")
        and (c := e.get("context_window")) is not None
        and c >= 32000
        and "vision" not in (e.get("supports") or ())
        and e.get("category") in KNOWN
    ]
    if not cands:
        return None

    def key(e: Entry) -> tuple:
        k = _key_p2(e)
        return (k is None, k or 0, e["model_name"])

    return min(cands, key=key)["model_name"]


def floor_p3(entries: Iterable[Entry]) -> str | None:
    cands = [
        e
        for e in entries
        if "embeddings" in (e.get("supports") or ())
        and e.get("health_status") == "healthy"
        and e.get("category") in KNOWN
    ]
    if not cands:
        return None
    return min(
        cands,
        key=lambda e: (
            e.get("input_per_mtok") is None,
            e.get("input_per_mtok") or 0,
            e["model_name"],
        ),
    )["model_name"]


# --------------------------------------------------------------------------
# JMESPath
# --------------------------------------------------------------------------

_J_KNOWN = "`" + json.dumps(list(KNOWN_CATEGORIES)) + "`"


def _j_null_last(filtered: str, present: str, missing: str, key: str) -> str:
    """min_by over entries with a key (model_name tie-break), else the first keyless one by name."""
    return (
        f"{filtered} | (min_by(sort_by([?{present}], &model_name), &{key})"
        f" || sort_by([?{missing}], &model_name)[0]).model_name"
    )


JMES_P1 = (
    "min_by(sort_by([?contains(supports || `[]`, 'tool_use') && output_per_mtok != null"
    " && output_per_mtok < `1` && health_status == 'healthy'"
    f" && contains({_J_KNOWN}, category)], &model_name), &output_per_mtok).model_name"
)
JMES_P2 = _j_null_last(
    '[?contains(`["text", "code", "reasoning"]`, category) && context_window != null'
    " && context_window >= `32000` && !contains(supports || `[]`, 'vision')"
    f" && contains({_J_KNOWN}, category)]",
    "input_per_mtok != null && output_per_mtok != null",
    "input_per_mtok == null || output_per_mtok == null",
    "sum([input_per_mtok, input_per_mtok, input_per_mtok, output_per_mtok])",
)
JMES_P3 = _j_null_last(
    "[?contains(supports || `[]`, 'embeddings') && health_status == 'healthy'"
    f" && contains({_J_KNOWN}, category)]",
    "input_per_mtok != null",
    "input_per_mtok == null",
    "input_per_mtok",
)


# --------------------------------------------------------------------------
# jq (run on the catalog file).  In jq, null < every number, so every
# comparison is guarded; sort keys put `key == null` (false < true) first.
# --------------------------------------------------------------------------

_JQ_KNOWN = ", ".join(json.dumps(c) for c in KNOWN_CATEGORIES)
_JQ_DEFS = (
    "def has_tag($t): any((.supports // [])[]; . == $t);"
    f" def known: .category as $c | any({_JQ_KNOWN}; . == $c);"
)
JQ_P1 = (
    _JQ_DEFS
    + ' [.[] | select(has_tag("tool_use") and .output_per_mtok != null and .output_per_mtok < 1'
    ' and .health_status == "healthy" and known)]'
    " | sort_by(.output_per_mtok, .model_name) | .[0].model_name"
)
JQ_P2 = (
    _JQ_DEFS + " def k: if .input_per_mtok == null or .output_per_mtok == null then null"
    " else 3 * .input_per_mtok + .output_per_mtok end;"
    ' [.[] | select((.category as $c | any("text", "code", "reasoning"; . == $c))'
    " and .context_window != null and .context_window >= 32000"
    ' and (has_tag("vision") | not) and known)]'
    " | sort_by((k == null), k, .model_name) | .[0].model_name"
)
JQ_P3 = (
    _JQ_DEFS + ' [.[] | select(has_tag("embeddings") and .health_status == "healthy" and known)]'
    " | sort_by((.input_per_mtok == null), .input_per_mtok, .model_name) | .[0].model_name"
)


# --------------------------------------------------------------------------
# CEL (cel-python).  CEL errors on null comparisons and mixes of int and
# double, so numbers are tested with type() and compared as double().
# --------------------------------------------------------------------------

_CEL_KNOWN = "[" + ", ".join(json.dumps(c) for c in KNOWN_CATEGORIES) + "]"


def _cel_has_tag(tag: str) -> str:
    return f'(has(e.supports) && type(e.supports) == list && "{tag}" in e.supports)'


def _cel_num(field: str) -> str:
    return f"(has(e.{field}) && type(e.{field}) in [int, double])"


_CEL_KNOWN_CAT = f"(has(e.category) && e.category in {_CEL_KNOWN})"
_CEL_HEALTHY = '(has(e.health_status) && e.health_status == "healthy")'

CEL_P1 = (
    f"{_cel_has_tag('tool_use')} && {_cel_num('output_per_mtok')}"
    " && double(e.output_per_mtok) < 1.0"
    f" && {_CEL_HEALTHY} && {_CEL_KNOWN_CAT}"
)
CEL_P2 = (
    '(has(e.category) && e.category in ["text", "code", "reasoning"])'
    f" && {_cel_num('context_window')} && double(e.context_window) >= 32000.0"
    f" && !{_cel_has_tag('vision')} && {_CEL_KNOWN_CAT}"
)
CEL_P3 = f"{_cel_has_tag('embeddings')} && {_CEL_HEALTHY} && {_CEL_KNOWN_CAT}"


def rank_key_p1(e: Entry) -> tuple:
    p = e.get("output_per_mtok")
    return (p is None, p or 0, e["model_name"])


def rank_key_p2(e: Entry) -> tuple:
    k = _key_p2(e)
    return (k is None, k or 0, e["model_name"])


def rank_key_p3(e: Entry) -> tuple:
    p = e.get("input_per_mtok")
    return (p is None, p or 0, e["model_name"])


@dataclass(frozen=True)
class BenchPolicy:
    name: str
    text: str
    floor: Callable[[Iterable[Entry]], str | None]
    jmespath: str
    jq: str
    cel_filter: str  # a CEL boolean over one entry `e`
    rank_key: Callable[[Entry], tuple]  # the floor's ranking key, for CEL's candidates


P1 = BenchPolicy(
    "P1",
    "supports tool_use and output_per_mtok < 1 and healthy order by output_per_mtok",
    floor_p1,
    JMES_P1,
    JQ_P1,
    CEL_P1,
    rank_key_p1,
)
P2 = BenchPolicy(
    "P2",
    'category in ["text", "code", "reasoning"] and context_window >= 32k and not supports vision'
    " order by 3 * input_per_mtok + output_per_mtok",
    floor_p2,
    JMES_P2,
    JQ_P2,
    CEL_P2,
    rank_key_p2,
)
P3 = BenchPolicy(
    "P3",
    "supports embeddings and healthy order by input_per_mtok",
    floor_p3,
    JMES_P3,
    JQ_P3,
    CEL_P3,
    rank_key_p3,
)
POLICIES = (P1, P2, P3)
