"""`register` and `promote`: a finished job's model into the workspace, then into the registry.

- A catalog pipeline's fine-tuned MLflow model is its `trained_model` output (jobs/build.py);
  it is registered from `azureml://jobs/<job>/outputs/trained_model` as type `mlflow_model`, as
  Azure/azureml-examples' chat-completion fine-tuning notebook does (which is what a no-code
  deployment needs: an MLflow model).
- A custom job's model is its one output of type `mlflow_model`; a `uri_folder` (such as a LoRA
  adapter folder) cannot be deployed without a scoring script, so it is refused.
- Serverless fine-tuning registers its model itself (named from `output_model_name_prefix`).
- The lineage tags include the metrics the job logged to MLflow (jobs/metrics.py); a job that
  logged none, or metrics that cannot be read, are a note, not a failure.
- `promote` shares the workspace model into the environment's Azure ML registry
  (`ModelOperations.share`: POST .../registries/<r>/import), so another environment deploys the
  same bytes. The SDK's share waits for the import (it has no `begin_` form), so promote always
  follows it, with the progress display of `--wait`. Registry model versions cannot be overwritten, so an existing version is refused
  before anything is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from jobs.build import TRAINED_MODEL_OUTPUT
from jobs.components import WORKSPACE_GUID_PLACEHOLDER, registry_asset_uri, workspace_asset_uri
from jobs.deploy import parse_model
from jobs.errors import JobsError
from jobs.metrics import logged_metrics, metrics_tag
from jobs.operations import InThread, wait_for
from jobs.submit import azure_errors
from jobs.targets import Target

_REGISTRY_ASSET = re.compile(r"^azureml://registries/([^/]+)/models/([^/]+)/versions/([^/]+)$")
_DATA_ARM_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+/data/([^/]+)/versions/([^/]+)$",
    re.IGNORECASE,
)
# `name:version`: how azure-ai-ml 1.35.2 reads back a command job's `azureml:name:version` input.
_SHORT_ASSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*:\d+$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
# The metrics the job logged (jobs/metrics.py), as a JSON map of `<step path>/<metric>` to its
# last value.
METRICS_TAG = "metrics"


@dataclass(frozen=True)
class Registration:
    entity: Any  # azure.ai.ml.entities.Model
    job: str


def _literal(value: Any) -> str | None:
    """An input's path (URI inputs) or value (literals), as a string; data asset ARM ids (what
    the SDK sends for `azureml:name:version`) as `azureml:name:version` again."""
    from jobs.sdk_private import input_value

    data = input_value(value)
    found = getattr(data, "path", data)
    if not isinstance(found, (str, int, float)) or isinstance(found, bool):
        return None
    text = str(found)
    if asset := _DATA_ARM_ID.search(text):
        return f"azureml:{asset.group(1)}:{asset.group(2)}"
    return f"azureml:{text}" if _SHORT_ASSET.match(text) else text


def lineage_tags(job: Any, target: Target) -> dict[str, str]:
    """Where the model came from: job, recipe, base model and version, data and versions, commit."""
    tags = dict(job.tags or {})
    lineage = {
        "job": str(job.name),
        "workspace": target.workspace_name,
        **{key: tags[key] for key in ("project", "environment", "recipe", "git_commit") if key in tags},
    }
    if job.type == "pipeline":
        node = (job.jobs or {}).get("finetune")
        inputs: Mapping[str, Any] = dict(getattr(node, "inputs", None) or {})
    else:
        inputs = dict(job.inputs or {})
    data: dict[str, str] = {}
    for name, value in sorted(inputs.items()):
        text = _literal(value)
        if text is None:
            continue
        if name in ("mlflow_model_path", "base_model"):
            base = _REGISTRY_ASSET.match(text)
            lineage["base_model"] = base.group(2) if base else text
            if base:
                lineage["base_model_version"] = base.group(3)
                lineage["base_model_registry"] = base.group(1)
        elif text.startswith(("azureml:", "https://")):
            data[name] = text
    if data:
        # azureml:name:version pins the data; other URIs are recorded as given.
        lineage["data"] = json.dumps(data, sort_keys=True)
    return lineage


def model_output(job: Any) -> str:
    """The job's output that holds its MLflow model; JobsError when it has none."""
    outputs = dict(job.outputs or {})
    if job.type == "pipeline":
        if TRAINED_MODEL_OUTPUT not in outputs:
            raise JobsError(
                f"pipeline job {job.name} has no {TRAINED_MODEL_OUTPUT!r} output (submitted before azml-jobs "
                "mapped the fine-tuned model to it): train again with `finetune --force-new`"
            )
        return TRAINED_MODEL_OUTPUT
    if job.type == "command":
        mlflow = sorted(
            name for name, output in outputs.items() if getattr(output, "type", None) == "mlflow_model"
        )
        if len(mlflow) == 1:
            return mlflow[0]
        kinds = (
            ", ".join(f"{name} ({getattr(o, 'type', '?')})" for name, o in sorted(outputs.items())) or "none"
        )
        raise JobsError(
            f"job {job.name} has {'several' if mlflow else 'no'} output of type mlflow_model (outputs: {kinds}); "
            "a managed online deployment without a scoring script needs an MLflow model: save one "
            "(e.g. mlflow.transformers.save_model of the merged model) to a single `type: mlflow_model` output"
        )
    raise JobsError(
        f"job {job.name} is a {job.type} job: serverless fine-tuning registers its model itself "
        "(named from output_model_name_prefix); deploy that model to a serverless endpoint"
    )


