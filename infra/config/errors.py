"""Configuration problems, collected across every file and reported together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails


@dataclass(frozen=True, order=True)
class ConfigIssue:
    file: str
    path: str
    message: str
    line: int = 0  # 1-based line in the file, 0 where it is not known

    def __str__(self) -> str:
        file = f"{self.file}:{self.line}" if self.line else self.file
        where = f"{file}: {self.path}" if self.path else file
        return f"{where}: {self.message}"

    def at_line(self, line: int) -> ConfigIssue:
        return self if self.line or not line else ConfigIssue(self.file, self.path, self.message, line)


class ConfigError(Exception):
    """Every problem found in the configuration; nothing is registered when this is raised."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = sorted(set(issues))
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.issues)
        lines = [f"{count} configuration problem{'s' if count != 1 else ''}:"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)


def dotted(location: Sequence[int | str]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts)


def _describe(error: dict[str, object]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; unknown keys are not allowed)"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"])
    for noise in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(noise)
    return message


def issue_from_error(
    item: ErrorDetails, file: str, document: object, prefix: Sequence[int | str] = ()
) -> ConfigIssue:
    return ConfigIssue(file, dotted([*prefix, *user_location(item["loc"], document)]), _describe(dict(item)))


def issues_from_validation(
    error: ValidationError, file: str, document: object, prefix: Sequence[int | str] = ()
) -> list[ConfigIssue]:
    return [issue_from_error(item, file, document, prefix) for item in error.errors()]


def user_location(location: Sequence[int | str], document: object) -> list[int | str]:
    """pydantic's error location as the user wrote it. pydantic inserts the names of the union
    members and validators it tried (`FQDN`, `function-after[...]`) between the keys; a part is
    the user's only if the document has it there, which no rule about capitals can tell (a
    cluster may be called `A100`, a quota family `StandardNCADSA100v4Family`)."""
    kept: list[int | str] = []
    node: object = document
    for part in location:
        child = _child(node, part)
        if child is not _MISSING:
            node = child
        elif isinstance(node, dict | list) and isinstance(part, str) and ("[" in part or part[:1].isupper()):
            continue  # a union member or validator pydantic names, not a key of the document
        else:
            node = None  # a missing key, or below a value: the user's path ends with it
        kept.append(part)
    return kept


_MISSING = object()


def _child(node: object, part: int | str) -> object:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING
