"""Safe YAML loading that remembers the line of every key and item.

Only the YAML core schema is accepted (no Python object construction). The loader
returns plain data plus a map from each path (a tuple of keys and list indices) to
the 1-based line where that value starts, so every error can name its line.

A problem confined to one value (a duplicate key, a tag, a key that is not a name, an
integer of thousands of digits) can be collected instead of raised: the value is left
out and the rest is read, so that a spec's other problems are reported in the same pass.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path = tuple[str | int, ...]

# Bounds on what a spec may cost to read (docs/reliability.md): a spec is a page of settings.
MAX_BYTES = 1_000_000  # characters of text
MAX_VALUES = 100_000  # keys, items and scalars after aliases are expanded (a "billion laughs" stops here)
MAX_DEPTH = 64  # levels of nesting


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; `line` is 1-based (None if unknown)."""

    def __init__(self, message: str, line: int | None, path: tuple = (), left_out: bool = True):
        super().__init__(message)
        self.line = line
        self.path = path  # where in the document, when known
        self.left_out = left_out  # whether the value at `path` was left out (a duplicate key's first one stands)


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as `1e-3` (YAML 1.1 wants `1.0e-3`),
    and stops at the node that nests too deep, with its line, before Python's recursion
    limit would."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:  # the document's own node is at depth 1
                line = self.peek_event().start_mark.line + 1
                raise YamlSyntaxError(f"invalid YAML: nested more than {MAX_DEPTH} levels deep", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def load_with_lines(text: str, problems: list[YamlSyntaxError] | None = None) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text into (data, {path: line}).

    Given a `problems` list, a problem confined to one value is appended to it and the
    value is left out (a mapping goes without its key, a list holds None in its place);
    without one, the first such problem is raised. Text that does not parse, or that
    exceeds the limits on size, values or nesting, always raises YamlSyntaxError.
    """
    if len(text) > MAX_BYTES:
        raise YamlSyntaxError(f"the spec is {len(text):,} characters long; a spec may have at most {MAX_BYTES:,}", None)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except RecursionError:  # the composer stops at MAX_DEPTH first; this is a last resort
        raise YamlSyntaxError(f"invalid YAML: nested more than {MAX_DEPTH} levels deep", None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise YamlSyntaxError(f"invalid YAML: {problem}", line) from None
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a NUL byte, say): give its line, not its offset.
        line = text.count("\n", 0, exc.position) + 1
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise YamlSyntaxError(f"invalid YAML: the character {char} is not allowed in YAML", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid YAML: {exc}", None) from None
    if node is None:
        return None, {}
    lines: dict[Path, int] = {}
    reader = _Reader(text, problems)
    try:
        data = reader.convert(node, (), lines, ())
    except _LeftOut:  # the document itself was the problem
        data = None
    return data, lines


class _LeftOut(Exception):
    """A value left out after its problem was collected."""


class _Reader:
    """Turns composed nodes into plain data, counting the values, and collects (or raises)
    the problems of single values."""

    def __init__(self, text: str, problems: list[YamlSyntaxError] | None):
        self.text = text
        self.constructor = _Loader("")
        self.problems = problems
        self.count = 0

    def problem(self, message: str, node: yaml.Node, path: Path, left_out: bool = True) -> _LeftOut:
        """Raise the problem, or collect it and return the signal that leaves the value out."""
        error = YamlSyntaxError(message, node.start_mark.line + 1, path, left_out)
        if self.problems is None:
            raise error
        self.problems.append(error)
        return _LeftOut()

    def written(self, node: yaml.Node) -> str:
        """A node as the file writes it, shortened: what names a key that is no plain name."""
        source = " ".join(self.text[node.start_mark.index : node.end_mark.index].split())
        source = source or node.tag
        return source if len(source) <= 40 else source[:37] + "..."

    def scalar(self, node: yaml.Node, path: Path) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.problem(f"invalid YAML value: {exc.problem}", node, path) from None
        except ValueError as exc:  # an integer of thousands of digits, say
            message = "a number with too many digits" if "digits" in str(exc) else str(exc)
            raise self.problem(f"invalid YAML value: {message}", node, path) from None

    def convert(self, node: yaml.Node, path: Path, lines: dict[Path, int], above: tuple) -> Any:
        """Plain data of `node` at `path`; `above` the nodes it lies in."""
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_VALUES:
            raise YamlSyntaxError(f"the spec expands to more than {MAX_VALUES:,} values (aliases that repeat aliases?)", line)
        if len(path) > MAX_DEPTH:
            raise YamlSyntaxError(f"invalid YAML: nested more than {MAX_DEPTH} levels deep", line)
        lines[path] = line
        if any(node is a for a in above):
            raise self.problem("invalid YAML: an alias refers to a value that contains it", node, path)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise self.problem(f"invalid YAML value: tag {node.tag!r} is not allowed", node, path)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, lines, above)
        if isinstance(node, yaml.SequenceNode):
            out = []
            for i, item in enumerate(node.value):
                try:
                    out.append(self.convert(item, (*path, i), lines, (*above, node)))
                except _LeftOut:
                    out.append(None)  # keeps the indices of the items after it
            return out
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path, lines: dict[Path, int], above: tuple) -> dict:
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}  # key -> its line, also for a key whose value was left out
        self.constructor.flatten_mapping(node)
        for key_node, value_node in node.value:
            try:
                key = self.key(key_node, path)
            except _LeftOut:
                continue
            child = (*path, key)
            if key in seen:
                self.problem(f"duplicate key {key!r}, first at line {seen[key]}", key_node, child, left_out=False)
                continue  # the first one stands
            seen[key] = key_node.start_mark.line + 1
            try:
                out[key] = self.convert(value_node, child, lines, (*above, node))
            except _LeftOut:
                pass
            # A key's own line is more useful than its value's when the value is a block.
            lines[child] = key_node.start_mark.line + 1
        return out

    def key(self, node: yaml.Node, path: Path) -> str | int | float | bool:
        """A mapping's key; a key that is no name is named as the file writes it."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.problem("invalid YAML: a mapping key must be a scalar", node, (*path, self.written(node)))
        key = self.scalar(node, (*path, self.written(node)))
        if key is None:
            raise self.problem("a key is empty (null): every key must be a name", node, path)
        if not isinstance(key, (str, int, float, bool)):
            message = f"invalid YAML: a mapping key must be a name or a number, not a {type(key).__name__}"
            raise self.problem(message, node, (*path, self.written(node)))
        return key