def build_registration(job: Any, target: Target, name: str | None, version: str | None) -> Registration:
    from azure.ai.ml.entities import Model

    status = str(getattr(job.status, "value", job.status))
    if status != "Completed":
        raise JobsError(f"job {job.name} is {status}: only a completed job's model can be registered")
    output = model_output(job)
    tags = lineage_tags(job, target)
    model_name = name or f"{tags.get('recipe', job.name)}-ft"
    if not _MODEL_NAME.match(model_name):
        raise JobsError(f"model name {model_name!r} must be letters, digits, '-', '_' or '.', up to 255")
    if version is not None and not version.isdigit():
        raise JobsError(f"model version {version!r} must be a whole number (deploy pins NAME:VERSION)")
    entity = Model(
        name=model_name,
        version=version,  # None: the workspace's next version of that name
        path=f"azureml://jobs/{job.name}/outputs/{output}",
        type="mlflow_model",
        tags=tags,
        description=f"fine-tuned by job {job.name}",
    )
    return Registration(entity, str(job.name))


def inherited_tags(registration: Registration, registry_client: Callable[[str], Any]) -> list[str]:
    """Copy the base catalog model's `inference_compute_allow_list`, so `deploy` checks the
    instance type against it; notes for what could not be read."""
    from azure.core.exceptions import AzureError

    from jobs.deploy import INFERENCE_ALLOW_LIST

    tags = registration.entity.tags
    registry, base, version = (
        tags.get(k) for k in ("base_model_registry", "base_model", "base_model_version")
    )
    if not (registry and base and version):
        return []
    try:
        base_tags = registry_client(registry).models.get(name=base, version=version).tags or {}
    except AzureError as error:
        return [
            f"base model {base}:{version} not readable in registry {registry} ({type(error).__name__}): "
            f"{INFERENCE_ALLOW_LIST} not copied"
        ]
    if INFERENCE_ALLOW_LIST in base_tags:
        tags[INFERENCE_ALLOW_LIST] = base_tags[INFERENCE_ALLOW_LIST]
    return []


def register(
    job_name: str,
    target: Target,
    client: Any,
    registry_client: Callable[[str], Any],
    out: TextIO,
    *,
    name: str | None,
    version: str | None,
    dry_run: bool,
) -> None:
    with azure_errors(target, f"reading job {job_name}"):
        job = client.jobs.get(job_name)
    registration = build_registration(job, target, name, version)
    notes = inherited_tags(registration, registry_client)
    metrics, missing = logged_metrics(client, target.workspace_name, str(job.name))
    if metrics:
        registration.entity.tags[METRICS_TAG] = metrics_tag(metrics)
    notes += [missing] if missing else []
    for note in notes:
        out.write(f"note: {note}\n")
    if dry_run:
        shown = registration.entity.version or "<next>"
        out.write(
            f"# PUT .../workspaces/{target.workspace_name}/models/{registration.entity.name}/versions/{shown}:\n"
        )
        out.write(
            json.dumps(registration.entity._to_rest_object().as_dict(), indent=2, sort_keys=True) + "\n"
        )
        return
    with azure_errors(target, f"registering the model of {job_name}"):
        created = client.models.create_or_update(registration.entity)
    out.write(f"registered {created.name}:{created.version} from {registration.entity.path}\n")


def promote(
    model: str, target: Target, client: Any, registry_client: Callable[[], Any], out: TextIO, *, dry_run: bool
) -> None:
    """Share workspace model NAME:VERSION into the environment's registry under the same name and
    version; an existing registry version is refused (registry versions are immutable)."""
    from azure.core.exceptions import ResourceNotFoundError

    ref = parse_model(model)
    if ref is None or ref.registry:
        raise JobsError(
            f"model {model!r} must be NAME:VERSION of a model registered in the project's workspace"
        )
    registry = target.registry_name
    destination = registry_asset_uri(registry, "models", ref.name, ref.version)
    if dry_run:
        out.write(
            f"# POST .../registries/{registry}/import (azure-ai-ml ModelOperations.share) of workspace model "
            f"{ref.name}:{ref.version} as {destination}:\n"
        )
        body = {
            "properties": {
                "referenceType": "Id",
                "destinationName": ref.name,
                "destinationVersion": ref.version,
                "sourceAssetId": workspace_asset_uri(
                    target.location, WORKSPACE_GUID_PLACEHOLDER, "models", ref.name, ref.version
                ),
            }
        }
        out.write(json.dumps(body, indent=2, sort_keys=True) + "\n")
        return
    with azure_errors(target, f"looking up model {ref}"):
        client.models.get(name=ref.name, version=ref.version)
    with azure_errors(target, f"reading registry {registry}"):
        try:
            registry_client().models.get(name=ref.name, version=ref.version)
        except ResourceNotFoundError:
            pass
        else:
            raise JobsError(
                f"{destination} already exists: registry model versions cannot be overwritten; register the "
                "job's model as a new version (register JOB --version N) and promote that"
            )
    out.write(f"importing {ref} into registry {registry} (the registry copies the model's files)\n")
    out.flush()
    with azure_errors(target, f"promoting {ref} to registry {registry}"):
        # models.share waits for the registry's import itself (it has no begin_ form): run it
        # aside so the wait shows its progress.
        importing = InThread(
            lambda: client.models.share(
                ref.name,
                ref.version,
                share_with_name=ref.name,
                share_with_version=ref.version,
                registry_name=registry,
            )
        )
        wait_for(importing, f"import of {ref} into {registry}", out)
    out.write(f"promoted {ref} to {destination}\n")
