"""The guardrails as pulumi-policy policies: what `policy/__main__.py` registers for
`pulumi preview --policy-pack policy`, and what the offline runner calls on a plan.

Under the CLI a policy learns the stack from the resource's URN and reads that environment's
context (infra/guardrails/context.py) from the repository's stack and project files. Enforcement
levels: each policy is registered at its rule's default level. An environment's override of a
rule to `disabled` is applied inside the policy; a change between mandatory and advisory is
Pulumi's to apply, from `--policy-pack-config` (`python -m infra policy --stack ENV
--pack-config FILE` writes it from the stack file), because a policy cannot change its own level.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.config.errors import ConfigError
from infra.guardrails.context import GuardrailContext, load_context
from infra.guardrails.core import Level, PlannedResource, stack_of
from infra.guardrails.rules import RESOURCE_RULES, RULE_NAMES, STACK_RULES, ResourceRule, StackRule

PACK_NAME = "mlplatform-guardrails"


class Guardrails:
    """The contexts of the stacks a pack or a run meets, each read once, by stack."""

    def __init__(self, root: Path, contexts: Mapping[str, GuardrailContext] | None = None) -> None:
        self._root = root
        self._contexts: dict[str, GuardrailContext] = dict(contexts or {})

    def context(self, stack: str) -> GuardrailContext:
        if stack not in self._contexts:
            self._contexts[stack] = load_context(self._root, stack, RULE_NAMES)
        return self._contexts[stack]


def _level(level: Level) -> EnforcementLevel:
    return EnforcementLevel(level.value)


def _resource_policy(rule: ResourceRule, guardrails: Guardrails) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        try:
            context = guardrails.context(stack_of(args.urn))
        except ConfigError as error:
            report_violation(f"the environment's configuration cannot be read: {error}", args.urn)
            return
        if context.level(rule.name, rule.level)[0] is Level.DISABLED:
            return
        resource = PlannedResource(
            urn=args.urn,
            type=args.resource_type,
            name=args.name,
            props=args.props,
            protect=bool(args.opts.protect),
            parent=args.opts.parent or "",
        )
        for message in rule.check(resource, context):
            report_violation(message, args.urn)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=_level(rule.level),
    )


def planned(resource: PolicyResource) -> PlannedResource:
    parent = resource.parent.urn if resource.parent is not None else (resource.opts.parent or "")
    return PlannedResource(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        props=resource.props,
        protect=bool(resource.opts.protect),
        parent=parent,
        property_dependencies={
            key: [d.urn for d in deps] for key, deps in resource.property_dependencies.items()
        },
    )


def _stack_policy(rule: StackRule, guardrails: Guardrails) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [planned(resource) for resource in args.resources]
        stacks = {r.stack for r in resources if r.stack}
        if len(stacks) != 1:
            return  # an empty stack
        try:
            context = guardrails.context(stacks.pop())
        except ConfigError as error:
            report_violation(f"the environment's configuration cannot be read: {error}", None)
            return
        if context.level(rule.name, rule.level)[0] is Level.DISABLED:
            return
        for urn, message in rule.check(resources, context):
            report_violation(message, urn or None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=_level(rule.level),
    )


def policies(guardrails: Guardrails) -> list[Policy]:
    """Every rule as a policy, resource rules first, in the order of infra/guardrails/rules.py."""
    return [
        *(_resource_policy(rule, guardrails) for rule in RESOURCE_RULES),
        *(_stack_policy(rule, guardrails) for rule in STACK_RULES),
    ]


def pack_config(context: GuardrailContext) -> dict[str, Any]:
    """`--policy-pack-config` for the environment: the level of every overridden rule."""
    return {
        name: {"enforcementLevel": override.level} for name, override in sorted(context.overrides.items())
    }


def rules_by_name() -> dict[str, ResourceRule | StackRule]:
    found: dict[str, ResourceRule | StackRule] = {rule.name: rule for rule in RESOURCE_RULES}
    found.update({rule.name: rule for rule in STACK_RULES})
    return found
