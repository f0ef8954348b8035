"""What changes between two plans of one stack: the preview a pull request shows without cloud
credentials (the plan of the base branch against the plan of the change)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.plan.runtime import Plan


class ProtectedDeletionError(Exception):
    """The change deletes resources that are protected: `pulumi up` would refuse, and rightly."""


@dataclass(frozen=True)
class Change:
    urn: str
    type: str
    name: str
    keys: tuple[str, ...] = ()
    replace: bool = False


@dataclass
class PlanDiff:
    created: list[Change] = field(default_factory=list)
    updated: list[Change] = field(default_factory=list)
    deleted: list[Change] = field(default_factory=list)
    protected_deletions: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.created or self.updated or self.deleted)


def _resources(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {resource["urn"]: resource for resource in document["resources"]}


def _changed_keys(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    keys = set(before) | set(after)
    return tuple(sorted(key for key in keys if before.get(key) != after.get(key)))


def _at(inputs: dict[str, Any], path: str) -> Any:
    node: Any = inputs
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _replacing(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether an input named in replace_on_changes changed (replace_on_changes holds input paths)."""
    triggers = after.get("options", {}).get("replace_on_changes", [])
    return any(_at(before["inputs"], path) != _at(after["inputs"], path) for path in triggers)


def diff_documents(base: dict[str, Any], head: dict[str, Any]) -> PlanDiff:
    before, after = _resources(base), _resources(head)
    result = PlanDiff()
    for urn in sorted(after.keys() - before.keys()):
        result.created.append(Change(urn, after[urn]["type"], after[urn]["name"]))
    for urn in sorted(before.keys() - after.keys()):
        change = Change(urn, before[urn]["type"], before[urn]["name"])
        result.deleted.append(change)
        if before[urn].get("options", {}).get("protect"):
            result.protected_deletions.append(change)
    for urn in sorted(before.keys() & after.keys()):
        old, new = before[urn], after[urn]
        keys = _changed_keys(old["inputs"], new["inputs"])
        option_keys = _changed_keys(old.get("options", {}), new.get("options", {}))
        if keys or option_keys:
            replace = _replacing(old, new)
            result.updated.append(
                Change(
                    urn, new["type"], new["name"], keys + tuple(f"option:{k}" for k in option_keys), replace
                )
            )
    return result


def diff_plans(base_file: Path, head: Plan) -> PlanDiff:
    from infra.plan.render import to_json

    base = json.loads(base_file.read_text())
    if base.get("stack") != head.stack:
        raise ValueError(f"{base_file} is a plan of stack {base.get('stack')!r}, not {head.stack!r}")
    return diff_documents(base, json.loads(to_json(head)))


def render_diff(diff: PlanDiff) -> list[str]:
    if diff.empty:
        return ["no changes"]
    lines = [
        f"{len(diff.created)} to create, {len(diff.updated)} to update "
        f"({sum(c.replace for c in diff.updated)} replacing), {len(diff.deleted)} to delete"
    ]
    for mark, changes in (("+", diff.created), ("~", diff.updated), ("-", diff.deleted)):
        for change in changes:
            detail = f"  [{', '.join(change.keys)}]" if change.keys else ""
            replace = " (replace)" if change.replace else ""
            lines.append(f"{mark} {change.type} {change.name}{replace}{detail}")
    return lines


def check_protected(diff: PlanDiff) -> None:
    if not diff.protected_deletions:
        return
    names = "\n".join(f"  - {c.type} {c.name}" for c in diff.protected_deletions)
    raise ProtectedDeletionError(
        f"this change deletes {len(diff.protected_deletions)} protected resource(s); `pulumi up` would "
        f"refuse, and their data would be lost:\n{names}\n"
        "If the project really leaves this environment, back up its data, then unprotect the resources "
        "(`pulumi state unprotect <urn>`) and remove the environment's lock in a separate, reviewed change."
    )
