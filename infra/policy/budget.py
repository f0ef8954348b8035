"""Monthly budgets: what each project's budget is in one environment, from its file and the
environment's defaults. Nothing here reads the clock: a budget's time period comes from config, so
the program gives the same inputs on every run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from infra.config.models import EnvironmentConfig, ProjectSettings


@dataclass(frozen=True)
class BudgetPlan:
    project: str
    amount: float
    thresholds: tuple[int, ...]  # percent of the amount, actual cost
    start_date: date
    recipients: tuple[str, ...]

    @property
    def start(self) -> str:
        return f"{self.start_date.isoformat()}T00:00:00Z"


def budget_plan(environment: EnvironmentConfig, project: ProjectSettings) -> BudgetPlan | None:
    budget = project.budget
    if budget is None:
        return None
    return BudgetPlan(
        project=project.name,
        amount=budget.monthly_amount,
        thresholds=tuple(budget.thresholds or environment.budgets.thresholds),
        start_date=budget.start_date or environment.budgets.start_date,
        recipients=tuple(sorted({project.owner, *budget.contact_emails})),
    )


def budget_lines(environment: EnvironmentConfig, projects: Sequence[ProjectSettings]) -> list[str]:
    lines = []
    note = f" ({environment.budgets.currency_note})" if environment.budgets.currency_note else ""
    for project in projects:
        plan = budget_plan(environment, project)
        if plan is not None:
            lines.append(
                f"{plan.project}: {plan.amount:g} per month{note} from {plan.start_date.isoformat()}, "
                f"alerts at {', '.join(f'{t}%' for t in plan.thresholds)} to {', '.join(plan.recipients)}"
            )
    return lines or ["none"]


def unbudgeted(projects: Sequence[ProjectSettings]) -> list[str]:
    return [project.name for project in projects if project.budget is None]
