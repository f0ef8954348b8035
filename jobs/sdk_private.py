"""Every use of azure-ai-ml's private API by the jobs commands, in one place.

azure-ai-ml 1.35.2 has no public way to do these; each function says what it relies on, and
tests/jobs/test_sdk_private.py fails when the SDK changes it (the pin in pyproject.toml is exact,
so that happens on a deliberate upgrade, not silently).

- A pipeline node that calls a registry component by id, without fetching the component:
  the public ways (`load_component(client=...)`, `ml_client.components.get(...)(...)`) need the
  registry, and `--dry-run` must work offline.
- The REST body of a job as the SDK will send it (`_to_rest_object`, `to_rest_job_object`), and
  its YAML form (`_to_dict`): what `--dry-run` prints.
- The error a run recorded: run history's run details; the ARM job resource carries none, and
  the SDK's own `jobs.stream` reads it the same way.
- The credential, cloud and retry settings an MLClient was built with, for the REST calls the SDK
  has no operation for (the workspace's MLflow tracking server: the metrics a job logged).
- A workspace's guid (its `workspaceId`), which names its assets as
  `azureml://locations/<region>/workspaces/<guid>/...`: the `Workspace` entity keeps it only in
  `_workspace_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def registry_pipeline_node(component_id: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
    """A pipeline node (type `pipeline`) that runs the registry component `component_id`."""
    from azure.ai.ml.entities._builders.pipeline import Pipeline

    return Pipeline(component=component_id, inputs=dict(inputs), outputs=dict(outputs))


def rest_job_body(job: Any) -> dict[str, Any]:
    """The JSON body of `PUT .../jobs/{name}` for `job`, before the SDK resolves asset references."""
    from azure.ai.ml.entities import PipelineJob
    from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object

    rest = job._to_rest_object() if isinstance(job, PipelineJob) else to_rest_job_object(job)
    body: dict[str, Any] = rest.as_dict()
    return body


def job_yaml_dict(job: Any) -> dict[str, Any]:
    """The job as the SDK's own YAML schema dumps it (what `load_job` reads back)."""
    spec: dict[str, Any] = job._to_dict()
    return spec


def run_error(client: Any, run_id: str) -> tuple[str, str]:
    """(code, message) of the error run `run_id` recorded in run history, ("", "") for none."""
    details = client.jobs._runs_operations.get_run_details(run_id)
    error = getattr(getattr(details, "error", None), "error", None)
    if error is None:
        return "", ""
    return str(error.code or ""), str(error.message or "")


def invoke_deployment(client: Any, endpoint: str, deployment: str | None, request_file: str) -> str:
    """`online_endpoints.invoke`, without its leak: azure-ai-ml 1.35.2 writes the Authorization and
    `azureml-model-deployment` headers into the module-level EndpointInvokeFields.DEFAULT_HEADER
    dict, so every later invoke in the process would carry them (a smoke test's deployment pin
    would stick to the next request meant for the traffic map)."""
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields

    saved = dict(EndpointInvokeFields.DEFAULT_HEADER)
    try:
        return str(
            client.online_endpoints.invoke(endpoint, request_file=request_file, deployment_name=deployment)
        )
    finally:
        EndpointInvokeFields.DEFAULT_HEADER.clear()
        EndpointInvokeFields.DEFAULT_HEADER.update(saved)


def workspace_guid(workspace: Any) -> str:
    """The guid of a `Workspace` read with `workspaces.get` (REST `properties.workspaceId`), as
    Microsoft's own samples read it (`workspace._workspace_id`, Learn "Fine-tune models using
    standard deployments"); "" when the service sent none."""
    return str(getattr(workspace, "_workspace_id", None) or "")


def input_value(value: Any) -> Any:
    """What a job input read back from the service holds: an `Input` (URI inputs) or the literal.

    Jobs read with `jobs.get` wrap every input in a NodeInput whose public `.path` raises for
    literals and whose value is only in `_data` (PipelineInput.result() exists, NodeInput has none).
    """
    return getattr(value, "_data", value)


@dataclass(frozen=True)
class ArmAccess:
    """How an MLClient authenticates and retries, for a REST call it has no operation for."""

    credential: Any
    scope: str  # Azure Resource Manager of the client's cloud: "<resource manager>/.default"
    retry: Mapping[str, Any]  # the retry_* settings the client was built with


def arm_access(client: Any) -> ArmAccess:
    """The credential (`MLClient._credential`), the cloud's Azure Resource Manager token scope
    (`MLClient._cloud` through `_get_base_url_from_metadata`, as the SDK scopes its own ARM
    clients) and the `retry_*` options (`MLClient._kwargs`) of `client`. The workspace's MLflow
    tracking server takes an ARM token (azureml-mlflow: `cloud._get_default_scope()`;
    Azure/azureml-examples, using_mlflow_rest_api.ipynb: resource https://management.azure.com)."""
    from azure.ai.ml._azure_environments import _get_base_url_from_metadata

    resource_manager = _get_base_url_from_metadata(cloud_name=client._cloud)
    retry = {key: value for key, value in client._kwargs.items() if key.startswith("retry_")}
    return ArmAccess(client._credential, f"{resource_manager.rstrip('/')}/.default", retry)
