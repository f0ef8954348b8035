"""The private azure-ai-ml API jobs/sdk_private.py relies on: these fail when the SDK changes it."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest

import jobs.sdk_private

# The versions jobs/sdk_private.py was checked against. An upgrade fails here first: re-read each
# function's private use in the new SDK, then add the version.
CHECKED_SDK_VERSIONS = {"1.35.2"}


def test_the_installed_sdk_is_one_the_private_uses_were_checked_against() -> None:
    assert version("azure-ai-ml") in CHECKED_SDK_VERSIONS, jobs.sdk_private.__doc__


def test_the_pipeline_node_class_takes_a_registry_component_id() -> None:
    from azure.ai.ml import Input
    from azure.ai.ml.entities import PipelineJob

    component_id = "azureml://registries/azureml/components/chat_completion_pipeline/versions/0.0.82"
    node = jobs.sdk_private.registry_pipeline_node(
        component_id, {"train_file_path": Input(type="uri_file", path="azureml:d:1"), "seed": 1}, {}
    )
    body = jobs.sdk_private.rest_job_body(PipelineJob(jobs={"finetune": node}, name="n"))
    rest_node = body["properties"]["jobs"]["finetune"]
    assert (rest_node["type"], rest_node["componentId"]) == ("pipeline", component_id)
    assert rest_node["inputs"]["train_file_path"] == {"job_input_type": "uri_file", "uri": "azureml:d:1"}
    assert rest_node["inputs"]["seed"] == {"job_input_type": "literal", "value": "1"}


def test_run_details_are_read_through_the_job_operations_run_client() -> None:
    from azure.ai.ml.operations import JobOperations
    from azure.ai.ml.operations._run_operations import RunOperations

    assert isinstance(inspect.getattr_static(JobOperations, "_runs_operations"), property)
    assert list(inspect.signature(RunOperations.get_run_details).parameters) == ["self", "run_id"]


def test_invoke_writes_its_headers_into_the_shared_default_header_dict() -> None:
    # jobs.sdk_private.invoke_deployment restores the dict after each call because of this.
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields
    from azure.ai.ml.operations import OnlineEndpointOperations

    source = inspect.getsource(OnlineEndpointOperations.invoke)
    assert "headers = EndpointInvokeFields.DEFAULT_HEADER" in source
    assert "headers[EndpointInvokeFields.MODEL_DEPLOYMENT] = deployment_name" in source
    assert EndpointInvokeFields.DEFAULT_HEADER == {"Content-Type": "application/json"}


def test_a_node_input_keeps_its_value_in_data() -> None:
    from azure.ai.ml import Input
    from azure.ai.ml.entities._job.pipeline._io import NodeInput

    from jobs.sdk_private import input_value

    literal = NodeInput(port_name="epochs", meta=None, data=3)
    uri = NodeInput(port_name="train", meta=None, data=Input(type="uri_file", path="azureml:d:1"))
    assert input_value(literal) == 3
    assert input_value(uri).path == "azureml:d:1"
    assert input_value("plain") == "plain"


def test_an_mlclient_keeps_its_credential_cloud_and_retry_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.ai.ml import MLClient

    # MLClient writes the cloud's name into os.environ; leave it as it was.
    monkeypatch.delenv("AZUREML_CURRENT_CLOUD", raising=False)

    credential = object()
    metadata = {
        "azure_portal": "https://portal.example/",
        "resource_manager": "https://arm.example/",
        "active_directory": "https://login.example/",
        "aml_resource_id": "https://ml.azure.com",
        "storage_endpoint": "core.windows.net",
        "registry_discovery_endpoint": "https://discovery.example/",
    }
    client = MLClient(
        credential,  # type: ignore[arg-type]
        subscription_id="s",
        resource_group_name="rg",
        workspace_name="ws",
        cloud="SdkPrivateCloud",
        cloud_metadata=metadata,
        retry_total=3,
        retry_backoff_factor=0.5,
        polling_interval=1,
    )
    access = jobs.sdk_private.arm_access(client)
    assert access.credential is credential
    assert access.scope == "https://arm.example/.default"  # the cloud's Resource Manager, not ml.azure.com
    assert dict(access.retry) == {"retry_total": 3, "retry_backoff_factor": 0.5}


def test_a_workspace_keeps_its_guid_in_workspace_id() -> None:
    from azure.ai.ml._restclient.arm_ml_service.models import Workspace as RestWorkspace
    from azure.ai.ml.entities import Workspace

    rest = RestWorkspace(location="westus3", workspace_id="5f0c8a1e-0000-4000-8000-000000000001")
    rest.name = "ws"
    workspace = Workspace._from_rest_object(rest)
    assert workspace is not None
    assert jobs.sdk_private.workspace_guid(workspace) == "5f0c8a1e-0000-4000-8000-000000000001"
