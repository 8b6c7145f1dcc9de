"""The fields of a catalog entry and their types: what a policy may say about a model.

The catalog derives some of them (``endpoint``, ``healthy``, ``live``) and the
language type-checks policies against all of them, so the table lives here,
below both, and neither needs the other.
"""

from __future__ import annotations

NUMBER, STRING, BOOLEAN, LIST = "number", "string", "boolean", "list"

#: Every field a policy can name, with its type. Those in ``DERIVED`` are
#: computed by the catalog loader; the rest come from the entry as it is.
FIELDS: dict[str, str] = {
    "model_name": STRING,
    "slug": STRING,
    "display_name": STRING,
    "description": STRING,
    "category": STRING,
    "provider": STRING,
    "health_status": STRING,
    "endpoint": STRING,
    "context_window": NUMBER,
    "max_output": NUMBER,
    "input_per_mtok": NUMBER,
    "output_per_mtok": NUMBER,
    "unit_price": NUMBER,
    "billing_unit": STRING,
    "cached_input_per_mtok": NUMBER,
    "healthy": BOOLEAN,
    "live": BOOLEAN,
    "supports": LIST,
    "pricing": LIST,
}

#: Fields the catalog loader computes (``catalog.model.derive``): whatever an
#: entry carries under these names is replaced, so a policy reads only values
#: whose type and meaning policyeng vouches for. ``unit_price``, ``billing_unit``
#: and ``cached_input_per_mtok`` come from the entry's ``pricing`` rows.
DERIVED = frozenset(
    {"endpoint", "healthy", "live", "unit_price", "billing_unit", "cached_input_per_mtok"}
)


def price_per_unit(price: float, unit: str | None) -> str:
    """``$0.003/image``, ``$0.0001 per second of audio``: a unit price as people read it.

    Written out in plain decimals (``$0.0000008``, not ``8e-07``): a price in
    scientific notation is easy to misread by a factor of ten.
    """
    from decimal import Decimal

    digits = format(Decimal(repr(price)), "f")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    if not unit:
        return f"${digits}"
    return f"${digits} per {unit}" if " " in unit else f"${digits}/{unit}"
