"""Dry-run rendering: the REST body the SDK would PUT and the equivalent `az ml` YAML.

Everything is sorted and derived from the recipe, so two runs print the same bytes. The SDK
adds git properties (mlflow.source.git.*) and uploads local code at submission time; those are
the only differences from what reaches Azure.
"""

from __future__ import annotations

import json
import os
from typing import Any

import yaml

from jobs.build import BuiltJob

# The `$schema` line of each job type, as the Azure ML CLI (v2) YAML reference writes it
# (learn.microsoft.com/azure/machine-learning/reference-yaml-job-command and -job-pipeline).
# Fine-tuning jobs have none published; Azure/azureml-examples' cli/jobs/finetuning YAMLs carry none.
YAML_SCHEMAS = {
    "catalog": "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json",
    "custom": "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json",
}


def rest_body(built: BuiltJob) -> dict[str, Any]:
    return entity_rest_body(built.entity)


def entity_rest_body(job: Any) -> dict[str, Any]:
    """The PUT body of an SDK job entity, as plain JSON."""
    from jobs.sdk_private import rest_job_body

    body = dict(_plain(rest_job_body(job)))
    environment = getattr(job, "environment", None)
    if environment is not None and not isinstance(environment, str):
        # A built environment: the SDK registers it by content hash at submission and sends that
        # version's ARM id; the dry run names the version it will register.
        body["properties"]["environmentId"] = f"azureml:{environment.name}:{environment.version}"
    return body


def az_ml_yaml(built: BuiltJob) -> str:
    """The job as `az ml job create --file` (and `azure.ai.ml.load_job`) reads it."""
    from jobs.sdk_private import job_yaml_dict

    spec = _relative_code(_plain(job_yaml_dict(built.entity)))
    # A command node dumps its component under `component:`, a key the command job schema does
    # not have (load_job refuses it); the job form carries `command` and `code` at the top.
    # The job's identity (name, display name, description, experiment, tags) sits there too.
    component = spec.pop("component", None)
    if built.kind == "custom" and isinstance(component, dict):
        for key in ("command", "code"):
            spec.setdefault(key, component[key])
        job = built.entity
        identity = {
            "name": job.name,
            "display_name": job.display_name,
            "description": job.description,
            "experiment_name": job.experiment_name,
            "tags": dict(job.tags or {}),
        }
        spec.update({key: value for key, value in identity.items() if value})
    text = yaml.safe_dump(spec, sort_keys=True, default_flow_style=False)
    schema = YAML_SCHEMAS.get(built.kind)
    return f"$schema: {schema}\n{text}" if schema else text


def _relative_code(value: Any) -> Any:
    """The SDK makes local code paths absolute (at the top, or under `component:` for a command
    node); print them relative to the working directory, as the job was built, so the output is the
    same in every checkout. `az ml job create` resolves `code:` relative to the YAML file: save the
    YAML where you run this."""
    if isinstance(value, dict):
        return {
            key: os.path.relpath(item)
            if key == "code" and isinstance(item, str) and os.path.isabs(item)
            else _relative_code(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_relative_code(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    # The SDK hands back OrderedDicts and enum-ish objects that yaml.safe_dump refuses.
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def render_dry_run(built: BuiltJob, notes: list[str]) -> str:
    sections = [
        f"# job name: {built.name}",
        *[f"# note: {note}" for note in notes],
        "# REST body (PUT .../jobs/{name}):",
        json.dumps(rest_body(built), indent=2, sort_keys=True),
        "# az ml job create --file <this>.yml:",
        az_ml_yaml(built).rstrip("\n"),
    ]
    return "\n".join(sections) + "\n"
