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

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


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


def issue_from_error(item: ErrorDetails, file: str, prefix: Sequence[int | str] = ()) -> ConfigIssue:
    location = [*prefix, *(part for part in item["loc"] if not _is_union_tag(part))]
    return ConfigIssue(file, dotted(location), _describe(dict(item)))


def issues_from_validation(
    error: ValidationError, file: str, prefix: Sequence[int | str] = ()
) -> list[ConfigIssue]:
    return [issue_from_error(item, file, prefix) for item in error.errors()]


def _is_union_tag(part: int | str) -> bool:
    # pydantic names the union member it tried ("function-after[...]", "FqdnRule"); users never wrote those.
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)
