"""Reading the YAML of a rules file: syntax errors and repeated keys as problems, and the line
of any place in the file, so that every problem can point at the line to fix.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

from streams.rules.errors import Problem

Loc = tuple[int | str, ...]
"""A place in the file as a path of keys and list indexes, e.g. ("rules", 2, "when")."""


class _Loader(yaml.SafeLoader):
    """A safe YAML loader that records keys given twice (PyYAML silently keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[Problem] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    self.duplicates.append(
                        Problem(
                            f"line {line}",
                            f"key {key_node.value!r} is given twice (first on line "
                            f"{seen[key_node.value]}); only one may stay",
                            line,
                        )
                    )
                seen.setdefault(key_node.value, line)
        return super().construct_mapping(node, deep=deep)


def read_yaml(text: str) -> tuple[Any, yaml.Node | None, list[Problem]]:
    """``(data, root node, problems)``: root is None for an empty file or a syntax error."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        message = f"YAML syntax: {error.problem or error}"
        if error.context:
            message += f" ({error.context})"
        return None, None, [Problem(where, message, mark.line + 1 if mark else None)]
    except yaml.YAMLError as error:
        return None, None, [Problem("(yaml)", f"YAML syntax: {error}")]
    finally:
        loader.dispose()
    return data, root, list(loader.duplicates)


def line_of(root: yaml.Node, loc: Loc) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of the nearest enclosing one)."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    child = value_node if part != loc[-1] or _is_container(value_node) else key_node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _is_container(node: yaml.Node) -> bool:
    return isinstance(node, yaml.MappingNode | yaml.SequenceNode)


def line_of_place(place: str, root: yaml.Node) -> int | None:
    """The line of a place written as text, e.g. ``rules[2].when.segments[0]``."""
    loc: list[int | str] = []
    for token in place.replace("[", ".[").split("."):
        if token.startswith("["):
            loc.append(int(token[1:-1]))
        elif token:
            loc.append(token)
    return line_of(root, tuple(loc))
