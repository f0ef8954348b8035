"""Property paths as Pulumi prints them (pulumi/pulumi `sdk/go/common/resource/property_path.go`):
dotted names, `[0]` for array elements, `["key"]` for keys that are not identifiers (tags such as
`cost-center`, ARM ids as map keys). One notation for the plan's `computed` paths and the diff's."""

from __future__ import annotations

import re
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    part = key if _IDENTIFIER.match(key) else '["' + key.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    if not prefix:
        return part
    return f"{prefix}{part}" if part.startswith("[") else f"{prefix}.{part}"


def parse(path: str) -> list[str | int]:
    """The keys and indexes of `path`; the inverse of `join`."""
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _PART.match(path, position)
        if match is None:
            raise ValueError(f"not a property path: {path!r}")
        name, index, quoted = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        else:
            parts.append(re.sub(r"\\(.)", r"\1", quoted))
        position = match.end()
    return parts


def top_key(path: str) -> str:
    first = parse(path)[0] if path else ""
    return str(first)


class _Missing:
    pass


MISSING: Any = _Missing()


def get(document: Any, path: str) -> Any:
    node = document
    for part in parse(path):
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else MISSING
        else:
            node = node.get(part, MISSING) if isinstance(node, dict) else MISSING
    return node


def replace(document: Any, path: str, value: Any) -> None:
    """Set the value at `path` in place, if the path exists."""
    parts = parse(path)
    parent = get(document, _prefix(parts)) if len(parts) > 1 else document
    last = parts[-1]
    if isinstance(last, int):
        if isinstance(parent, list) and last < len(parent):
            parent[last] = value
    elif isinstance(parent, dict) and last in parent:
        parent[last] = value


def _prefix(parts: list[str | int]) -> str:
    path = ""
    for part in parts[:-1]:
        path = join(path, part)
    return path
