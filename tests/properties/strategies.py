"""Hypothesis strategies for catalogs and policy ASTs, and a reference interpreter.

The reference interpreter is deliberately naive (a recursive walk per entry,
derived fields recomputed from raw data) so that it can be read against
docs/language.md line by line; the compiled evaluator must agree with it.
"""

from __future__ import annotations

import functools
import math

from hypothesis import strategies as st

from policyeng.language import ast as s

NUMBER_FIELDS = [
    "context_window",
    "max_output",
    "input_per_mtok",
    "output_per_mtok",
    "unit_price",
    "cached_input_per_mtok",
]
STRING_FIELDS = ["model_name", "category", "provider", "health_status", "endpoint", "billing_unit"]
TAGS = ["chat", "tool_use", "vision", "embeddings", "audio_transcription"]
CATEGORIES = [
    "text",
    "code",
    "reasoning",
    "multimodal",
    "vision",
    "embedding",
    "image",
    "audio",
    "video",
    "rerank",
]
NAMES = [f"m{i}" for i in range(12)] + ["Qwen-7B", "qwen-72b", "bge-m3", "whisper"]
NUMBERS = [0, 0.003, 0.5, 1, 2, 2.5, 3, 10, 128, 32000]
STRINGS = ["text", "code", "audio", "healthy", "down", "Qwen", 'x"y', "a\\b", "", "image", "minute"]
UNITS = ["image", "minute", "second", "character", "second of audio"]

ENDPOINTS = {
    "text": "/v1/chat/completions",
    "code": "/v1/chat/completions",
    "reasoning": "/v1/chat/completions",
    "multimodal": "/v1/chat/completions",
    "vision": "/v1/chat/completions",
    "embedding": "/v1/embeddings",
    "image": "/v1/images/generations",
    "video": "/v1/videos/generations",
}


# --- catalogs ---------------------------------------------------------------


def _maybe(strategy):
    """A value, an explicit null, or (the sentinel) absent."""
    return st.one_of(strategy, st.none(), st.just(ABSENT))


ABSENT = object()


def _optional(strategy, row, key, draw):
    value = draw(_maybe(strategy))
    if value is not ABSENT:
        row[key] = value


@st.composite
def pricing_rows(draw, malformed=False):
    """A ``pricing`` row: several units and prices (ties too), other currencies, gaps."""
    row: dict = {}
    _optional(st.sampled_from(UNITS), row, "billing_unit", draw)
    _optional(st.sampled_from([0, 0.003, 0.02, 0.5, 1]), row, "unit_price_usd", draw)
    _optional(st.sampled_from(["USD", "usd", "EUR", "Usd"]), row, "currency", draw)
    _optional(st.sampled_from([0.1, 0.25, 1]), row, "cached_input_per_mtok", draw)
    _optional(st.sampled_from(["1024x1024", "hd"]), row, "resolution_tier", draw)
    if malformed and draw(st.integers(0, 3)) == 0:
        key, bad = draw(
            st.sampled_from(
                [
                    ("unit_price_usd", -1),
                    ("unit_price_usd", "0.5"),
                    ("unit_price_usd", math.nan),
                    ("unit_price_usd", True),
                    ("cached_input_per_mtok", math.nan),
                    ("output_per_mtok", -0.5),
                    ("billing_unit", ""),
                    ("billing_unit", 5),
                    ("currency", 840),
                    ("quality_tier", ["hd"]),
                ]
            )
        )
        row[key] = bad
    if malformed and draw(st.integers(0, 15)) == 0:
        return draw(st.sampled_from(["image", 0.5, None, ["USD"]]))
    return row


@st.composite
def entries(draw, name, malformed=False):
    entry = {"model_name": name}
    fields = {
        "category": _maybe(st.sampled_from(CATEGORIES)),
        "provider": _maybe(st.sampled_from(["Qwen", "BAAI", "Meta"])),
        "health_status": _maybe(st.sampled_from(["healthy", "degraded", "down"])),
        "context_window": _maybe(st.sampled_from([0, 512, 32000, 128000])),
        "max_output": _maybe(st.sampled_from([0, 1024, 8192])),
        "input_per_mtok": _maybe(st.sampled_from([0, 0.1, 0.5, 1, 2.5])),
        "output_per_mtok": _maybe(st.sampled_from([0, 0.2, 0.5, 1, 3])),
        "supports": _maybe(st.lists(st.sampled_from(TAGS), unique=True, max_size=4)),
        "pricing": _maybe(st.lists(pricing_rows(malformed), max_size=2)),
        # what an entry carries under a derived name is replaced by the derived value
        "unit_price": st.sampled_from([ABSENT, ABSENT, ABSENT, 0, "cheap"]),
    }
    for key, strategy in fields.items():
        value = draw(strategy)
        if value is not ABSENT:
            entry[key] = value
    return entry


