"""Safe YAML that remembers where every value sits, and refuses duplicate keys.

Plain PyYAML keeps the last of two equal keys silently and loses positions once
the data is built. A policy file needs both: a duplicate ``where`` must be an
error, and a mistake inside a policy must point at the file's line and column.
So the file is *composed* (nodes with marks, no objects built), and plain data
(dict, list, str, int, float, bool, None) is built here from the nodes, keeping
each node by its YAML path. No tag ever builds an object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import PolicyError, PolicyFileError, line_column
from ..text import has_lone_surrogate, visible

Path = tuple[str | int, ...]

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: Values a file may hold, each use of an alias counted again: aliases can make a
#: small file expand into a huge tree ("billion laughs").
MAX_NODES = 100_000
#: Bits a whole number may have: any larger is beyond a double (about 1.8e308), so it
#: could not be compared with a price or printed as one.
_WIDEST_INT = 1023


def format_path(path: Path) -> str:
    """``("policies", "chat", "order_by", 1)`` -> ``policies.chat.order_by[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass
class YamlDocument:
    """A YAML file as plain data, with the node of every value and key by path."""

    source: str
    text: str
    data: Any = None
    values: dict[Path, Any] = field(default_factory=dict)
    keys: dict[Path, Any] = field(default_factory=dict)

    def error(
        self, message: str, path: Path, *, kind: str, at_key: bool = False, hint: str | None = None
    ) -> PolicyError:
        """An error pointing at the value (or, with ``at_key``, the key) found at ``path``."""
        node = self.keys.get(path) if at_key else None
        if node is None:
            node = self.values.get(path)
        if node is None:
            return PolicyError(message, kind=kind, source=self.source, hint=hint)
        return self.error_at_node(message, node, kind=kind, hint=hint)

    def error_at_node(self, message: str, node, *, kind: str, hint: str | None = None):
        start, end = node.start_mark, node.end_mark
        length = end.index - start.index if end.line == start.line else 1
        if getattr(node, "style", None) in ("|", ">"):
            length = 1
        return PolicyError(
            message,
            kind=kind,
            text=self.text,
            line=start.line + 1,
            column=start.column + 1,
            length=length,
            source=self.source,
            hint=hint,
        )

    def line_of(self, path: Path, *, at_key: bool = True) -> int:
        """The 1-based line of a key (or value) in the file."""
        node = (self.keys.get(path) if at_key else None) or self.values[path]
        return node.start_mark.line + 1

    def column_of(self, path: Path, *, at_key: bool = True) -> int:
        node = (self.keys.get(path) if at_key else None) or self.values[path]
        return node.start_mark.column + 1

    def scalar_place(self, path: Path, offset: int) -> tuple[int, int]:
        """File line and column of character ``offset`` of the string scalar at ``path``.

        Exact for plain and quoted scalars (escapes included, as long as the escaped
        character is the one written) and for block scalars, whose content starts on
        the line after the ``|`` or ``>``; when the value cannot be lined up with the
        source, the scalar's own start is returned.
        """
        node = self.values[path]
        start, end = node.start_mark.index, node.end_mark.index
        style = node.style
        if style in ("|", ">"):
            newline = self.text.find("\n", start, end)
            raw_start = newline + 1 if newline >= 0 else end
        elif style in ("'", '"'):
            raw_start, end = start + 1, max(start + 1, end - 1)
        else:
            raw_start = start
        position = _align(node.value, self.text[raw_start:end], offset)
        if position is None:
            return node.start_mark.line + 1, node.start_mark.column + 1
        return line_column(self.text, raw_start + position)


def _align(value: str, raw: str, offset: int) -> int | None:
    """Index in ``raw`` (the scalar as written) of character ``offset`` of ``value``.

    Walks both strings together, skipping what YAML removed (indentation, line
    folds, quote doubling, backslashes); None when they cannot be lined up.
    """
    if not value:
        return 0
    past_end = offset >= len(value)
    target = len(value) - 1 if past_end else max(0, offset)
    j = 0
    for i, char in enumerate(value):
        while j < len(raw) and raw[j] != char:
            if raw[j] not in " \t\r\n\\'\"":
                return None
            j += 1
        if j >= len(raw):
            return None
        if i == target:
            return j + 1 if past_end else j
        j += 1
    return None


def load_yaml(text: str, source: str) -> YamlDocument:
    """Compose ``text`` safely and build plain data; every mistake is a ``PolicyError``.

    Several duplicate keys or forbidden tags are all reported at once (as a
    ``PolicyFileError``); a YAML syntax error stops at the first.
    """
    import yaml  # only policy files need YAML: imported late

    document = YamlDocument(source, text)
    try:
        root = _compose(yaml, text)
        if root is None:
            raise PolicyError(
                "the file is empty; expected `version: 1` and `policies:`",
                kind="yaml",
                source=source,
            )
        builder = _Builder(document)
        document.values[()] = root
        document.data = builder.build(root, ())
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, document) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}", kind="yaml", source=source) from None
    except RecursionError:
        raise PolicyError(
            "the file is nested too deeply to be a policy file", kind="limit", source=source
        ) from None
    if builder.errors:
        raise builder.errors[0] if len(builder.errors) == 1 else PolicyFileError(builder.errors)
    return document


