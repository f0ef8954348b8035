"""`deploy`: a registered fine-tuned model to a managed online endpoint of the project's workspace.

LLMs load slowly and answer slowly: without a long liveness probe delay (~600 s) and request
timeout (~90 s) a deployment restarts before the model is loaded or answers 502/408.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from infra.skus import GPU_SKUS, find_sku
from jobs.checks import refused_by_allow_list
from jobs.errors import JobsError
from jobs.submit import azure_errors
from jobs.targets import Target

# Managed online endpoint names are unique per region: 3-32 characters, letter first, no
# trailing hyphen. Deployment names follow the same rule.
ENDPOINT_NAME = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_MODEL = re.compile(r"^(azureml:)?([A-Za-z0-9_.-]+):(\d+)$")
LIVENESS_INITIAL_DELAY_S = 600
REQUEST_TIMEOUT_MS = 90_000
AuthMode = Literal["key", "aad_token"]
AUTH_MODES: tuple[AuthMode, ...] = ("key", "aad_token")
INFERENCE_ALLOW_LIST = "inference_compute_allow_list"


@dataclass(frozen=True)
class DeploySpec:
    endpoint: str
    model: str  # NAME:VERSION of a model registered in the project's workspace
    instance_type: str
    instance_count: int = 1
    auth_mode: str = "key"
    deployment: str = "default"


def check_spec(spec: DeploySpec) -> list[str]:
    """Every problem with the request, so one run reports them all."""
    problems = []
    for label, name in (("endpoint", spec.endpoint), ("deployment", spec.deployment)):
        if not 3 <= len(name) <= 32 or not ENDPOINT_NAME.match(name):
            problems.append(
                f"{label} name {name!r} must be 3-32 characters, letters, digits and hyphens, "
                "starting with a letter and not ending with a hyphen"
            )
    if not _MODEL.match(spec.model):
        problems.append(f"model {spec.model!r} must be NAME:VERSION (a pinned version of a registered model)")
    if find_sku(spec.instance_type) is None:
        problems.append(
            f"instance type {spec.instance_type!r} is not a GPU size this platform knows; "
            f"known sizes: {', '.join(sorted(GPU_SKUS))}"
        )
    if spec.instance_count < 1:
        problems.append(f"instance count must be >= 1, not {spec.instance_count}")
    if spec.auth_mode not in AUTH_MODES:
        problems.append(f"auth mode {spec.auth_mode!r} must be one of {', '.join(AUTH_MODES)}")
    return problems


@dataclass(frozen=True)
class BuiltDeployment:
    endpoint: Any  # ManagedOnlineEndpoint
    deployment: Any  # ManagedOnlineDeployment
    model_name: str
    model_version: str


def build_deployment(spec: DeploySpec, target: Target, tags: dict[str, str]) -> BuiltDeployment:
    problems = check_spec(spec)
    if problems:
        raise JobsError("\n".join(problems))
    from azure.ai.ml.entities import (
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        OnlineRequestSettings,
        ProbeSettings,
    )

    match, sku = _MODEL.match(spec.model), find_sku(spec.instance_type)
    assert match is not None and sku is not None  # checked above
    endpoint = ManagedOnlineEndpoint(
        name=spec.endpoint, auth_mode=spec.auth_mode, tags=tags, description=f"{target.project} {spec.model}"
    )
    deployment = ManagedOnlineDeployment(
        name=spec.deployment,
        endpoint_name=spec.endpoint,
        model=f"azureml:{match.group(2)}:{match.group(3)}",
        instance_type=sku.name,
        instance_count=spec.instance_count,
        liveness_probe=ProbeSettings(initial_delay=LIVENESS_INITIAL_DELAY_S, period=10, timeout=10),
        readiness_probe=ProbeSettings(initial_delay=LIVENESS_INITIAL_DELAY_S, period=10, timeout=10),
        request_settings=OnlineRequestSettings(request_timeout_ms=REQUEST_TIMEOUT_MS),
        tags=tags,
    )
    return BuiltDeployment(endpoint, deployment, match.group(2), match.group(3))


def render_deployment(built: BuiltDeployment, location: str) -> str:
    """The two REST bodies `deploy` would PUT, in order; no network."""
    endpoint = built.endpoint._to_rest_online_endpoint(location=location).as_dict()
    deployment = built.deployment._to_rest_object(location=location).as_dict()
    return "\n".join(
        [
            f"# PUT .../onlineEndpoints/{built.endpoint.name}:",
            json.dumps(endpoint, indent=2, sort_keys=True, default=str),
            f"# PUT .../onlineEndpoints/{built.endpoint.name}/deployments/{built.deployment.name}:",
            json.dumps(deployment, indent=2, sort_keys=True, default=str),
            "",
        ]
    )


def inference_problem(model: str, tags: Mapping[str, str], instance_type: str) -> str | None:
    """Catalog models, and models registered from their fine-tuning, say which sizes can serve
    them (`inference_compute_allow_list`); a deployment on another size fails after minutes."""
    allowed = refused_by_allow_list(tags.get(INFERENCE_ALLOW_LIST), instance_type)
    if allowed is None:
        return None
    return f"model {model} cannot be served on {instance_type}; its {INFERENCE_ALLOW_LIST} is: {', '.join(allowed)}"


def deploy(built: BuiltDeployment, target: Target, client: Any) -> str:
    """Check the model is registered and may run on the instance type, then create or update the
    endpoint, the deployment, and route all traffic to it; the scoring URI."""
    endpoint, deployment = built.endpoint, built.deployment
    model = f"{built.model_name}:{built.model_version}"
    with azure_errors(target, f"looking up model {model}"):
        registered = client.models.get(name=built.model_name, version=built.model_version)
    problem = inference_problem(model, registered.tags or {}, deployment.instance_type)
    if problem:
        raise JobsError(problem)
    with azure_errors(target, f"deploying to endpoint {endpoint.name}"):
        client.online_endpoints.begin_create_or_update(endpoint).result()
        client.online_deployments.begin_create_or_update(deployment).result()
        endpoint.traffic = {deployment.name: 100}
        created = client.online_endpoints.begin_create_or_update(endpoint).result()
    return str(getattr(created, "scoring_uri", None) or "")
