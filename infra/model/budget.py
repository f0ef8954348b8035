"""Monthly budgets of the platform model: amount, alerts and the month each budget starts.

Azure's rule for a budget's start date (azure-rest-api-specs, Microsoft.Consumption budgets,
`BudgetTimePeriod.startDate`): "The start date for the budget. It should be the first day of the
month ... Budget start date must be on or after June 1, 2017. Future start date should not be more
than twelve months. Past start date should be selected within the timegrain period." For a Monthly
budget that means the current month at the earliest. So a budget starts, when it is first
created, in the month of the date the program runs on (`as_of`), unless the project file names a
later month; afterwards the program leaves the start date alone (the component ignores changes to
it), so the same budget never changes because the calendar moved on.

`as_of` is an explicit input: today's date (UTC) for `pulumi up`, and for the offline plan the
date it is given (`--as-of`, `MLPLATFORM_AS_OF`), shown in the plan, so a plan is reproducible.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from infra.config.models import EnvironmentConfig, ProjectSettings

AS_OF_VARIABLE = "MLPLATFORM_AS_OF"
MAX_MONTHS_AHEAD = 12


class AsOfError(ValueError):
    """`MLPLATFORM_AS_OF` is not an ISO date."""


def as_of_date(environ: Mapping[str, str] = os.environ) -> date:
    """The date the program assumes it runs on: `MLPLATFORM_AS_OF` if set, else today (UTC)."""
    given = environ.get(AS_OF_VARIABLE, "").strip()
    if not given:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(given)
    except ValueError:
        raise AsOfError(f"{AS_OF_VARIABLE}={given!r} is not a date (YYYY-MM-DD)") from None


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


@dataclass(frozen=True)
class BudgetPlan:
    project: str
    amount: float
    thresholds: tuple[int, ...]  # percent of the amount, actual cost
    start_date: date  # on creation; the deployed budget keeps its own afterwards
    explicit_start: bool  # the project file names the start month
    recipients: tuple[str, ...]

    @property
    def start(self) -> str:
        return f"{self.start_date.isoformat()}T00:00:00Z"


def budget_plan(environment: EnvironmentConfig, project: ProjectSettings, as_of: date) -> BudgetPlan | None:
    budget = project.budget
    if budget is None:
        return None
    return BudgetPlan(
        project=project.name,
        amount=budget.monthly_amount,
        thresholds=tuple(budget.thresholds or environment.budgets.thresholds),
        start_date=budget.start_date or first_of_month(as_of),
        explicit_start=budget.start_date is not None,
        recipients=tuple(sorted({project.owner, *budget.contact_emails})),
    )


def start_problem(plan: BudgetPlan, as_of: date) -> str | None:
    """Why Azure would refuse to create the budget with this start date, if it would."""
    current = first_of_month(as_of)
    if plan.start_date < current:
        return (
            f"{plan.start_date.isoformat()} is before the current month ({current.isoformat()}, as of "
            f"{as_of.isoformat()}): Azure creates a monthly budget from the current month at the earliest. "
            "Remove start_date (a new budget then starts this month, and a budget that exists keeps its "
            "start date), or give a month from now on"
        )
    ahead = months_between(current, plan.start_date)
    if ahead > MAX_MONTHS_AHEAD:
        return (
            f"{plan.start_date.isoformat()} is {ahead} months ahead; Azure allows a start date at most "
            f"{MAX_MONTHS_AHEAD} months in the future"
        )
    return None
