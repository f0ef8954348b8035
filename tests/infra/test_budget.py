"""Monthly budgets: on each project's resource group, with config-driven amount, thresholds and start."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import Layout, load_platform, validate_all
from infra.plan.fake_ids import FAKE_SUBSCRIPTION
from infra.plan.offline import REPOSITORY
from infra.plan.runtime import Plan
from infra.plan.sections import plan_sections
from tests.infra.sandbox import Sandbox, example_environment, example_project

BUDGET = "azure-native:consumption:Budget"


def budget_of(plan: Plan, project: str) -> dict[str, Any]:
    return plan.get(BUDGET, f"{project}-budget").inputs


def thresholds(inputs: dict[str, Any]) -> list[int]:
    return sorted(n["threshold"] for n in inputs["notifications"].values())


def test_dev_budget_scope_amount_thresholds_and_recipients(dev_plan: Plan) -> None:
    inputs = budget_of(dev_plan, "nlp-research")
    assert inputs["scope"] == f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/rg-mlp-dev-nlp-research"
    assert inputs["budgetName"] == "budget-mlp-dev-nlp-research"
    assert (inputs["amount"], inputs["category"], inputs["timeGrain"]) == (4000, "Cost", "Monthly")
    assert thresholds(inputs) == [80, 100]  # the dev environment's defaults
    for notification in inputs["notifications"].values():
        assert notification["contactEmails"] == ["nlp-lead@contoso.com"]
        assert (notification["enabled"], notification["operator"], notification["thresholdType"]) == (
            True,
            "GreaterThanOrEqualTo",
            "Actual",
        )
    # From config, not the clock: the same inputs on every run.
    assert inputs["timePeriod"] == {"startDate": "2026-11-01T00:00:00Z"}
    group = dev_plan.get("azure-native:resources:ResourceGroup", "nlp-research-rg")
    assert group.urn in dev_plan.get(BUDGET, "nlp-research-budget").dependencies


def test_prod_override_of_the_amount_and_environment_thresholds(prod_plan: Plan) -> None:
    inputs = budget_of(prod_plan, "nlp-research")
    assert inputs["amount"] == 15000
    assert thresholds(inputs) == [50, 80, 100]


def test_projects_without_a_budget_get_none_and_are_listed(dev_plan: Plan) -> None:
    assert [r.name for r in dev_plan.by_type(BUDGET)] == ["nlp-research-budget"]
    sections = {s.title: list(s.lines) for s in plan_sections(load_platform(Layout(REPOSITORY), "dev"))}
    assert sections["Projects without a budget"] == ["vision-lab"]
    assert sections["Budgets"] == [
        "nlp-research: 4000 per month from 2026-11-01, alerts at 80%, 100% to nlp-lead@contoso.com"
    ]


def test_project_thresholds_start_date_and_contacts_override_the_environment(sandbox: Sandbox) -> None:
    vision = example_project("vision-lab")
    vision["budget"] = {
        "monthly_amount": 250.5,
        "thresholds": [90, 25],
        "start_date": "2027-02-01",
        "contact_emails": ["finance@contoso.com", "vision-lead@contoso.com"],
    }
    sandbox.project("vision-lab.yaml", vision)
    environment = example_environment("dev")
    environment["budgets"]["start_date"] = "2027-01-01"
    sandbox.stack("dev", environment)
    plan = sandbox.plan("dev")
    inputs = budget_of(plan, "vision-lab")
    assert inputs["amount"] == 250.5
    assert thresholds(inputs) == [25, 90]
    assert inputs["timePeriod"]["startDate"] == "2027-02-01T00:00:00Z"
    assert next(iter(inputs["notifications"].values()))["contactEmails"] == [
        "finance@contoso.com",
        "vision-lead@contoso.com",
    ]
    assert budget_of(plan, "nlp-research")["timePeriod"]["startDate"] == "2027-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("budget", "path", "fragment"),
    [
        (
            {"monthly_amount": 100, "start_date": "2027-02-15"},
            "budget.start_date",
            "not the first day of a month",
        ),
        ({"monthly_amount": 100, "thresholds": [10, 20, 30, 40, 50, 60]}, "budget.thresholds", "at most 5"),
        ({"monthly_amount": 100, "thresholds": [80, 80]}, "budget.thresholds", "twice"),
        ({"monthly_amount": 0}, "budget.monthly_amount", "greater than 0"),
        ({"monthly_amount": 10, "contact_emails": ["finance"]}, "budget.contact_emails", "email"),
    ],
    ids=["start-not-first-of-month", "too-many-thresholds", "repeated-threshold", "zero-amount", "bad-email"],
)
def test_budget_mistakes_name_file_and_field(
    sandbox: Sandbox, budget: dict[str, Any], path: str, fragment: str
) -> None:
    vision = example_project("vision-lab")
    vision["budget"] = budget
    sandbox.project("vision-lab.yaml", vision)
    found = [i for i in validate_all(Layout(sandbox.root)) if i.file == "stacks/projects/vision-lab.yaml"]
    assert [i.path for i in found] == [path]
    assert fragment in found[0].message
