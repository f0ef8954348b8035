"""Plans edited to break one rule, and the violations the pack finds on them."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from infra.guardrails.command import recorded
from infra.guardrails.context import GuardrailContext, load_context
from infra.guardrails.core import Level, PlannedResource, Violation
from infra.guardrails.rules import RULE_NAMES
from infra.guardrails.runner import evaluate
from infra.plan.offline import REPOSITORY
from tests.infra.sandbox import AS_OF, Sandbox


def run(resources: Iterable[PlannedResource], context: GuardrailContext) -> list[Violation]:
    return evaluate(list(resources), context, REPOSITORY)


def keys(violations: Iterable[Violation]) -> set[tuple[str, str]]:
    """(rule, `type name`) of each violation."""
    return {(v.rule, v.resource) for v in violations}


def find(resources: Sequence[PlannedResource], type_: str, name: str) -> PlannedResource:
    matches = [r for r in resources if r.type == type_ and r.name == name]
    assert len(matches) == 1, f"{len(matches)} {type_} {name}"
    return matches[0]


def edited(
    resources: Sequence[PlannedResource],
    type_: str,
    name: str,
    change: Callable[[dict[str, Any]], None],
    **fields: Any,
) -> list[PlannedResource]:
    """The plan with one resource's inputs changed by `change` (and its other fields replaced)."""
    target = find(resources, type_, name)
    props = copy.deepcopy(dict(target.props))
    change(props)
    replaced = dataclasses.replace(target, props=props, **fields)
    return [replaced if r is target else r for r in resources]


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node = props
        for part in head:
            node = node[part]
        node[last] = value

    return change


def deleter(path: str) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node = props
        for part in head:
            node = node[part]
        del node[last]

    return change


def new(violations: Iterable[Violation], baseline: Iterable[Violation]) -> set[tuple[str, str]]:
    return keys(violations) - keys(baseline)


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.level is Level.MANDATORY]


def sandbox_run(sandbox: Sandbox, stack: str) -> list[Violation]:
    """The pack on the real program's plan of a sandbox stack, with that sandbox's config."""
    context = load_context(sandbox.root, stack, RULE_NAMES, as_of=AS_OF)
    return evaluate(recorded(sandbox.plan(stack)), context, sandbox.root)
