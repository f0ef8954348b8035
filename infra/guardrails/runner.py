"""Running the guardrails offline: on the offline plan of a stack or on a saved plan JSON (`--json`
of `python -m infra plan`, possibly produced elsewhere), through the very policy objects the
pack registers, and reporting violations grouped by resource."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.guardrails.context import GuardrailContext
from infra.guardrails.core import Level, PlannedResource, Violation
from infra.guardrails.pack import Guardrails, policies, rules_by_name

# Exit code of a run with a mandatory violation or an Azure Policy Deny (2: bad configuration,
# 3: protected resources deleted).
POLICY_FAILED = 4


class PlanFileError(Exception):
    """A saved plan that cannot be read: one message, no traceback."""


@dataclass(frozen=True)
class SavedPlan:
    stack: str
    resources: tuple[PlannedResource, ...]


def _planned(entry: Mapping[str, Any]) -> PlannedResource:
    options = entry.get("options") or {}
    return PlannedResource(
        urn=str(entry["urn"]),
        type=str(entry["type"]),
        name=str(entry["name"]),
        props=entry.get("inputs") or {},
        protect=bool(options.get("protect")) if isinstance(options, Mapping) else False,
        parent=str(entry.get("parent") or ""),
        property_dependencies={
            str(k): [str(u) for u in v] for k, v in (entry.get("property_dependencies") or {}).items()
        },
        id=str(entry.get("id") or ""),
    )


def read_plan(path: Path) -> SavedPlan:
    """A plan JSON as `python -m infra plan --json` writes it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PlanFileError(f"{path}: cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise PlanFileError(f"{path}:{error.lineno}: not JSON ({error.msg})") from None
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        raise PlanFileError(f"{path}: not a plan (`python -m infra plan --json`): no `resources` list")
    if not isinstance(document.get("stack"), str) or not document["stack"]:
        raise PlanFileError(f"{path}: not a plan: no `stack`")
    resources = []
    for index, entry in enumerate(document["resources"]):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("urn", "type", "name")
        ):
            raise PlanFileError(f"{path}: resources[{index}] has no urn, type and name")
        if not isinstance(entry.get("inputs", {}), dict):
            raise PlanFileError(f"{path}: resources[{index}].inputs is not an object")
        resources.append(_planned(entry))
    return SavedPlan(document["stack"], tuple(resources))


def _policy_resources(resources: Sequence[PlannedResource]) -> list[PolicyResource]:
    """The plan as pulumi-policy hands a stack policy its resources: parents and dependencies linked."""
    made = {
        r.urn: PolicyResource(
            r.type,
            r.props,
            r.urn,
            r.name,
            _options(r),
            None,
            None,
            [],
            {k: [] for k in r.property_dependencies},
        )
        for r in resources
    }
    for r in resources:
        made[r.urn].parent = made.get(r.parent)
        for key, urns in r.property_dependencies.items():
            made[r.urn].property_dependencies[key] = [made[u] for u in urns if u in made]
    return list(made.values())


def _options(r: PlannedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(r.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent or None)


def _reporter(
    found: list[Violation], rule: str, level: Level, fix: str, reason: str
) -> Callable[[str, str | None], None]:
    def report(message: str, urn: str | None = None) -> None:
        found.append(Violation(urn or "", rule, level, message, fix, reason))

    return report


def evaluate(resources: Sequence[PlannedResource], context: GuardrailContext, root: Path) -> list[Violation]:
    """Every violation of the pack's policies on `resources`, at the environment's levels."""
    guardrails = Guardrails(root, {context.stack: context})
    rules = rules_by_name()
    found: list[Violation] = []

    for policy in policies(guardrails):
        rule = rules[policy.name]
        level, reason = context.level(rule.name, rule.level)
        if level is Level.DISABLED:
            continue
        report = _reporter(found, rule.name, level, rule.description, reason)
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(r.type, r.props, r.urn, r.name, _options(r), None)
                policy.validate(args, report)
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(_policy_resources(resources)), report)
    return sorted(set(found))


def render(violations: Iterable[Violation], context: GuardrailContext) -> list[str]:
    """Violations grouped by resource: rule, level, what is wrong and how to fix it."""
    items = list(violations)
    lines: list[str] = []
    by_resource: dict[str, list[Violation]] = {}
    for violation in items:
        by_resource.setdefault(violation.resource if violation.urn else "(stack)", []).append(violation)
    for resource, group in sorted(by_resource.items()):
        lines.append(resource)
        for v in group:
            lines.append(f"  [{v.level}] {v.rule}: {v.message}")
            lines.append(f"    fix: {v.fix}")
            if v.reason:
                lines.append(f"    level set by {context.environment_file}: {v.reason}")
    mandatory = sum(1 for v in items if v.level is Level.MANDATORY)
    summary = f"{mandatory} mandatory, {len(items) - mandatory} advisory violation(s)"
    overrides = [
        f"{name}: {o.level} in {context.stack} ({o.reason})" for name, o in sorted(context.overrides.items())
    ]
    return [summary, *lines, *(["overrides:", *(f"  {o}" for o in overrides)] if overrides else [])]


def failed(violations: Iterable[Violation]) -> bool:
    return any(v.level is Level.MANDATORY for v in violations)
