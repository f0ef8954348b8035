"""The metrics a job logged, for `register`'s lineage tags.

Azure ML jobs log metrics to MLflow, and the workspace is an MLflow tracking server: the SDK v2
has no API for logged metrics; Microsoft points to MLflow, including its REST API (Learn, "Query &
compare experiments and runs with MLflow"). This reads that REST API directly, so the jobs layer
needs no MLflow client:

- the tracking URI is the workspace's `mlflow_tracking_uri` (azure-ai-ml `workspaces.get`), e.g.
  `azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/.../workspaces/<ws>`; with the
  scheme replaced by `https` it is the base of MLflow's `/api/2.0/mlflow/...` routes, called with
  an Azure Resource Manager token (Azure/azureml-examples, sdk/python/using-mlflow/using-rest-api/
  using_mlflow_rest_api.ipynb; azureml-mlflow's own store scopes its token the same way);
- a job's MLflow run id is the job's name (azureml-examples read a job's run with
  `mlflow.get_run(job.name)`); `GET runs/get?run_id=` returns its `data.metrics`, the last value
  of each metric (MLflow REST API, "Get Run");
- a pipeline's metrics sit on its child runs (the catalog's finetune and evaluation steps, below
  the pipeline node): `POST runs/search` with `filter: tags.mlflow.parentRunId = '<run>'` in the
  run's experiment lists a run's children (Learn, "Get child (nested) runs"), paged by
  `next_page_token`.

Metrics are keyed as `follow` names steps: `<node>/<step>/<metric>` below the job, `<metric>` for
the job's own run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobs.errors import JobsError

RUNS_GET = "/api/2.0/mlflow/runs/get"
RUNS_SEARCH = "/api/2.0/mlflow/runs/search"
# Root -> pipeline node -> step: how deep the catalog pipelines nest their runs.
MAX_DEPTH = 3
PAGE_SIZE = 1000  # MLflow's default max_results for runs/search


class MetricsUnavailable(JobsError):
    """The tracking server could not be read; `register` says so and goes on without metrics."""


def tracking_base(uri: str) -> str:
    """The https base of the MLflow REST API from a workspace's `azureml://` tracking URI."""
    if uri.startswith("azureml://"):
        return "https://" + uri.removeprefix("azureml://").rstrip("/")
    if uri.startswith("https://"):
        return uri.rstrip("/")
    raise MetricsUnavailable(
        f"the workspace's MLflow tracking URI {uri!r} is neither azureml:// nor https://"
    )


@dataclass
class MlflowRuns:
    """MLflow's runs/get and runs/search on one tracking server, authenticated as `client` is."""

    base: str
    pipeline: Any  # azure.core.PipelineClient

    @classmethod
    def connect(cls, base: str, client: Any) -> MlflowRuns:
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import (
            BearerTokenCredentialPolicy,
            HeadersPolicy,
            RetryPolicy,
            UserAgentPolicy,
        )

        from jobs.sdk_private import arm_access

        access = arm_access(client)
        policies = [
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(sdk_moniker="azml-jobs"),
            RetryPolicy(**access.retry),
            BearerTokenCredentialPolicy(access.credential, access.scope),
        ]
        return cls(base, PipelineClient(base_url=base, policies=policies))

    def _call(self, method: str, route: str, **kwargs: Any) -> Mapping[str, Any]:
        from azure.core.exceptions import AzureError
        from azure.core.rest import HttpRequest

        try:
            response = self.pipeline.send_request(HttpRequest(method, self.base + route, **kwargs))
        except AzureError as error:
            raise MetricsUnavailable(f"cannot reach the MLflow tracking server: {error}") from error
        try:
            body = response.json() if response.text() else {}
        except ValueError:
            body = {}
        if response.status_code >= 400:
            # MLflow's error body: {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}.
            code = body.get("error_code", "") if isinstance(body, dict) else ""
            message = body.get("message", "") if isinstance(body, dict) else ""
            raise MetricsUnavailable(
                f"MLflow {route} answered {response.status_code} {code}: {message}".rstrip(": ")
            )
        if not isinstance(body, dict):
            raise MetricsUnavailable(f"MLflow {route} answered something other than a JSON object")
        return body

    def get(self, run_id: str) -> Mapping[str, Any]:
        run = self._call("GET", RUNS_GET, params={"run_id": run_id}).get("run")
        if not isinstance(run, dict):
            raise MetricsUnavailable(f"MLflow {RUNS_GET} of {run_id} returned no run")
        return run

    def children(self, experiment_id: str, run_id: str) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": [experiment_id],
                "filter": f"tags.mlflow.parentRunId = '{run_id}'",
                "max_results": PAGE_SIZE,
            }
            if token:
                body["page_token"] = token
            page = self._call("POST", RUNS_SEARCH, json=body)
            found += [run for run in page.get("runs") or [] if isinstance(run, dict)]
            token = page.get("next_page_token")
            if not token:
                return found


def _metrics(run: Mapping[str, Any], prefix: str) -> dict[str, float]:
    data = run.get("data") or {}
    return {
        f"{prefix}{metric['key']}": float(metric["value"])
        for metric in data.get("metrics") or []
        if "key" in metric and "value" in metric
    }


def _name(run: Mapping[str, Any]) -> str:
    info = run.get("info") or {}
    return str(info.get("run_name") or info.get("run_id") or "?")


def job_metrics(runs: MlflowRuns, job: str) -> dict[str, float]:
    """The last value of every metric the job's run and its child runs logged."""
    root = runs.get(job)
    experiment = str((root.get("info") or {}).get("experiment_id") or "")
    found = _metrics(root, "")
    level: list[tuple[str, str]] = [(job, "")]
    for _ in range(MAX_DEPTH):
        below: list[tuple[str, str]] = []
        for run_id, prefix in level:
            for child in runs.children(experiment, run_id):
                path = f"{prefix}{_name(child)}/"
                found.update(_metrics(child, path))
                below.append((str((child.get("info") or {}).get("run_id")), path))
        level = below
    return dict(sorted(found.items()))


def logged_metrics(client: Any, workspace: str, job: str) -> tuple[dict[str, float], str | None]:
    """The job's metrics and, when there are none or they cannot be read, a note saying so."""
    from azure.core.exceptions import AzureError

    try:
        uri = client.workspaces.get(workspace).mlflow_tracking_uri
    except AzureError as error:
        return (
            {},
            f"workspace {workspace} not readable ({type(error).__name__}): the job's metrics were not recorded",
        )
    if not uri:
        return (
            {},
            f"workspace {workspace} reports no MLflow tracking URI: the job's metrics were not recorded",
        )
    try:
        metrics = job_metrics(MlflowRuns.connect(tracking_base(uri), client), job)
    except MetricsUnavailable as error:
        return {}, f"the metrics of job {job} could not be read ({error}): none recorded"
    if not metrics:
        return {}, f"job {job} logged no metrics (MLflow run {job} and its child runs): none recorded"
    return metrics, None


def metrics_tag(metrics: Mapping[str, float]) -> str:
    return json.dumps(dict(metrics), sort_keys=True)
