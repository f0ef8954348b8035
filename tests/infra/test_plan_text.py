"""The plan text a reviewer reads, for both example stacks, against a reviewed copy.

Every line of it is a decision someone reads before `pulumi up`: who gets which role, which
exceptions are granted and why, which budgets and GPU capacity each project has. The expected files
are reviewed output, not the code's own tables: a change to them shows in the pull request.
After an intended change, rewrite them with `pytest tests/infra/test_plan_text.py --update-expected`.
"""

from __future__ import annotations

import difflib

import pytest

from infra.config.loader import Layout, load_platform
from infra.model import resolve
from infra.plan.fake_ids import FAKE_SUBSCRIPTION, FAKE_TENANT
from infra.plan.offline import REPOSITORY
from infra.plan.render import render_text
from infra.plan.runtime import Plan
from infra.plan.sections import plan_sections
from tests.infra.sandbox import AS_OF

EXPECTED = REPOSITORY / "tests" / "infra" / "expected"


def _plan_text(stack: str, plan: Plan) -> str:
    platform = load_platform(Layout(REPOSITORY), stack, as_of=AS_OF)
    model = resolve(platform, subscription=FAKE_SUBSCRIPTION, tenant=FAKE_TENANT, as_of=AS_OF)
    return render_text(plan, plan_sections(model))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_plan_text_is_the_reviewed_one(stack: str, request: pytest.FixtureRequest) -> None:
    text = _plan_text(stack, request.getfixturevalue(f"{stack}_plan"))
    expected_file = EXPECTED / f"plan-{stack}.txt"
    if request.config.getoption("--update-expected"):
        expected_file.write_text(text)
    expected = expected_file.read_text()
    changed = "".join(
        difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(expected_file), "the plan")
    )
    assert not changed, f"the plan text changed; if intended, rerun with --update-expected:\n{changed}"
