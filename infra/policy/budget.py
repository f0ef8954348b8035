"""Budgets in the plan: each project's budget in one environment, and the projects without one.
The budgets themselves are decided by the platform model (infra/model/budget.py)."""

from __future__ import annotations

from infra.model import PlatformModel


def budget_lines(model: PlatformModel) -> list[str]:
    environment = model.environment
    lines = [
        f"dates as of {model.as_of.isoformat()} (a new budget starts in that month; a deployed budget "
        "keeps its start date)"
    ]
    note = f" ({environment.budgets.currency_note})" if environment.budgets.currency_note else ""
    for project in model.projects:
        plan = project.budget
        if plan is not None:
            lines.append(
                f"{plan.project}: {plan.amount:g} per month{note} from {plan.start_date.isoformat()}"
                f"{' (from the project file)' if plan.explicit_start else ''}, "
                f"alerts at {', '.join(f'{t}%' for t in plan.thresholds)} to {', '.join(plan.recipients)}"
            )
    return lines if len(lines) > 1 else [*lines, "none"]


def unbudgeted(model: PlatformModel) -> list[str]:
    return [project.name for project in model.projects if project.budget is None]
