"""Every input and option of every resource of both example stacks, against a reviewed copy.

The plan text (test_plan_text.py) shows the settings a reviewer reads first; this snapshot is the
rest of what `pulumi up` would send to Azure: each resource's full inputs, its resource options
(protect, delete_before_replace, ignore_changes, ...), its parent, dependencies and aliases, and
each component's registered outputs. A change to any of them, intended or not, shows as a line in
the pull request (AWS CDK's snapshot tests do the same for a synthesised template). After an
intended change, rewrite the copies with `make expected` and review the diff.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest

from infra.plan.offline import REPOSITORY
from infra.plan.runtime import Plan, RecordedResource

EXPECTED = REPOSITORY / "tests" / "infra" / "expected"


def _lines(value: Any, path: str) -> list[str]:
    """`path: value`, one line per leaf; lists stay on one line (their order is their content)."""
    if isinstance(value, dict) and value:
        return [line for key in sorted(value) for line in _lines(value[key], f"{path}.{key}")]
    return [f"{path}: {json.dumps(value, sort_keys=True)}"]


def _resource(resource: RecordedResource, outputs: dict[str, Any]) -> list[str]:
    # `version` is the provider package's (uv.lock), not a decision of the program
    options = {key: value for key, value in resource.options.items() if key != "version"}
    return [
        f"{resource.urn}",
        f"  physical name: {resource.physical_name}",
        f"  parent: {resource.parent}",
        *(f"  {line}" for line in _lines(resource.inputs, "inputs")),
        *(f"  {line}" for line in _lines(options, "options")),
        *(f"  depends on: {urn}" for urn in sorted(resource.dependencies)),
        *(f"  alias: {alias}" for alias in resource.aliases),
        *(
            f"  {line}"
            for line in (_lines(outputs[resource.urn], "outputs") if resource.urn in outputs else [])
        ),
    ]


def snapshot(plan: Plan) -> str:
    lines: list[str] = []
    for resource in sorted(plan.resources, key=lambda r: r.urn):
        lines += [*_resource(resource, plan.component_outputs), ""]
    return "\n".join([*lines, *_lines(plan.outputs, "outputs"), ""])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_input_and_option_is_the_reviewed_one(stack: str, request: pytest.FixtureRequest) -> None:
    text = snapshot(request.getfixturevalue(f"{stack}_plan"))
    expected_file = EXPECTED / f"resources-{stack}.txt"
    if request.config.getoption("--update-expected"):
        expected_file.write_text(text)
    changed = "".join(
        difflib.unified_diff(
            expected_file.read_text().splitlines(True), text.splitlines(True), str(expected_file), "now", n=1
        )
    )
    assert not changed, (
        f"what the plan sends to Azure changed; if intended, run `make expected` and review the diff:\n"
        f"{changed[:20000]}"
    )
