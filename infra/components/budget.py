"""A project's monthly cost budget, on its resource group."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import consumption

from infra.model.budget import BudgetPlan


def monthly_budget(
    name: str, *, budget_name: str, scope: pulumi.Input[str], plan: BudgetPlan, parent: pulumi.Resource
) -> consumption.Budget:
    """Actual-cost alerts at each threshold to the project's owner and contacts. The start date is
    decided by the model for the budget's creation; afterwards the deployed budget keeps its own
    (Azure refuses a start date before the current month, so the creation date cannot be replayed
    later: infra/model/budget.py)."""
    return consumption.Budget(
        name,
        consumption.BudgetArgs(
            budget_name=budget_name,
            scope=scope,
            amount=plan.amount,
            category="Cost",
            time_grain="Monthly",
            time_period=consumption.BudgetTimePeriodArgs(start_date=plan.start),
            notifications={
                f"actual-{threshold}-percent": consumption.NotificationArgs(
                    enabled=True,
                    operator="GreaterThanOrEqualTo",
                    threshold=threshold,
                    threshold_type="Actual",
                    contact_emails=list(plan.recipients),
                )
                for threshold in plan.thresholds
            },
        ),
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["timePeriod.startDate"]),
    )
