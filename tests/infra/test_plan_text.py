"""The plan text a reviewer reads, for both example stacks, against a reviewed copy.

Every line of it is a decision someone reads before `pulumi up`: who gets which role, which
exceptions are granted and why, which budgets and GPU capacity each project has. The expected files
are reviewed output, not the code's own tables: a change to them shows in the pull request.
After an intended change, rewrite them with `make expected` and review the diff.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.config.loader import Layout, load_platform
from infra.model import resolve
from infra.plan.fake_ids import FAKE_SUBSCRIPTION, FAKE_TENANT
from infra.plan.offline import REPOSITORY
from infra.plan.render import render_text
from infra.plan.runtime import Plan
from infra.plan.sections import plan_sections
from tests.infra.sandbox import AS_OF, Sandbox, example_environment, example_project

EXPECTED = REPOSITORY / "tests" / "infra" / "expected"


def _plan_text(stack: str, plan: Plan) -> str:
    platform = load_platform(Layout(REPOSITORY), stack, as_of=AS_OF)
    model = resolve(platform, subscription=FAKE_SUBSCRIPTION, tenant=FAKE_TENANT, as_of=AS_OF)
    return render_text(plan, plan_sections(model))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_plan_text_is_the_reviewed_one(stack: str, request: pytest.FixtureRequest) -> None:
    text = _plan_text(stack, request.getfixturevalue(f"{stack}_plan"))
    _compare(EXPECTED / f"plan-{stack}.txt", text, request)


def _compare(expected_file: Path, text: str, request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--update-expected"):
        expected_file.write_text(text)
    expected = expected_file.read_text()
    changed = "".join(
        difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(expected_file), "now")
    )
    assert not changed, (
        f"the plan text changed; if intended, run `make expected` and review the diff:\n{changed}"
    )


ADMINS = {"object_id": "11111111-aaaa-4bbb-8ccc-000000000001", "kind": "Group", "name": "sg-vision-admins"}


def _variant(sandbox: Sandbox) -> None:
    """What the example stacks leave out: granted and unused role exceptions, a budget with an
    explicit start and two recipients, a currency note, a person holding a role for two reasons."""
    environment = example_environment("dev")
    environment["budgets"]["currency_note"] = "amounts in EUR, the billing account's currency"
    environment["role_exceptions"] = [
        {
            "project": "vision-lab",
            "object_id": ADMINS["object_id"],
            "role": "Contributor",
            "reason": "vision admins run their own services (SEC-42)",
        },
        {
            "project": "nlp-research",
            "object_id": ADMINS["object_id"],
            "role": "Owner",
            "reason": "left over from a migration (SEC-7)",
        },
    ]
    sandbox.stack("dev", environment)
    vision = example_project("vision-lab")
    vision["access"]["extra_roles"] = {"Contributor": [ADMINS]}
    vision["access"]["readers"] = [*vision["access"].get("readers", []), ADMINS]
    # one principal in two lists that grant the same roles: one grant, both reasons
    deployer = {
        "object_id": "22222222-bbbb-4ccc-8ddd-000000000002",
        "kind": "ServicePrincipal",
        "name": "gh-vision",
    }
    vision["access"]["data_scientists"] = [*vision["access"]["data_scientists"], deployer]
    vision["access"]["ci_deployers"] = [deployer]
    # two clusters of one family in one project: one row naming both
    vision["clusters"]["t4-small"] = {
        "vm_size": "Standard_NC4as_T4_v3",
        "max_nodes": 1,
        "priority": "LowPriority",
    }
    sandbox.project("vision-lab.yaml", vision)
    nlp = example_project("nlp-research")
    nlp["budget"]["start_date"] = "2027-02-01"
    nlp["budget"]["contact_emails"] = ["nlp-lead@contoso.com", "finance@contoso.com"]
    sandbox.project("nlp-research.yaml", nlp)


def _bare(sandbox: Sandbox) -> None:
    """An environment with no GPU clusters, no budgets and no managed network (its workspaces reach
    a public registry over its public endpoint), and a project with no people."""
    environment = example_environment("dev")
    environment["network"]["isolation_mode"] = "Disabled"
    environment["registry"]["existing_public_network_access"] = True
    sandbox.stack("dev", environment)
    for name in ("nlp-research", "vision-lab", "maas-lab"):
        document = example_project(name)
        if name == "maas-lab":
            document.pop("access", None)
        document.pop("budget", None)
        document["clusters"] = {}
        for override in document.get("environments", {}).values():
            override.pop("clusters", None)
            override.pop("budget", None)
        sandbox.project(f"{name}.yaml", document)


@pytest.mark.parametrize("variant", [_variant, _bare], ids=["variant", "bare"])
def test_the_sections_of_other_stacks_are_the_reviewed_ones(
    variant: Callable[[Sandbox], None], sandbox: Sandbox, request: pytest.FixtureRequest
) -> None:
    variant(sandbox)
    text = "".join(
        f"{section.title}:\n" + "".join(f"  {line}\n" for line in section.lines)
        for section in plan_sections(sandbox.model("dev"))
    )
    _compare(EXPECTED / f"sections-dev-{variant.__name__.strip('_')}.txt", text, request)
