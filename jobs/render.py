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


def rest_body(built: BuiltJob) -> dict[str, Any]:
    if built.kind == "catalog":
        body = built.entity._to_rest_object().as_dict()
    else:
        from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object

        body = to_rest_job_object(built.entity).as_dict()
    return _plain(body)


def az_ml_yaml(built: BuiltJob) -> str:
    spec = _relative_code(_plain(built.entity._to_dict()))
    return yaml.safe_dump(spec, sort_keys=True, default_flow_style=False)


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
