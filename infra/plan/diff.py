"""What changes between two states of one stack, step by step as Pulumi's engine would take them.

The base is an earlier offline plan, a plan of a git ref, or the real stack (`pulumi stack
export`); the head is the offline plan of this change. Each resource gets one step, with the ops
and property-diff kinds of Pulumi's engine (pulumi/pulumi `sdk/go/common/display/json.go`
`StepOp`, `sdk/go/common/resource/plugin/provider.go` `DiffKind`: add, add-replace, delete,
delete-replace, update, update-replace):

* `create`, `delete`, `same`;
* `update`: some input changed, none that forces a new resource;
* `replace`: an input in the provider's force-new table (`infra/plan/force_new.py`) or in the
  resource's own `replace_on_changes` changed.

Changes that `pulumi up` would refuse, or that Azure cannot make, are refusals: replacing or
deleting a `protect`ed resource (the engine refuses both), and a workspace managed network going
back to a less isolated mode (Microsoft Learn, "Workspace managed virtual network isolation",
learn.microsoft.com/azure/machine-learning/how-to-managed-network: once enabled it cannot be
disabled, and `AllowOnlyApprovedOutbound` cannot go back to `AllowInternetOutbound`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.plan import paths
from infra.plan.force_new import ForceNew, force_new_for, forces_replacement
from infra.plan.paths import MISSING
from infra.plan.runtime import SECRET
from infra.plan.states import Resource, State, StateError

ML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
# Managed network modes from least to most isolated; a workspace can only move up this list.
ISOLATION_ORDER = ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound")


class RefusedChangeError(Exception):
    """The change would replace or delete protected resources, or make a one-way change backwards."""


@dataclass(frozen=True)
class PropertyChange:
    path: str
    kind: str  # a Pulumi DiffKind: add, delete, update, each with "-replace" when it forces one
    old: Any
    new: Any
    computed: bool = False  # the new value is computed by a provider: unknown until `pulumi up`
    old_computed: bool = False  # the old value is an offline plan's placeholder for a computed one

    @property
    def replace(self) -> bool:
        return self.kind.endswith("-replace")


@dataclass(frozen=True)
class Step:
    op: str  # create, update, replace, delete, same
    urn: str
    type: str
    name: str
    old: Resource | None
    new: Resource | None
    changes: tuple[PropertyChange, ...] = ()

    @property
    def resource(self) -> Resource:
        resource = self.new or self.old
        assert resource is not None
        return resource

    @property
    def replace_reasons(self) -> tuple[str, ...]:
        return tuple(sorted({paths.top_key(c.path) for c in self.changes if c.replace}))

    @property
    def diff_reasons(self) -> tuple[str, ...]:
        return tuple(sorted({paths.top_key(c.path) for c in self.changes}))


@dataclass
class PlanDiff:
    stack: str
    base: str
    steps: list[Step] = field(default_factory=list)  # every resource of either side, same included
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def of(self, op: str) -> list[Step]:
        return [step for step in self.steps if step.op == op]

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.op != "same"]

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        ops = ("create", "update", "replace", "delete", "same")
        return {op: sum(1 for step in self.steps if step.op == op) for op in ops}


def _leaf_changes(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, old, new) for each leaf that differs; objects by key, arrays by index (as the engine's
    `ObjectDiff`/`ArrayDiff` compare them)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _leaf_changes(old.get(key, MISSING), new.get(key, MISSING), paths.join(path, str(key)))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from _leaf_changes(
                old[index] if index < len(old) else MISSING,
                new[index] if index < len(new) else MISSING,
                paths.join(path, index),
            )
    elif old != new and not _both_unreadable_secrets(old, new):
        yield path, old, new


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SECRET[:-1]) and value.endswith("]")


def _both_unreadable_secrets(old: Any, new: Any) -> bool:
    """Two secrets of which one has no fingerprint (a stack export's ciphertext is read as plain
    `[secret]`): their values cannot be compared offline, so no change is claimed."""
    return _is_secret(old) and _is_secret(new) and SECRET in (old, new)


def _replaces(resource: Resource, path: str, table_rule: ForceNew) -> bool:
    if forces_replacement(table_rule, path):
        return True
    return any(path == key or path.startswith((f"{key}.", f"{key}[")) for key in resource.replace_on_changes)


def _property_changes(
    old: Resource, new: Resource, rule: ForceNew, recreated: frozenset[str]
) -> tuple[PropertyChange, ...]:
    waits_on_new = any(dep in recreated for dep in new.dependencies)
    if not waits_on_new and old.inputs == new.inputs:
        return ()  # most resources of a plan: one comparison in C instead of a walk of every leaf
    computed, was_computed = set(new.computed), set(old.computed)
    changes = []
    for path, before, after in _leaf_changes(dict(old.inputs), dict(new.inputs)):
        is_computed = path in computed
        if is_computed and before is not MISSING and not waits_on_new:
            # a provider-computed value of a resource that stays: the same value it has now
            continue
        kind = "add" if before is MISSING else "delete" if after is MISSING else "update"
        if _replaces(new, path, rule):
            kind += "-replace"
        changes.append(PropertyChange(path, kind, before, after, is_computed, path in was_computed))
    if waits_on_new:
        # computed inputs whose placeholder did not change still change when what computes them is new
        seen = {change.path for change in changes}
        for path in sorted(computed - seen):
            kind = "update-replace" if _replaces(new, path, rule) else "update"
            before = paths.get(old.inputs, path)
            changes.append(PropertyChange(path, kind, before, MISSING, True, path in was_computed))
    return tuple(sorted(changes, key=lambda change: change.path))


def _isolation(inputs: Mapping[str, Any]) -> str:
    network = inputs.get("managedNetwork")
    mode = network.get("isolationMode") if isinstance(network, dict) else None
    return str(mode or "Disabled")


def _refusals(step: Step) -> list[str]:
    resource = step.resource
    label = f"{resource.type} {resource.name}"
    refusals = []
    if step.old is not None and step.old.protect and step.op in ("replace", "delete"):
        if step.op == "delete":
            refusals.append(f"{label} is protected and would be deleted")
        else:
            reasons = [c.path for c in step.changes if c.replace]
            verb = "forces" if len(reasons) == 1 else "force"
            refusals.append(
                f"{label} is protected and would be replaced: {', '.join(reasons)} {verb} a new resource"
            )
    if step.op == "update" and resource.type == ML_WORKSPACE and step.old is not None and step.new:
        before, after = _isolation(step.old.inputs), _isolation(step.new.inputs)
        known = before in ISOLATION_ORDER and after in ISOLATION_ORDER
        if known and ISOLATION_ORDER.index(after) < ISOLATION_ORDER.index(before):
            refusals.append(
                f"workspace {step.new.physical_name or resource.name} ({resource.name}): managed network "
                f"isolation cannot go from {before} back to {after}; Azure allows only "
                + " -> ".join(ISOLATION_ORDER)
                + " (learn.microsoft.com/azure/machine-learning/how-to-managed-network)"
            )
    return refusals


def _qualified(parent: str, type_: str) -> str:
    """The type part of a URN below `parent` (pkg/resource/urn.go NewURN: the parent's chain)."""
    if parent and parent.split("::")[2] != "pulumi:pulumi:Stack":
        return f"{parent.split('::')[2]}${type_}"
    return type_


def _former_urns(
    urn: str, resources: Mapping[str, Resource], seen: frozenset[str] = frozenset()
) -> list[str]:
    """The URNs `urn` may have had in the base: its aliases, and its own name below each former URN
    of its parent (the engine's alias inheritance: a renamed or retyped parent moves its children)."""
    resource = resources.get(urn)
    if resource is None or urn in seen:
        return []
    prefix = urn.split("::")[0] + "::" + urn.split("::")[1]
    former = []
    for text in resource.aliases:
        if text.startswith("urn:"):
            former.append(text)
            continue
        words = text.split()
        fields = dict(word.split("=", 1) for word in words if "=" in word)
        parent = "" if "noParent" in words else fields.get("parent", resource.parent)
        type_, name = fields.get("type", resource.type), fields.get("name", resource.name)
        former.append(f"{prefix}::{_qualified(parent, type_)}::{name}")
    for parent in _former_urns(resource.parent, resources, seen | {urn}):
        former.append(f"{prefix}::{_qualified(parent, resource.type)}::{resource.name}")
    return former


def diff_states(base: State, head: State) -> PlanDiff:
    """Every resource of base and head as one step; refusals and warnings collected."""
    if base.stack and head.stack and base.stack != head.stack:
        raise StateError(f"{base.source} is of stack {base.stack!r}, not {head.stack!r}")
    after = head.resources
    before = dict(base.resources)
    # a resource the program renamed or moved with an alias is the same resource, as for the engine
    for urn in sorted(set(after) - set(before)):
        former = next((old for old in _former_urns(urn, after) if old in before and old not in after), None)
        if former is not None:
            before[urn] = before.pop(former)
    result = PlanDiff(head.stack, base.source)
    unknown_types: set[str] = set()
    recreated: set[str] = {urn for urn in after if urn not in before}

    def step_of(urn: str) -> Step:
        old, new = before.get(urn), after.get(urn)
        if new is None:
            assert old is not None
            return Step("delete", urn, old.type, old.name, old, None)
        if old is None:
            return Step("create", urn, new.type, new.name, None, new)
        rule, known = force_new_for(new.type, tuple(new.inputs))
        if not known:
            unknown_types.add(new.type)
        changes = _property_changes(old, new, rule, frozenset(recreated))
        op = "replace" if any(c.replace for c in changes) else "update" if changes else "same"
        return Step(op, urn, new.type, new.name, old, new, changes)

    steps = {urn: step_of(urn) for urn in set(before) | set(after)}
    # a replacement gives what depends on it new computed values (a new identity's principal id):
    # recompute those, until no new replacement follows
    fresh = {urn for urn, step in steps.items() if step.op == "replace"}
    while fresh:
        recreated |= fresh
        again = [
            urn
            for urn, step in steps.items()
            if step.op in ("same", "update") and step.new and fresh.intersection(step.new.dependencies)
        ]
        for urn in again:
            steps[urn] = step_of(urn)
        fresh = {urn for urn in again if steps[urn].op == "replace"}
    result.steps = [steps[urn] for urn in sorted(steps)]
    for step in result.steps:
        result.refusals += _refusals(step)
    result.warnings += [
        f"{type_} is not in the force-new table (infra/plan/force_new.py): its names and location "
        "are assumed to force a replacement"
        for type_ in sorted(unknown_types)
    ]
    return result


def check_refusals(diff: PlanDiff) -> None:
    if not diff.refusals:
        return
    lines = "\n".join(f"  - {refusal}" for refusal in diff.refusals)
    raise RefusedChangeError(
        f"stack {diff.stack}: this change makes {len(diff.refusals)} change(s) that `pulumi up` would "
        f"refuse or Azure cannot make:\n{lines}"
        + (
            "\nProtected resources hold data: if one really has to go, back it up, unprotect it "
            "(`pulumi state unprotect <urn>`) and remove the environment's lock in a separate, reviewed change."
            if any("is protected" in refusal for refusal in diff.refusals)
            else ""
        )
    )
