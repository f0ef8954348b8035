"""Violations a configuration can cause, built through the real program on sandbox files, and the
environment's enforcement overrides (`policy.overrides`, with a reason)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.cli import main
from infra.guardrails.core import Level
from tests.guardrails.helpers import keys, mandatory, sandbox_run
from tests.infra.sandbox import Sandbox, example_environment, example_project

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
PROJECT = "mlplatform:project:Project"


def _nlp(change: dict[str, Any]) -> dict[str, Any]:
    document = example_project("nlp-research")
    prod = copy.deepcopy(document["environments"]["prod"])
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(prod.get(key), dict):
            prod[key] = {**prod[key], **value}
        else:
            prod[key] = value
    document["environments"]["prod"] = prod
    return document


def _prod_cluster(**fields: Any) -> dict[str, Any]:
    document = example_project("nlp-research")
    document["environments"]["prod"]["clusters"]["a100"].update(fields)
    return document


def test_dev_without_its_overrides_fails_on_public_workspaces_and_an_unbudgeted_project(
    sandbox: Sandbox,
) -> None:
    environment = example_environment("dev")
    del environment["policy"]
    sandbox.stack("dev", environment)
    found = mandatory(sandbox_run(sandbox, "dev"))
    assert keys(found) == {
        ("ml-workspace-public-network", f"{WORKSPACE} maas-lab-workspace"),
        ("ml-workspace-public-network", f"{WORKSPACE} nlp-research-workspace"),
        ("ml-workspace-public-network", f"{WORKSPACE} vision-lab-workspace"),
        ("project-budget", f"{PROJECT} vision-lab"),
    }


def test_the_examples_overrides_make_those_advisory_with_their_reason(sandbox: Sandbox) -> None:
    found = [v for v in sandbox_run(sandbox, "dev") if v.rule == "ml-workspace-public-network"]
    assert len(found) == 3  # maas-lab, nlp-research, vision-lab
    assert {(v.level, v.reason) for v in found} == {
        (
            Level.ADVISORY,
            example_environment("dev")["policy"]["overrides"]["ml-workspace-public-network"]["reason"],
        )
    }
    assert mandatory(sandbox_run(sandbox, "dev")) == []


def test_a_disabled_rule_does_not_run_and_a_mandatory_override_tightens(sandbox: Sandbox) -> None:
    environment = example_environment("prod")
    environment["policy"] = {
        "overrides": {
            "gpu-cost-within-budget": {"level": "mandatory", "reason": "prod budgets are hard limits here"},
        }
    }
    sandbox.stack("prod", environment)
    assert {(v.rule, v.level) for v in sandbox_run(sandbox, "prod")} == {
        ("gpu-cost-within-budget", Level.MANDATORY)
    }
    environment["policy"]["overrides"]["gpu-cost-within-budget"]["level"] = "disabled"
    sandbox.stack("prod", environment)
    assert sandbox_run(sandbox, "prod") == []


def test_an_override_of_a_rule_that_does_not_exist_is_one_clear_error(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = example_environment("dev")
    environment["policy"]["overrides"]["no-such-rule"] = {
        "level": "disabled",
        "reason": "typo of a rule name",
    }
    sandbox.stack("dev", environment)
    assert main(["--root", str(sandbox.root), "policy", "--stack", "dev", "--as-of", "2026-12-01"]) == 2
    err = capsys.readouterr().err
    assert "stacks/Pulumi.dev.yaml" in err
    assert (
        "config.mlplatform:environment.policy.overrides.no-such-rule: no guardrail named 'no-such-rule'"
        in err
    )
    assert "Traceback" not in err


def test_an_override_needs_a_reason(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    environment = example_environment("dev")
    environment["policy"]["overrides"]["project-budget"]["reason"] = "because"
    sandbox.stack("dev", environment)
    assert main(["--root", str(sandbox.root), "policy", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "policy.overrides.project-budget.reason" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("document", "environment_policy", "rule"),
    [
        (_prod_cluster(idle_minutes=300), {}, "ml-compute-idle-time"),
        (_prod_cluster(idle_minutes=30), {"max_idle_minutes": 20}, "ml-compute-idle-time"),
        (_prod_cluster(min_nodes=1), {}, "ml-compute-scale-to-zero"),
        (None, {"allowed_vm_sizes": ["Standard_NC4as_T4_v3", "Standard_DS3_v2"]}, "ml-compute-vm-size"),
    ],
    ids=["idle-300", "limit-20", "min-nodes", "allowed-sizes"],
)
def test_a_cluster_setting_breaks_its_rule(
    sandbox: Sandbox, document: dict[str, Any] | None, environment_policy: dict[str, Any], rule: str
) -> None:
    if document is not None:
        sandbox.project("nlp-research.yaml", document)
    environment = example_environment("prod")
    environment["policy"] = environment_policy
    sandbox.stack("prod", environment)
    assert keys(mandatory(sandbox_run(sandbox, "prod"))) == {(rule, f"{COMPUTE} nlp-research-a100")}


def test_the_fixed_cluster_settings_clear_them(sandbox: Sandbox) -> None:
    sandbox.project("nlp-research.yaml", _prod_cluster(idle_minutes=60, min_nodes=0))
    assert mandatory(sandbox_run(sandbox, "prod")) == []


def test_customer_managed_keys_where_the_environment_requires_them(sandbox: Sandbox) -> None:
    environment = example_environment("prod")
    environment["policy"] = {"require_customer_managed_keys": True}
    sandbox.stack("prod", environment)
    assert keys(mandatory(sandbox_run(sandbox, "prod"))) == {
        ("ml-workspace-customer-managed-key", f"{WORKSPACE} nlp-research-workspace")
    }


def test_a_project_without_a_budget(sandbox: Sandbox) -> None:
    document = example_project("nlp-research")
    del document["budget"]
    del document["environments"]["prod"]["budget"]
    sandbox.project("nlp-research.yaml", document)
    assert keys(mandatory(sandbox_run(sandbox, "prod"))) == {("project-budget", f"{PROJECT} nlp-research")}


def test_worst_case_gpu_cost_against_the_budget_is_advisory(sandbox: Sandbox) -> None:
    (cost,) = sandbox_run(sandbox, "prod")
    assert (cost.rule, cost.level, cost.resource) == (
        "gpu-cost-within-budget",
        Level.ADVISORY,
        f"{PROJECT} nlp-research",
    )
    # 2 x NC96ads_A100_v4 + 4 x NC4as_T4_v3 + 2 x DS3_v2 (image builds), 730 h, at the table's prices.
    assert "26,791 a month" in cost.message and "over its budget of 15,000" in cost.message
    sandbox.project("nlp-research.yaml", _nlp({"budget": {"monthly_amount": 30000}}))
    assert sandbox_run(sandbox, "prod") == []