def _compose(yaml, text: str):
    """The node tree, composed by libyaml when PyYAML has it (several times faster).

    libyaml's marks count characters as the pure loader's do, so lines and columns
    are the same; only its error messages are worded differently, so a file it
    refuses is composed again by the pure loader, whose wording the hints know.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except (yaml.YAMLError, UnicodeError):
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _short(tag: str) -> str:
    """``tag:yaml.org,2002:binary`` -> ``!!binary``, as it was written."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


def _yaml_error(exc, document: YamlDocument) -> PolicyError:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        message = f"{exc.problem} ({exc.context}"
        if exc.context_mark is not None and exc.context_mark.line != mark.line:
            message += f" at line {exc.context_mark.line + 1}"
        message += ")"
    if mark is None:
        return PolicyError(f"not valid YAML: {message}", kind="yaml", source=document.source)
    lines = document.text.split("\n")
    line = lines[mark.line] if mark.line < len(lines) else ""
    return PolicyError(
        f"not valid YAML: {message}",
        kind="yaml",
        text=document.text,
        line=mark.line + 1,
        column=mark.column + 1,
        source=document.source,
        hint=_yaml_hint(exc.problem or "", line, mark.column),
    )


#: PyYAML's words for a line indented wrongly (too far, not far enough, or a list item
#: where a key was expected).
_INDENTATION_PROBLEMS = (
    "expected <block end>",
    "mapping values are not allowed here",
    "could not find expected ':'",
    "did not find expected key",
    "did not find expected '-' indicator",
)


def _yaml_hint(problem: str, line: str, column: int) -> str | None:
    """Plain words for the YAML mistakes people make most: tabs and indentation."""
    if line[column : column + 1] == "\t" or "'\\t'" in problem:
        return "YAML indents with spaces, not tabs"
    if problem.startswith("mapping values are not allowed here") and ": " in line[:column]:
        return "a value that contains ': ' must be quoted: key: \"text: more text\""
    if problem.startswith(_INDENTATION_PROBLEMS):
        return "check the indentation of this line against the line above"
    return None


