"""`endpoints`: this project's online endpoints, their logs, a request, and deleting them.

A managed online deployment runs on VMs that bill for as long as they exist, serving or not
(Microsoft Learn, "View costs for an Azure Machine Learning managed online endpoint": deployments
use VMs, and even a failed one that got its compute incurs charges), so the listing shows what each one keeps running and a monthly cost estimate
from the platform's one price table, `infra/guardrails/prices.py`, whose figures are unverified
estimates while its `VERIFIED` is False: the listing says so and names the sizes it has no price
for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from infra.guardrails import prices
from infra.skus import find_sku
from jobs.deploy import name_problem
from jobs.errors import JobsError
from jobs.operations import follow, not_followed
from jobs.submit import azure_errors
from jobs.targets import Target

HOURS_PER_MONTH = 730  # 365 * 24 / 12: how Azure's pricing calculator counts a month


def _text(value: Any) -> str:
    """The SDK returns some states as enums, some as strings."""
    return str(getattr(value, "value", value) or "?")


def _checked(name: str) -> str:
    if problem := name_problem("endpoint", name):
        raise JobsError(problem)
    return name


def monthly_cost(instance_type: str, count: int) -> float | None:
    """`count` instances of `instance_type` for a month at the price table's hourly price; None
    when the table has no price for the size."""
    hourly = prices.hourly_price(instance_type)
    return None if hourly is None else count * HOURS_PER_MONTH * hourly


def _money(amount: float) -> str:
    return f"~{amount:,.0f} {prices.CURRENCY}/month"


def list_endpoints(target: Target, client: Any, out: TextIO) -> None:
    """One block per endpoint tagged with this project: state, auth, URI, then each deployment
    with its instance type and count, traffic share, state, instance-hours and estimated cost per
    month; then the totals and where the prices come from."""
    with azure_errors(target, "listing online endpoints"):
        endpoints = [
            e for e in client.online_endpoints.list() if (e.tags or {}).get("project") == target.project
        ]
        total_hours, total_cost, unpriced = 0, 0.0, set()
        for endpoint in sorted(endpoints, key=lambda e: e.name):
            traffic = dict(endpoint.traffic or {})
            out.write(
                f"{endpoint.name}  {_text(endpoint.provisioning_state)}  auth={endpoint.auth_mode}  "
                f"public={_text(endpoint.public_network_access)}  {endpoint.scoring_uri or ''}\n"
            )
            for deployment in sorted(client.online_deployments.list(endpoint.name), key=lambda d: d.name):
                count = int(deployment.instance_count or 0)
                sku = find_sku(deployment.instance_type or "")
                gpus = f" ({count * sku.gpus} x {sku.gpu_model})" if sku else ""
                hours = count * HOURS_PER_MONTH
                total_hours += hours
                cost = monthly_cost(str(deployment.instance_type or ""), count)
                if cost is None:
                    unpriced.add(str(deployment.instance_type))
                else:
                    total_cost += cost
                out.write(
                    f"  {deployment.name}  {traffic.get(deployment.name, 0)}%  {_text(deployment.provisioning_state)}  "
                    f"{count} x {deployment.instance_type}{gpus}  {hours} instance-hours/month  "
                    f"{_money(cost) if cost is not None else 'no price'}\n"
                )
    if not endpoints:
        out.write(f"no online endpoints of project {target.project}\n")
        return
    out.write(
        f"total: {total_hours} instance-hours/month, {_money(total_cost)}, billed whether or not requests "
        "arrive (delete idle endpoints: azml-jobs endpoints delete NAME)\n"
    )
    region = (
        ""
        if target.location.lower() == prices.REGION.lower()
        else f"; the table prices {prices.REGION}, these endpoints run in {target.location}"
    )
    out.write(f"cost: an estimate from infra/guardrails/prices.py, {prices.source_note()}{region}\n")
    if unpriced:
        out.write(
            f"no price in infra/guardrails/prices.py for {', '.join(sorted(unpriced))}: not in the estimate\n"
        )


def logs(target: Target, client: Any, out: TextIO, endpoint: str, deployment: str, lines: int) -> None:
    if problem := name_problem("deployment", deployment):
        raise JobsError(problem)
    if lines < 1:
        raise JobsError(f"--lines must be >= 1, not {lines}")
    with azure_errors(target, f"reading the logs of {endpoint}/{deployment}"):
        text = client.online_deployments.get_logs(deployment, _checked(endpoint), lines)
    out.write(str(text or "").rstrip() + "\n")


def invoke(
    target: Target, client: Any, out: TextIO, endpoint: str, request: Path, deployment: str | None
) -> None:
    """One scoring request: to the traffic map's choice, or to `deployment` alone."""
    from jobs.sdk_private import invoke_deployment

    try:
        json.loads(request.read_text())
    except (OSError, ValueError) as error:
        raise JobsError(f"--request {request}: not a readable JSON file: {error}") from error
    with azure_errors(target, f"invoking {endpoint}"):
        answer = invoke_deployment(client, _checked(endpoint), deployment, str(request))
    out.write(answer.rstrip() + "\n")


def delete(target: Target, client: Any, out: TextIO, endpoint: str, *, dry_run: bool, wait: bool) -> None:
    """Delete the endpoint and every deployment on it (the service deletes them with it); `wait`
    follows the deletion to its end, else the command returns once Azure accepted it."""
    name = _checked(endpoint)
    if dry_run:
        out.write(f"# DELETE .../onlineEndpoints/{name} (and its deployments)\n")
        return
    with azure_errors(target, f"deleting endpoint {name}"):
        found = client.online_endpoints.get(name)
        if (found.tags or {}).get("project") != target.project:
            raise JobsError(f"endpoint {name} is not tagged with project {target.project}: not deleting it")
        poller = client.online_endpoints.begin_delete(name=name)
    if not wait:
        listing = f"azml-jobs endpoints --stack {target.environment} --project {target.project}"
        out.write(not_followed(f"deleting endpoint {name} and its deployments", listing))
        return
    follow(poller, f"deleting endpoint {name}", out)
    out.write(f"deleted endpoint {name}\n")
