"""Everything policyeng raises on bad input, under one base class.

    Error
     +-- PolicyError        the policy text or a policy file is wrong      (exit 2)
     |    +-- NoMatch       a valid policy resolved to no model            (exit 1)
     |    +-- PolicyFileError  several mistakes in policy files, together (exit 2)
     +-- CatalogError       the catalog could not be had or is invalid     (exit 3)
     +-- UsageError         options that contradict each other             (exit 2)

    CatalogWarning          a catalog entry was skipped (a ``warnings`` category)

Each error carries the fields a person or a tool needs to fix it, and renders
them (file, line, column, the offending line and a caret) in ``str()``.
"""

from __future__ import annotations

from .text import shown_source, text_width, visible


class Error(Exception):
    """Base class of every error policyeng raises on bad input."""

    exit_code = 2


class PolicyError(Error):
    """A policy (text or file) is malformed, ill-typed or too large.

    ``kind`` names the problem for tools and tests: ``syntax``,
    ``unknown-field``, ``type``, ``limit``, ``live``, ``file``, ``no-match``;
    for policy files also ``yaml``, ``duplicate-key``, ``schema``, ``fallback``,
    ``duplicate-policy``, ``unknown-policy`` and ``lock``.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "syntax",
        text: str | None = None,
        line: int | None = None,
        column: int | None = None,
        length: int = 1,
        source: str = "<policy>",
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.text = text
        self.line = line
        self.column = column
        self.length = max(1, length)
        self.source = source
        self.hint = hint

    @classmethod
    def at(cls, message: str, text: str, offset: int, **kwargs) -> PolicyError:
        """Build an error from a character offset; line and column are derived here only."""
        line, column = line_column(text, max(0, min(offset, len(text))))
        return cls(message, text=text, line=line, column=column, **kwargs)

    def source_line(self) -> str | None:
        if self.text is None or self.line is None:
            return None
        lines = self.text.split("\n")
        return lines[self.line - 1] if self.line <= len(lines) else ""

    def placed(
        self, source: str, text: str, line: int, column: int, length: int | None = None
    ) -> PolicyError:
        """The same error shown at an exact place in another document (a policy file).

        The caller works out where the mistake sits in ``text``: quoted and block
        YAML scalars do not map onto the file column for column.
        """
        moved = type(self).__new__(type(self))
        moved.__dict__.update(self.__dict__)
        Exception.__init__(moved, self.message)
        moved.source, moved.text, moved.line, moved.column = source, text, line, column
        if length is not None:
            moved.length = max(1, length)
        return moved

    @property
    def location(self) -> str:
        """``file:line:col``, the file alone, or nothing for an error about no text."""
        if self.line is None:
            return "" if self.source == "<policy>" else self.source
        return f"{self.source}:{self.line}:{self.column}"

    def __str__(self) -> str:
        parts = [f"{self.location}: {self.message}" if self.location else self.message]
        line = self.source_line()
        if line is not None and self.column is not None:
            parts.extend(_caret_lines(line.expandtabs(1), self.column, self.length))
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


def line_column(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _caret_lines(line: str, column: int, length: int, width: int = 100) -> list[str]:
    """The offending line and a caret under the mistake, windowed if the line is long."""
    start = 0
    if len(line) > width:
        start = max(0, min(column - 1 - width // 2, len(line) - width))
    # Control characters are shown escaped, so the caret is placed by what is shown.
    shown = visible(line[start : start + width])
    prefix = "..." if start > 0 else ""
    suffix = "..." if start + width < len(line) else ""
    caret = max(1, min(length, len(line) - column + 1, width - (column - 1 - start)))
    # Wide characters (CJK, emoji) take two terminal cells: pad by cells, not characters.
    pad = " " * (len(prefix) + text_width(visible(line[start : column - 1])))
    marked = visible(line[column - 1 : column - 1 + caret])
    return [f"  {prefix}{shown}{suffix}", f"  {pad}{'^' * max(1, text_width(marked))}"]


class NoMatch(PolicyError):
    """A valid policy resolved to no model in this catalog."""

    exit_code = 1

    def __init__(self, message: str, *, funnel: list | None = None, **kwargs) -> None:
        kwargs.setdefault("kind", "no-match")
        super().__init__(message, **kwargs)
        self.funnel = funnel or []

    def __str__(self) -> str:
        return self.message


class PolicyFileError(PolicyError):
    """Several mistakes found while loading policy files, reported together.

    The first mistake gives ``line``/``column``/``source``; ``errors`` holds them all,
    so CI shows every problem of a change in one run.
    """

    def __init__(self, errors: list[PolicyError]) -> None:
        first = errors[0]
        super().__init__(
            first.message,
            kind=first.kind,
            text=first.text,
            line=first.line,
            column=first.column,
            length=first.length,
            source=first.source,
            hint=first.hint,
        )
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


class CatalogError(Error):
    """The catalog source is unreachable, unreadable or not a catalog."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        # What an error shows is printed, logged and reported: a URL's credentials
        # and query values are masked here, once, in the source and in the message
        # (an HTTP library's text may quote the URL it was given).
        shown = None if source is None else shown_source(source)
        if source and shown and shown != source:
            message = message.replace(source, shown)
        super().__init__(message)
        self.message = message
        self.source = shown
        self.hint = hint
        #: seconds the server asked us to wait (``Retry-After``), when it said
        self.retry_after = retry_after

    def __str__(self) -> str:
        text = f"catalog {self.source}: {self.message}" if self.source else self.message
        return f"{text}\nhint: {self.hint}" if self.hint else text


class UsageError(Error):
    """Options that cannot be honoured together (``--offline`` with ``--refresh``)."""


class CatalogWarning(UserWarning):
    """An entry of the catalog was skipped or a fallback source was used."""
