"""What a string looks like on a terminal: control characters made visible, and its width.

Catalog entries come from the network, and policy files and locks from pull
requests, so any string in them may carry what a terminal obeys instead of
showing: escape sequences (``ESC ] 0 ;`` sets the window title, ``ESC [ 2 J``
clears the screen), a carriage return that overwrites the line, bidirectional
overrides that make text read differently from what it is. Every
human-readable output passes such text through ``visible``, whether or not the
output is a terminal (a log or ``| less -R`` is a terminal later).

The escapes are JSON's (``\\n``, ``\\r``, ``\\t``, else ``\\u001b``), so the same
function also makes ``ensure_ascii=False`` JSON safe to print: every character
it rewrites can only sit inside a JSON string, where its escape means the same.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

#: What a terminal may act on rather than show: C0 controls, DEL, C1 controls, the
#: line and paragraph separators, bidirectional embeddings, overrides and isolates,
#: and lone surrogates (not text at all: they cannot even be encoded for output).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT.get(char) or f"\\u{ord(char):04x}"


def visible(text: str, keep: str = "") -> str:
    """``text`` with every unsafe character written as its escape (``ESC`` -> ``\\u001b``).

    ``keep`` names the characters the output's own format needs raw (``"\\n"``
    between the lines of a message); everything else unsafe is escaped,
    including a newline inside a value, which would otherwise fake a new line.
    """
    if not UNSAFE.search(text):
        return text
    if not keep:
        return UNSAFE.sub(_escape, text)
    return UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)


def visible_values(data: Any) -> Any:
    """A copy of plain data (dicts, lists, strings) with every string made ``visible``.

    For renderers that build lines from a report's values in many places: escaping
    the report once, up front, leaves no value to forget.
    """
    if isinstance(data, str):
        return visible(data)
    if isinstance(data, dict):
        return {key: visible_values(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [visible_values(value) for value in data]
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds half of a UTF-16 pair: not text, and no encoding can write it."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def text_width(text: str) -> int:
    """Columns a string takes on a terminal (wide East Asian characters count two)."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 model``, ``2 models``, ``1 policy``, ``3 policies``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def quoted(text: str, limit: int = 40) -> str:
    """``text`` quoted and escaped for a message, cut to its first ``limit`` characters.

    Errors name what the user gave (a policy name, a request field), and that may
    be 20,000 characters long: a message shows a prefix and the length, never the
    whole of it (``'xxxx'... (20,000 characters)``).
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def close_matches(word: str, known: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The known names closest to a misspelt one, best first: every "did you mean" asks here.

    0.6 is difflib's own default; short fixed vocabularies (keywords, ``builtin``)
    pass a higher cutoff so that unrelated short words are not offered.
    """
    import difflib  # only when wording an error

    return difflib.get_close_matches(word, list(known), n=n, cutoff=cutoff)


def did_you_mean(word: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    """``; did you mean 'x'?`` for the closest known name, or nothing."""
    close = close_matches(word, known, cutoff=cutoff)
    return f"; did you mean {close[0]!r}?" if close else ""


def is_terminal(stream: Any) -> bool:
    """Whether a stream is a terminal (a stream without ``isatty`` is not)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


#: Shown instead of a URL's user:password and of each query parameter's value.
MASK = "***"


def shown_source(source: str) -> str:
    """A catalog source as every output shows it and a lock records it: no secrets.

    A URL may carry credentials (``https://user:password@host/...``) or a token
    in its query (``?token=...``), and sources end up in committed lock files,
    CI logs and reports. The user:password part becomes ``***`` and each query
    parameter keeps its name but not its value (``?token=***``); a fragment,
    never sent anyway, is dropped. Anything else (``builtin``, a path) is shown
    as it is. Only what is shown changes: fetching and the cache use the source
    as given. Applying it twice gives the same text, so a shown form can be
    passed on (to an error, a Catalog) safely. Plain string work, not
    ``urlsplit``: a malformed URL must be masked too, not raise.
    """
    scheme, sep, rest = source.partition("://")
    if not sep:
        return source
    authority_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    path, question, query = tail.partition("#")[0].partition("?")
    if question:
        query = "&".join(_masked_parameter(p) for p in query.split("&"))
    return f"{scheme}://{authority}{path}{question}{query}"


def _masked_parameter(parameter: str) -> str:
    name, equals, value = parameter.partition("=")
    return f"{name}={MASK}" if equals and value else parameter
