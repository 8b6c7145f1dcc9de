"""A pick as shell variables and GitHub Actions outputs, quoted for hostile values.

A model name comes from a catalog, and a catalog is not trusted: it may hold
quotes, ``$(...)``, backticks, spaces, newlines or control characters. The
``env`` form is POSIX single-quoting (inside ``'...'`` nothing is special; a
quote is written ``'\\''``), so ``. model.env`` sets exactly the value and runs
nothing. The ``github`` form is what ``$GITHUB_OUTPUT`` reads: ``name=value``,
or ``name<<DELIMITER`` ... ``DELIMITER`` for a value with a line break, with a
random delimiter that the value does not contain.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Mapping

from ..errors import CatalogError, UsageError

#: The fields each pick exports, in order (env: POLICYENG_<FIELD>, github: <field>).
FIELDS = ("model_name", "endpoint", "url", "base_url", "catalog_sha256", "stale")

Values = list[tuple[str, str]]


def pick_values(selection) -> dict[str, str]:
    """The exported fields of a ``Selection``, as text."""
    return {
        "model_name": selection.model_name,
        "endpoint": selection.endpoint,
        "url": selection.url,
        "base_url": selection.base_url,
        "catalog_sha256": selection.catalog["sha256"],
        "stale": "true" if selection.catalog["stale"] else "false",
    }


def policy_prefix(name: str) -> str:
    """``support-chat`` -> ``SUPPORT_CHAT``: a policy name as part of a variable name."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def env_names(values: Mapping[str, str], policy: str | None = None) -> Values:
    """``POLICYENG_MODEL_NAME``, or with a policy ``POLICYENG_SUPPORT_CHAT_MODEL_NAME``.

    The ``POLICYENG_`` head comes first even with a policy, so that every name is
    a valid shell name (a policy may start with a digit) and ``env | grep
    ^POLICYENG_`` finds them all.
    """
    middle = f"{policy_prefix(policy)}_" if policy is not None else ""
    return [(f"POLICYENG_{middle}{field.upper()}", values[field]) for field in FIELDS]


def github_names(values: Mapping[str, str], policy: str | None = None) -> Values:
    """``model_name``, or with a policy ``support_chat_model_name``."""
    middle = f"{policy_prefix(policy).lower()}_" if policy is not None else ""
    return [(f"{middle}{field}", values[field]) for field in FIELDS]


def env_text(values: Iterable[tuple[str, str]]) -> str:
    """``NAME='value'`` lines that a POSIX shell can source (``set -a`` to export them)."""
    return "".join(f"{name}={sh_quote(_no_nul(name, value))}\n" for name, value in values)


def sh_quote(value: str) -> str:
    """Single-quote for sh: every character but ``'`` stands for itself inside quotes."""
    return "'" + value.replace("'", "'\\''") + "'"


def github_text(values: Iterable[tuple[str, str]]) -> str:
    """Lines for ``$GITHUB_OUTPUT``; a multi-line value gets the heredoc form."""
    lines = []
    for name, value in values:
        _no_nul(name, value)
        if "\n" in value or "\r" in value:
            delimiter = _delimiter(value)
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    return "".join(lines)


def _delimiter(value: str) -> str:
    while True:
        delimiter = f"POLICYENG_EOF_{secrets.token_hex(8)}"
        if delimiter not in value:
            return delimiter


def _no_nul(name: str, value: str) -> str:
    if "\0" in value:
        raise CatalogError(
            f"{name} holds a NUL character, which no shell variable can hold: {value!r}"
        )
    return value


def append_github_output(text: str, environ: Mapping[str, str] = os.environ) -> str:
    """Append ``text`` to the file ``$GITHUB_OUTPUT`` names; the path written."""
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        raise UsageError(
            "--format github appends to the file $GITHUB_OUTPUT names, and "
            "GITHUB_OUTPUT is not set (outside GitHub Actions, use --format env)"
        )
    try:
        with open(path, "a", encoding="utf-8", newline="") as out:
            out.write(text)
    except OSError as exc:
        raise UsageError(
            f"cannot append to $GITHUB_OUTPUT ({path}): {exc.strerror or exc}"
        ) from None
    return path
