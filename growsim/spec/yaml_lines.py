"""Safe YAML loading that remembers the line of every key and item.

Only the YAML core schema is accepted (no Python object construction). The loader
returns plain data plus a map from each path (a tuple of keys and list indices) to
the 1-based line where that value starts, so every error can name its line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as `1e-3` (YAML 1.1 wants `1.0e-3`)."""


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


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; `line` is 1-based (None if unknown)."""

    def __init__(self, message: str, line: int | None, path: tuple = ()):
        super().__init__(message)
        self.line = line
        self.path = path  # where in the document, when known (a duplicate key's own path)


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}

# Bounds on what a spec may cost to read (docs/reliability.md): a spec is a page of settings.
MAX_BYTES = 1_000_000  # characters of text
MAX_VALUES = 100_000  # keys, items and scalars after aliases are expanded (a "billion laughs" stops here)
MAX_DEPTH = 64  # levels of nesting


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text into (data, {path: line})."""
    if len(text) > MAX_BYTES:
        raise YamlSyntaxError(f"the spec is {len(text):,} characters long; a spec may have at most {MAX_BYTES:,}", None)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except RecursionError:
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
    constructor = _Loader("")
    data = _convert(node, (), lines, constructor, [0], ())
    return data, lines


def _scalar(node: yaml.Node, constructor) -> Any:
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise YamlSyntaxError(f"invalid YAML value: {exc.problem}", node.start_mark.line + 1) from None
    except ValueError as exc:  # an integer of thousands of digits, say
        message = "a number with too many digits" if "digits" in str(exc) else str(exc)
        raise YamlSyntaxError(f"invalid YAML value: {message}", node.start_mark.line + 1) from None


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int], constructor, count: list[int], above: tuple) -> Any:
    """Plain data of `node`; `count` the values made so far, `above` the nodes it lies in."""
    line = node.start_mark.line + 1
    count[0] += 1
    if count[0] > MAX_VALUES:
        raise YamlSyntaxError(f"the spec expands to more than {MAX_VALUES:,} values (aliases that repeat aliases?)", line)
    if len(path) > MAX_DEPTH:
        raise YamlSyntaxError(f"invalid YAML: nested more than {MAX_DEPTH} levels deep", line)
    if any(node is a for a in above):
        raise YamlSyntaxError("invalid YAML: an alias refers to a value that contains it", line)
    lines[path] = line
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        raise YamlSyntaxError(f"invalid YAML value: tag {node.tag!r} is not allowed", node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        constructor.flatten_mapping(node)
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError("invalid YAML: a mapping key must be a scalar", key_node.start_mark.line + 1)
            key = _scalar(key_node, constructor)
            if key is None:
                raise YamlSyntaxError(
                    "a key is empty (null): every key must be a name", key_node.start_mark.line + 1, path
                )
            if not isinstance(key, (str, int, float, bool)):
                raise YamlSyntaxError("invalid YAML: a mapping key must be a scalar", key_node.start_mark.line + 1)
            if key in out:
                raise YamlSyntaxError(
                    f"duplicate key {key!r}, first at line {lines[(*path, key)]}", key_node.start_mark.line + 1, (*path, key)
                )
            child = (*path, key)
            out[key] = _convert(value_node, child, lines, constructor, count, (*above, node))
            # A key's own line is more useful than its value's when the value is a block.
            lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, constructor, count, (*above, node)) for i, item in enumerate(node.value)]
    return _scalar(node, constructor)