class _Builder:
    """Nodes -> plain data, recording each node's path; collects errors instead of raising."""

    def __init__(self, document: YamlDocument) -> None:
        import yaml

        self.yaml = yaml
        self.document = document
        self.errors: list[PolicyError] = []
        self.constructor = yaml.constructor.SafeConstructor()
        self.count = 0
        self.active: set[int] = set()

    def fail(self, message: str, node, kind: str, hint: str | None = None) -> None:
        self.errors.append(self.document.error_at_node(message, node, kind=kind, hint=hint))

    def build(self, node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self.fail(
                    f"the file holds more than {MAX_NODES:,} values (each use of an "
                    "alias counts again)",
                    node,
                    "limit",
                )
            return None
        if id(node) in self.active:
            self.fail("an alias refers to a value that contains it", node, "yaml")
            return None
        nodes = self.yaml.nodes
        expected = {
            nodes.MappingNode: "tag:yaml.org,2002:map",
            nodes.SequenceNode: "tag:yaml.org,2002:seq",
        }.get(type(node))
        if expected is not None and node.tag != expected:
            self.fail(
                f"YAML tag {_short(node.tag)} is not allowed in a policy file "
                "(only plain mappings and lists)",
                node,
                "yaml",
            )
            return None
        if isinstance(node, nodes.MappingNode):
            self.active.add(id(node))
            try:
                return self.mapping(node, path)
            finally:
                self.active.discard(id(node))
        if isinstance(node, nodes.SequenceNode):
            self.active.add(id(node))
            try:
                items = []
                for index, item in enumerate(node.value):
                    place = (*path, index)
                    self.document.values[place] = item
                    items.append(self.build(item, place))
                return items
            finally:
                self.active.discard(id(node))
        return self.scalar(node)

    def mapping(self, node, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, Any] = {}
        where = format_path(path)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self.fail(
                    "merge keys (<<) are not supported in a policy file; write the keys out",
                    key_node,
                    "yaml",
                )
                continue
            if not isinstance(key_node, self.yaml.nodes.ScalarNode):
                shape = "list" if isinstance(key_node, self.yaml.nodes.SequenceNode) else "mapping"
                self.fail(f"a key in {where} must be a plain name, not a {shape}", key_node, "yaml")
                continue
            key = key_node.value
            if key in first:
                self.fail(
                    f"duplicate key '{key}' in {where} (first at line "
                    f"{first[key].start_mark.line + 1})",
                    key_node,
                    "duplicate-key",
                )
                continue
            first[key] = key_node
            child = (*path, key)
            self.document.keys[child] = key_node
            self.document.values[child] = value_node
            result[key] = self.build(value_node, child)
        return result

    def scalar(self, node) -> Any:
        if has_lone_surrogate(node.value):  # "\ud800" in a quoted scalar: not text
            self.fail(
                f"{visible(node.value)} is not text (it holds a lone surrogate)", node, "yaml"
            )
            return None
        if node.tag == _TIMESTAMP_TAG:
            return node.value
        if node.tag not in _PLAIN_TAGS:
            self.fail(
                f"YAML tag {_short(node.tag)} is not allowed in a policy file "
                "(only plain text, numbers, true/false and null)",
                node,
                "yaml",
            )
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except self.yaml.YAMLError as exc:
            self.fail(f"not a valid {node.tag.rsplit(':', 1)[-1]}: {exc}", node, "yaml")
            return None
        except ValueError:  # int() refuses more than 4,300 digits
            value = float("inf")
        return self.number(value, node)

    def number(self, value: Any, node) -> Any:
        """A number a policy file can use: finite, and within what a double holds.

        ``.nan`` is no bound (every comparison with it is false, so a limit of NaN
        lets everything pass) and ``.inf`` no count or price; refused wherever
        they are written, with the place.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        if isinstance(value, int) and value.bit_length() <= _WIDEST_INT:
            return value
        if isinstance(value, float) and math.isfinite(value):
            return value
        if value != value:
            self.fail(
                "`.nan` (not a number) is not a value a policy file accepts; write a number",
                node,
                "schema",
            )
        else:
            self.fail(
                f"{visible(node.value[:20])}{'...' if len(node.value) > 20 else ''} "
                "is too large: numbers are finite and at most about 1.8e308",
                node,
                "schema",
            )
        return None
