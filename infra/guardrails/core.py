"""What a rule sees and what it reports: a planned resource, enforcement levels, violations."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """Pulumi's enforcement levels: a mandatory violation stops the deployment, an advisory one is
    reported, a disabled rule does not run."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"
    DISABLED = "disabled"


# How a value unknown at plan time shows: the wire's unknown as the offline plan records it today,
# the marker the plan may use instead, and pulumi's text for an unresolved output.
_UNKNOWN_TEXTS = frozenset({"[computed]", "[unknown]", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"})
_OUTPUT_TEXT = re.compile(r"^output<[^>]*>$", re.IGNORECASE)


def is_unknown(value: Any) -> bool:
    """A value the plan cannot know yet (an id, a principal id): rules never judge it."""
    return isinstance(value, str) and (value in _UNKNOWN_TEXTS or bool(_OUTPUT_TEXT.match(value)))


def get(props: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a resource's inputs, None where a part is missing; an unknown
    object on the way is the value (unknown too), not a missing one."""
    node: Any = props
    for part in path.split("."):
        if is_unknown(node):
            return node
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


@dataclass(frozen=True)
class PlannedResource:
    """One planned resource as the rules see it, under the CLI and offline alike."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: str = ""
    # The URNs each input comes from (stack rules only: Pulumi gives resource rules none).
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    id: str = ""  # the ARM id where the plan knows it (offline: a fake id); Azure Policy's `id` field

    def get(self, path: str) -> Any:
        return get(self.props, path)

    @property
    def stack(self) -> str:
        return stack_of(self.urn)


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::...` -> stack."""
    parts = urn.split("::")
    head = parts[0].split(":")
    return head[2] if len(parts) > 1 and len(head) == 3 and head[:2] == ["urn", "pulumi"] else ""


@dataclass(frozen=True, order=True)
class Violation:
    """One rule broken by one resource (urn) or by the stack as a whole (urn empty)."""

    urn: str
    rule: str
    level: Level
    message: str
    fix: str
    reason: str = ""  # why the environment overrides the rule's level, when it does

    @property
    def resource(self) -> str:
        """`type name` of the resource, from its URN."""
        if not self.urn:
            return "(stack)"
        tail = self.urn.rsplit("::", 2)
        type_chain, name = (tail[-2], tail[-1]) if len(tail) >= 2 else ("", self.urn)
        return f"{type_chain.rsplit('$', 1)[-1]} {name}"