@st.composite
def catalogs(draw, min_size=0, max_size=12, malformed=False):
    """Lists of entries; with ``malformed``, some carry a pricing row the schema rejects."""
    names = draw(
        st.lists(st.sampled_from(NAMES), unique=True, min_size=min_size, max_size=max_size)
    )
    return [draw(entries(name, malformed)) for name in names]


# --- policies ---------------------------------------------------------------

number_literals = st.sampled_from(NUMBERS).map(s.Number)


def _literal_zero(node) -> bool:
    """A divisor the checker refuses (``/ 0``, ``/ -0``); a field that is 0 still divides."""
    while isinstance(node, s.Negative):
        node = node.operand
    return isinstance(node, s.Number) and node.value == 0


string_literals = st.sampled_from(STRINGS).map(s.String)

numeric = st.recursive(
    st.one_of(number_literals, st.sampled_from(NUMBER_FIELDS).map(s.Field)),
    lambda inner: st.one_of(
        inner.map(s.Negative),
        st.builds(s.Arithmetic, st.sampled_from("+-*/"), inner, inner).filter(
            lambda node: not (node.op == "/" and _literal_zero(node.right))
        ),
    ),
    max_leaves=4,
)
textual = st.one_of(st.sampled_from(STRING_FIELDS).map(s.Field), string_literals)


def _in(operand, values):
    return st.builds(s.In, operand, st.lists(values, max_size=3).map(tuple), st.booleans())


atoms = st.one_of(
    st.sampled_from([*TAGS, "reasoning"]).map(s.Supports),
    st.sampled_from(NUMBER_FIELDS + STRING_FIELDS + ["supports"]).map(s.Has),
    st.just(s.Field("healthy")),
    st.booleans().map(s.Bool),
    # a comparison must read the entry (a constant one is a compile error)
    st.builds(
        s.Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), numeric, numeric
    ).filter(s.fields_used),
    st.builds(s.Compare, st.sampled_from(["==", "!="]), textual, textual).filter(s.fields_used),
    st.builds(
        s.Compare,
        st.sampled_from(["==", "!="]),
        st.just(s.Field("healthy")),
        st.booleans().map(s.Bool),
    ),
    _in(st.sampled_from(NUMBER_FIELDS).map(s.Field), number_literals),
    _in(st.sampled_from(STRING_FIELDS).map(s.Field), string_literals),
    st.builds(
        s.Matches,
        st.sampled_from(STRING_FIELDS).map(s.Field),
        st.sampled_from(["*", "qwen*", "?-*", "m1*", "*b*", "text", "M?"]).map(s.String),
    ),
)

conditions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        inner.map(s.Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: s.And(tuple(ops))),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: s.Or(tuple(ops))),
    ),
    max_leaves=6,
)

order_keys = st.one_of(
    st.builds(s.OrderKey, numeric, st.booleans()),
    st.builds(s.OrderKey, st.sampled_from(STRING_FIELDS).map(s.Field), st.booleans()),
    st.builds(s.OrderKey, atoms, st.booleans()),
)

# A ranking key must read the entry (a constant key is a compile error).
order_keys = order_keys.filter(lambda key: s.fields_used(key.expr))

policies = st.builds(s.Policy, conditions, st.lists(order_keys, max_size=3).map(tuple))


# --- the reference interpreter ------------------------------------------------


