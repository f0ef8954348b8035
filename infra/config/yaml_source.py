"""Reading a YAML configuration file strictly: one clear problem per mistake, with its line.

PyYAML's loaders keep the last of two equal keys in a mapping without a word (a second
`clusters:` silently drops the first one's clusters), know no line once the data is built, and
end in tracebacks on files that are not UTF-8 or cannot be read. This reader walks the node tree
itself: it refuses duplicate keys with both lines, records the line of every key path (so a
problem found later, by validation, still names its line), and turns every read problem into a
ConfigIssue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.config.errors import ConfigIssue, dotted

# libyaml's parser where PyYAML was built with it: several times faster than the pure-Python one,
# which showed at hundreds of project files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Location = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    data: Any
    lines: dict[str, int] = field(default_factory=dict)  # dotted key path -> 1-based line

    def line_of(self, path: str) -> int:
        """The line of `path`, or of its nearest ancestor the file has (0: unknown)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return 0


class _Duplicate(Exception):
    def __init__(self, issue: ConfigIssue) -> None:
        self.issue = issue


def _walk(
    loader: Any, node: yaml.Node, location: Location, lines: dict[str, int], file: str, depth: int
) -> Any:
    if depth > 100:
        raise _Duplicate(
            ConfigIssue(file, dotted(location), "nested more than 100 levels deep (a recursive alias?)")
        )
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # `<<` merge keys, as the safe loader does
        result: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise _Duplicate(
                    ConfigIssue(file, dotted(location), "a mapping key must be a plain value", line)
                )
            if key in seen:
                raise _Duplicate(
                    ConfigIssue(
                        file,
                        dotted((*location, str(key))),
                        f"key {key!r} is given twice in one mapping (lines {seen[key]} and {line}); "
                        "YAML keeps only the last, so merge them into one",
                        line,
                    )
                )
            seen[key] = line
            path = (*location, str(key))
            lines.setdefault(dotted(path), line)
            result[key] = _walk(loader, value_node, path, lines, file, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            path = (*location, index)
            lines.setdefault(dotted(path), item.start_mark.line + 1)
            items.append(_walk(loader, item, path, lines, file, depth + 1))
        return items
    return loader.construct_object(node, deep=True)


def read_yaml(path: Path, file: str) -> tuple[YamlDocument | None, list[ConfigIssue]]:
    """The document in `path` (named `file` in messages), or the problems that stop reading it."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None, [ConfigIssue(file, "", "file not found")]
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        return None, [
            ConfigIssue(file, "", f"not UTF-8 text (byte {error.start + 1}); save it as UTF-8", line)
        ]
    except IsADirectoryError:
        return None, [ConfigIssue(file, "", "is a directory, not a file")]
    except OSError as error:
        return None, [ConfigIssue(file, "", f"cannot be read: {error.strerror or error}")]
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None), []
        lines: dict[str, int] = {}
        return YamlDocument(_walk(loader, node, (), lines, file, 0), lines), []
    except _Duplicate as duplicate:
        return None, [duplicate.issue]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        return None, [
            ConfigIssue(file, "", f"not valid YAML{where}: {problem}", mark.line + 1 if mark else 0)
        ]
    finally:
        loader.dispose()
