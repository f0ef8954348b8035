"""Monthly budgets: on each project's resource group, with config-driven amount, thresholds and start."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from infra.config import ConfigError, Layout, validate_all
from infra.plan.fake_ids import FAKE_SUBSCRIPTION
from infra.plan.offline import REPOSITORY
from infra.plan.runtime import Plan
from infra.plan.sections import plan_sections
from tests.infra.sandbox import AS_OF, Sandbox, example_project, model_of

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
    # Created in the month of the date the program runs on (the tests' AS_OF), and never changed
    # afterwards: Azure refuses a start before the current month, so replaying it would fail.
    assert inputs["timePeriod"] == {"startDate": "2026-12-01T00:00:00Z"}
    assert dev_plan.get(BUDGET, "nlp-research-budget").options["ignore_changes"] == ["timePeriod.startDate"]
    group = dev_plan.get("azure-native:resources:ResourceGroup", "nlp-research-rg")
    assert group.urn in dev_plan.get(BUDGET, "nlp-research-budget").dependencies


def test_prod_override_of_the_amount_and_environment_thresholds(prod_plan: Plan) -> None:
    inputs = budget_of(prod_plan, "nlp-research")
    assert inputs["amount"] == 15000
    assert thresholds(inputs) == [50, 80, 100]


def test_projects_without_a_budget_get_none_and_are_listed(dev_plan: Plan) -> None:
    assert [r.name for r in dev_plan.by_type(BUDGET)] == ["maas-lab-budget", "nlp-research-budget"]
    sections = {s.title: list(s.lines) for s in plan_sections(model_of(REPOSITORY, "dev"))}
    assert sections["Projects without a budget"] == ["vision-lab"]
    assert sections["Budgets"] == [
        "dates as of 2026-12-01 (a new budget starts in that month; a deployed budget keeps its start date)",
        "maas-lab: 500 per month from 2026-12-01, alerts at 80%, 100% to genai-lead@contoso.com",
        "nlp-research: 4000 per month from 2026-12-01, alerts at 80%, 100% to nlp-lead@contoso.com",
    ]


@pytest.mark.parametrize(
    ("as_of", "start"),
    [(date(2026, 12, 31), "2026-12-01"), (date(2027, 1, 1), "2027-01-01"), (date(2028, 2, 29), "2028-02-01")],
)
def test_a_new_budget_starts_in_the_month_the_plan_is_made(sandbox: Sandbox, as_of: date, start: str) -> None:
    assert (
        budget_of(sandbox.plan("dev", as_of=as_of), "nlp-research")["timePeriod"]["startDate"]
        == f"{start}T00:00:00Z"
    )


@pytest.mark.cli
def test_the_date_is_an_input_of_the_cli_and_shown_in_the_plan() -> None:
    env = {**os.environ, "MLPLATFORM_AS_OF": "2027-03-15"}
    done = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--stack", "dev"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPOSITORY,
    )
    assert done.returncode == 0, done.stderr
    assert "dates as of 2027-03-15" in done.stdout and "from 2027-03-01" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--stack", "dev", "--as-of", "2027-04-02"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPOSITORY,
    )
    assert "dates as of 2027-04-02" in done.stdout and "start=2027-04-01" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--stack", "dev"],
        capture_output=True,
        text=True,
        env={**os.environ, "MLPLATFORM_AS_OF": "soon"},
        cwd=REPOSITORY,
    )
    assert bad.returncode == 2 and "MLPLATFORM_AS_OF='soon' is not a date" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_project_thresholds_start_date_and_contacts_override_the_environment(sandbox: Sandbox) -> None:
    vision = example_project("vision-lab")
    vision["budget"] = {
        "monthly_amount": 250.5,
        "thresholds": [90, 25],
        "start_date": "2027-02-01",
        "contact_emails": ["finance@contoso.com", "vision-lead@contoso.com"],
    }
    sandbox.project("vision-lab.yaml", vision)
    plan = sandbox.plan("dev")
    inputs = budget_of(plan, "vision-lab")
    assert inputs["amount"] == 250.5
    assert thresholds(inputs) == [25, 90]
    assert inputs["timePeriod"]["startDate"] == "2027-02-01T00:00:00Z"
    assert next(iter(inputs["notifications"].values()))["contactEmails"] == [
        "finance@contoso.com",
        "vision-lead@contoso.com",
    ]
    assert budget_of(plan, "nlp-research")["timePeriod"]["startDate"] == "2026-12-01T00:00:00Z"


@pytest.mark.parametrize(
    ("start", "fragment"),
    [
        ("2026-11-01", "is before the current month (2026-12-01, as of 2026-12-01)"),
        ("2027-12-01", "is 12 months ahead"),
        ("2028-01-01", "is 13 months ahead; Azure allows a start date at most 12 months in the future"),
    ],
)
def test_a_start_date_azure_would_refuse_names_file_and_field(
    sandbox: Sandbox, start: str, fragment: str
) -> None:
    nlp = example_project("nlp-research")
    nlp["environments"]["prod"]["budget"]["start_date"] = start
    sandbox.project("nlp-research.yaml", nlp)
    found = [i for i in validate_all(Layout(sandbox.root), as_of=AS_OF) if "start_date" in i.path]
    if "12 months ahead" in fragment and "13" not in fragment:
        assert found == []  # twelve months ahead is the last month Azure accepts
        return
    (issue,) = found
    assert (issue.file, issue.path) == (
        "stacks/projects/nlp-research.yaml",
        "environments.prod.budget.start_date",
    )
    assert issue.line > 0 and fragment in issue.message
    with pytest.raises(ConfigError):
        sandbox.plan("prod")


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
    found = [
        i
        for i in validate_all(Layout(sandbox.root), as_of=AS_OF)
        if i.file == "stacks/projects/vision-lab.yaml"
    ]
    assert [i.path for i in found] == [path]
    assert fragment in found[0].message


def test_a_start_in_the_current_month_is_accepted_and_the_refusal_says_what_to_do(sandbox: Sandbox) -> None:
    nlp = example_project("nlp-research")
    nlp["environments"]["prod"]["budget"]["start_date"] = "2026-12-01"  # the month of AS_OF
    sandbox.project("nlp-research.yaml", nlp)
    assert [i for i in validate_all(Layout(sandbox.root), as_of=AS_OF) if "start_date" in i.path] == []
    (issue,) = [
        i for i in validate_all(Layout(sandbox.root), as_of=date(2027, 1, 31)) if "start_date" in i.path
    ]
    assert issue.message.endswith(
        "2026-12-01 is before the current month (2027-01-01, as of 2027-01-31): Azure creates a monthly "
        "budget from the current month at the earliest. Remove start_date (a new budget then starts this "
        "month, and a budget that exists keeps its start date), or give a month from now on"
    )