def _row_is_valid(row) -> bool:
    """A pricing row as the catalog schema (and finiteness) accepts it."""
    if not isinstance(row, dict):
        return False
    for key in ("unit_price_usd", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
        number = row.get(key)
        if number is None:
            continue
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return False
        if not (0 <= number <= 1e12):  # false for NaN too
            return False
    for key in ("billing_unit", "currency", "resolution_tier", "quality_tier", "effective_at"):
        text = row.get(key)
        if text is not None and not isinstance(text, str):
            return False
    unit = row.get("billing_unit")
    return unit is None or unit.strip() != ""


def reference_valid(entry) -> bool:
    """Whether a generated entry survives validation (only its pricing rows can be bad)."""
    return all(_row_is_valid(row) for row in entry.get("pricing") or [])


def _usd_rows(entry):
    for row in entry.get("pricing") or []:
        currency = row.get("currency")
        if currency is None or currency.encode().upper() == b"USD":
            yield row


def _unit_row(entry):
    """(price, unit) of the cheapest USD row with both; equal prices: the smaller unit."""
    best = None
    for row in _usd_rows(entry):
        price, unit = row.get("unit_price_usd"), row.get("billing_unit")
        if price is None or unit is None:
            continue
        if best is None or price < best[0] or (price == best[0] and unit < best[1]):
            best = (price, unit)
    return best


def _raw(entry, name):
    """A field as the language sees it, derived fields recomputed from the raw entry."""
    if name == "healthy":
        return entry.get("health_status") == "healthy"
    if name in ("unit_price", "billing_unit"):
        best = _unit_row(entry)
        return None if best is None else best[0 if name == "unit_price" else 1]
    if name == "cached_input_per_mtok":
        cached = [
            row["cached_input_per_mtok"]
            for row in _usd_rows(entry)
            if row.get("cached_input_per_mtok") is not None
        ]
        return min(cached) if cached else None
    if name == "endpoint":
        category = entry.get("category")
        if category == "audio":
            tags = entry.get("supports") or []
            transcribes = "audio_transcription" in tags
            return "/v1/audio/transcriptions" if transcribes else "/v1/audio/speech"
        return ENDPOINTS.get(category)
    return entry.get(name)


def value(node, entry):
    """The value of an expression, or None when missing."""
    if isinstance(node, (s.Number, s.String, s.Bool)):
        return node.value
    if isinstance(node, s.Field):
        return _raw(entry, node.name)
    if isinstance(node, s.Negative):
        inner = value(node.operand, entry)
        return None if inner is None else -inner
    if isinstance(node, s.Arithmetic):
        left, right = value(node.left, entry), value(node.right, entry)
        if left is None or right is None:
            return None
        if node.op == "/":
            if right == 0:
                return None
            result = left / right
        elif node.op == "*":
            result = left * right
        elif node.op == "+":
            result = left + right
        else:
            result = left - right
        return None if isinstance(result, float) and math.isnan(result) else result
    return holds(node, entry)


def _glob(pattern: str, text: str) -> bool:
    """* and ? matching by Unicode case folding (both sides), written out as plain recursion."""
    pattern, text = pattern.casefold(), text.casefold()

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(text)
        if pattern[i] == "*":
            return match(i + 1, j) or (j < len(text) and match(i, j + 1))
        if j < len(text) and (pattern[i] == "?" or pattern[i] == text[j]):
            return match(i + 1, j + 1)
        return False

    return match(0, 0)


def holds(node, entry) -> bool:
    """Whether a condition holds for an entry (docs/language.md, rule by rule)."""
    if isinstance(node, s.Bool):
        return node.value
    if isinstance(node, s.Field):
        return bool(_raw(entry, node.name))
    if isinstance(node, s.Supports):
        return node.tag in (entry.get("supports") or [])
    if isinstance(node, s.Has):
        return _raw(entry, node.field) is not None
    if isinstance(node, s.Not):
        return not holds(node.operand, entry)
    if isinstance(node, s.And):
        return all(holds(op, entry) for op in node.operands)
    if isinstance(node, s.Or):
        return any(holds(op, entry) for op in node.operands)
    if isinstance(node, s.Compare):
        if node.op == "!=":
            return not holds(s.Compare("==", node.left, node.right), entry)
        left, right = value(node.left, entry), value(node.right, entry)
        if left is None or right is None:
            return False
        return {
            "==": left == right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]
    if isinstance(node, s.In):
        if node.negated:
            return not holds(s.In(node.operand, node.values, False), entry)
        found = value(node.operand, entry)
        return found is not None and any(found == v.value for v in node.values)
    if isinstance(node, s.Matches):
        found = value(node.operand, entry)
        return found is not None and _glob(node.pattern.value, found)
    raise TypeError(node)


def reference_rank(policy: s.Policy, catalog_entries):
    """Filter, then sort with missing keys last and model_name as the final tie-break."""
    passed = [e for e in catalog_entries if holds(policy.where, e)]

    def compare(a, b):
        for key in policy.order_by:
            va, vb = value(key.expr, a), value(key.expr, b)
            if va is None and vb is None:
                continue
            if va is None:
                return 1
            if vb is None:
                return -1
            if va != vb:
                smaller = -1 if va < vb else 1
                return -smaller if key.descending else smaller
        return (a["model_name"] > b["model_name"]) - (a["model_name"] < b["model_name"])

    return sorted(passed, key=functools.cmp_to_key(compare))


def reference_pick(policy: s.Policy, catalog_entries):
    ranked = reference_rank(policy, catalog_entries)
    return next((e["model_name"] for e in ranked if _raw(e, "endpoint") is not None), None)
