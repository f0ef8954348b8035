"""`python -m infra policy` and the guardrail part of `python -m infra plan`: run the pack (and the
environment's Azure Policy definitions) on a plan, print what fails, and say how to exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from infra.guardrails.context import GuardrailContext, load_context
from infra.guardrails.core import PlannedResource
from infra.guardrails.pack import pack_config
from infra.guardrails.rules import RULE_NAMES, cost_lines
from infra.guardrails.runner import POLICY_FAILED, PlanFileError, evaluate, failed, read_plan, render


def _azure_policy(
    resources: Sequence[PlannedResource], context: GuardrailContext, root: Path, directory: str | None
) -> tuple[list[str], bool]:
    """The Azure Policy report lines, and whether a Deny matched."""
    chosen = directory or context.azure_policy_dir
    if not chosen:
        return [], False
    from infra.azure_policy.run import check_plan

    return check_plan(resources, root, Path(chosen), context.azure_policy_parameters)


def report(
    resources: Sequence[PlannedResource],
    context: GuardrailContext,
    root: Path,
    *,
    azure_policy_dir: str | None = None,
) -> int:
    """Print the guardrails' verdict on a plan; the exit code (POLICY_FAILED on a mandatory
    violation or an Azure Policy Deny)."""
    from infra.azure_policy.run import AzurePolicyError

    try:
        policy_lines, denied = _azure_policy(resources, context, root, azure_policy_dir)
    except AzurePolicyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    violations = evaluate(resources, context, root)
    lines = ["", f"Guardrails for stack {context.stack!r} (infra/guardrails):"]
    lines += [f"  {line}" for line in render(violations, context)]
    lines += [
        "",
        "Worst-case monthly cluster cost:",
        *(f"  {line}" for line in cost_lines(resources, context)),
    ]
    if policy_lines:
        lines += ["", "Azure Policy (infra/azure_policy):", *(f"  {line}" for line in policy_lines)]
    sys.stdout.write("\n".join(lines) + "\n")
    if failed(violations) or denied:
        print(
            "error: the plan breaks mandatory guardrails or Azure Policy Deny definitions (above)",
            file=sys.stderr,
        )
        return POLICY_FAILED
    return 0


def recorded(plan: object) -> list[PlannedResource]:
    """The resources of an offline plan (infra/plan/runtime.py `Plan`) as the rules see them."""
    from infra.plan.runtime import Plan

    assert isinstance(plan, Plan)
    return [
        PlannedResource(
            r.urn,
            r.type,
            r.name,
            r.inputs,
            bool(r.options.get("protect")),
            r.parent,
            r.property_dependencies,
            r.id,
        )
        for r in plan.resources
    ]


def check_recorded(plan: object, root: Path, *, as_of: date | None) -> int:
    """For `python -m infra plan`: the guardrails (and the environment's Azure Policy
    definitions) on the offline plan just computed."""
    stack = str(getattr(plan, "stack", ""))
    return report(recorded(plan), load_context(root, stack, RULE_NAMES, as_of=as_of), root)


def run(
    root: Path,
    *,
    stack: str | None,
    plan_file: str | None,
    azure_policy_dir: str | None,
    pack_config_file: str | None,
    as_of: date | None,
) -> int:
    """`python -m infra policy`: on the offline plan of `stack`, or on a saved plan."""
    if plan_file is not None:
        try:
            saved = read_plan(Path(plan_file))
        except PlanFileError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        stack, resources = saved.stack, list(saved.resources)
    else:
        from infra.plan.offline import plan_stack

        assert stack is not None
        resources = recorded(plan_stack(stack, root, as_of=as_of))
    context = load_context(root, stack, RULE_NAMES, as_of=as_of)
    if pack_config_file is not None:
        Path(pack_config_file).write_text(json.dumps(pack_config(context), indent=2, sort_keys=True) + "\n")
        print(
            f"Wrote {pack_config_file}: pass it to `pulumi preview --policy-pack policy --policy-pack-config`"
        )
    return report(resources, context, root, azure_policy_dir=azure_policy_dir)
