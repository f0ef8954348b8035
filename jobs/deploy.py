"""`deploy`, `rollback`: a registered model to a managed online endpoint, blue/green.

A PUT of an online endpoint replaces its whole traffic map, and a deployment PUT does not touch
it ("Perform safe rollout of new deployments for real-time inference", Microsoft Learn: create
the new deployment with 0% traffic, test it by calling it with the `azureml-model-deployment`
header, then move traffic). So `deploy` never PUTs an existing endpoint before the new
deployment is healthy and has answered a smoke test, and the one traffic PUT it makes names every
deployment's share. Any failure before that leaves the live traffic exactly as it was.

LLMs load slowly and answer slowly: without a long liveness probe delay (~600 s) and request
timeout (~90 s) a deployment restarts before the model is loaded or answers 502/408
(Azure/azureml-examples, foundation-models chat-completion fine-tuning notebook).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from infra.skus import GPU_SKUS, GpuSku, find_sku
from jobs import quota
from jobs.checks import refused_by_allow_list
from jobs.components import registry_asset_uri
from jobs.errors import JobsError
from jobs.operations import follow, not_followed, wait_for
from jobs.submit import _first_line, azure_errors
from jobs.targets import EnvironmentFacts, Target

# Managed online endpoint names are unique per region: 3-32 characters, letter first, no
# trailing hyphen. Deployment names follow the same rule.
ENDPOINT_NAME = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_WORKSPACE_MODEL = re.compile(r"^(azureml:)?([A-Za-z0-9_.-]+):(\d+)$")
_REGISTRY_MODEL = re.compile(r"^azureml://registries/([^/]+)/models/([^/]+)/versions/(\d+)$")
LIVENESS_INITIAL_DELAY_S = 600
REQUEST_TIMEOUT_MS = 90_000
# Endpoint auth modes (OnlineEndpoint auth_mode): Microsoft Entra tokens by default, as the
# platform turns local (key) auth off everywhere else.
AuthMode = Literal["aad_token", "key", "aml_token"]
AUTH_MODES: tuple[AuthMode, ...] = ("aad_token", "key", "aml_token")
INFERENCE_ALLOW_LIST = "inference_compute_allow_list"
# Endpoint tags where `deploy` records the traffic it replaced, for `rollback`.
PREVIOUS_TRAFFIC_TAG = "previous_traffic"
# Online endpoints and deployments are ARM tracked resources: a tag value is at most 256
# characters (Microsoft Learn, "Use tags to organize your Azure resources and management
# hierarchy", Limitations; MicrosoftDocs/azure-docs articles/azure-resource-manager/management/
# tag-resources.md), and a longer one is refused with the whole PUT.
TAG_VALUE_MAX = 256
LOG_TAIL_LINES = 50
# A chat-completion request in the shape the catalog's MLflow chat models take (the fine-tuning
# notebook's sample request); `--sample-request FILE` replaces it for other models (the custom
# example's: jobs/examples/sample-requests/trl-sft.json).
DEFAULT_SAMPLE_REQUEST: dict[str, Any] = {
    "input_data": {
        "input_string": [{"role": "user", "content": "Reply with the word ok."}],
        "parameters": {"max_new_tokens": 8},
    }
}


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    registry: str | None  # None: the project's workspace

    @property
    def uri(self) -> str:
        if self.registry:
            return registry_asset_uri(self.registry, "models", self.name, self.version)
        return f"azureml:{self.name}:{self.version}"

    def __str__(self) -> str:
        return self.uri if self.registry else f"{self.name}:{self.version}"


def parse_model(text: str) -> ModelRef | None:
    if match := _REGISTRY_MODEL.match(text):
        return ModelRef(match.group(2), match.group(3), match.group(1))
    if match := _WORKSPACE_MODEL.match(text):
        return ModelRef(match.group(2), match.group(3), None)
    return None


def traffic_tag(traffic: Mapping[str, int]) -> str:
    """The `previous_traffic` tag value: the deployments with a share, as compact JSON."""
    shares = {name: int(share) for name, share in sorted(traffic.items()) if share}
    return json.dumps(shares, separators=(",", ":"))  # in name order: built from sorted items


def tag_problem(endpoint: str, traffic: Mapping[str, int]) -> str | None:
    """Why the traffic map cannot be recorded in the endpoint's tag (ARM's tag value limit)."""
    value = traffic_tag(traffic)
    if len(value) <= TAG_VALUE_MAX:
        return None
    return (
        f"endpoint {endpoint} has too many deployments with traffic to record them for rollback: tag "
        f"{PREVIOUS_TRAFFIC_TAG} would be {len(value)} characters, Azure takes at most {TAG_VALUE_MAX} "
        f"({', '.join(f'{n}={s}%' for n, s in sorted(traffic.items()) if s)}); route traffic away from some "
        "deployments first"
    )


def name_problem(label: str, name: str) -> str | None:
    if 3 <= len(name) <= 32 and ENDPOINT_NAME.match(name):
        return None
    return (
        f"{label} name {name!r} must be 3-32 characters, letters, digits and hyphens, "
        "starting with a letter and not ending with a hyphen"
    )


def default_deployment_name(model: ModelRef) -> str:
    """A new name per model version, so a rollout is a new deployment next to the old one."""
    slug = re.sub(r"[^a-z0-9-]+", "-", model.name.lower()).strip("-")
    suffix = f"-v{model.version}"
    slug = slug[: 32 - len(suffix)].rstrip("-")
    if not slug or not slug[0].isalpha():
        slug = f"d-{slug}"[: 32 - len(suffix)].rstrip("-")
    return f"{slug}{suffix}"


@dataclass(frozen=True)
class DeploySpec:
    endpoint: str
    model: str  # NAME:VERSION in the workspace, or azureml://registries/R/models/N/versions/V
    instance_type: str
    instance_count: int = 1
    auth_mode: str = "aad_token"
    deployment: str | None = None  # default: from the model name and version
    traffic: int = 100
    retire_old: bool = False


def quota_source(target: Target, facts: EnvironmentFacts) -> str:
    return f"stacks/Pulumi.{target.environment}.yaml {facts.quota_key}"


def check_spec(spec: DeploySpec, target: Target, facts: EnvironmentFacts) -> list[str]:
    """Every problem with the request, so one run reports them all."""
    problems = [problem for problem in [name_problem("endpoint", spec.endpoint)] if problem]
    model = parse_model(spec.model)
    if model is None:
        problems.append(
            f"model {spec.model!r} must be NAME:VERSION (a pinned version of a model registered in the "
            "workspace) or azureml://registries/REGISTRY/models/NAME/versions/VERSION"
        )
    elif facts.production and model.registry != target.registry_name:
        # Production serves what dev promoted: the same bytes, from the environment's registry.
        problems.append(
            f"{target.environment} is a production environment: deploy from its registry "
            f"{target.registry_name!r} (azml-jobs promote {model.name}:{model.version} in the environment "
            f"that trained it), not {model}"
        )
    elif len(str(model)) > TAG_VALUE_MAX:
        # The deployment records it in its `model` tag.
        problems.append(
            f"model reference {model} is {len(str(model))} characters: the deployment's `model` tag takes at "
            f"most {TAG_VALUE_MAX} (ARM tag values); register the model under a shorter name"
        )
    if spec.deployment is not None:
        problems += [p for p in [name_problem("deployment", spec.deployment)] if p]
    sku = find_sku(spec.instance_type)
    if sku is None:
        problems.append(
            f"instance type {spec.instance_type!r} is not a GPU size this platform knows; "
            f"known sizes: {', '.join(sorted(GPU_SKUS))}"
        )
    elif problem := quota.online_sku_problem(sku):
        problems.append(problem)
    if spec.instance_count < 1:
        problems.append(f"instance count must be >= 1, not {spec.instance_count}")
    elif sku is not None and sku.family in facts.gpu_quota:
        # Before any request: the deployment alone against the whole grant. `deploy` checks again
        # with what the workspace's deployments hold once it can list them.
        if problem := quota.refusal(
            sku, spec.instance_count, facts.gpu_quota[sku.family], [], quota_source(target, facts)
        ):
            problems.append(problem)
    elif sku is not None:
        problems.append(
            f"environment {target.environment!r} has no GPU quota for {sku.family} ({sku.name}); "
            f"families with quota: {', '.join(sorted(facts.gpu_quota)) or '(none)'}"
        )
    if spec.auth_mode not in AUTH_MODES:
        problems.append(f"auth mode {spec.auth_mode!r} must be one of {', '.join(AUTH_MODES)}")
    if not 1 <= spec.traffic <= 100:
        problems.append(f"traffic must be 1-100 (percent for the new deployment), not {spec.traffic}")
    if spec.retire_old and spec.traffic != 100:
        problems.append("--retire-old needs --traffic 100: a canary keeps the previous deployment serving")
    return problems


@dataclass(frozen=True)
class BuiltDeployment:
    endpoint: Any  # ManagedOnlineEndpoint, PUT only when the endpoint does not exist
    deployment: Any  # ManagedOnlineDeployment
    model: ModelRef
    traffic: int
    retire_old: bool
    sku: GpuSku
    quota: int  # vCPUs the environment grants the size's family
    quota_source: str
    notes: list[str] = field(default_factory=list)


def build_deployment(
    spec: DeploySpec, target: Target, facts: EnvironmentFacts, tags: dict[str, str]
) -> BuiltDeployment:
    problems = check_spec(spec, target, facts)
    if problems:
        raise JobsError("\n".join(problems))
    from azure.ai.ml.entities import (
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        OnlineRequestSettings,
        ProbeSettings,
    )

    model, sku = parse_model(spec.model), find_sku(spec.instance_type)
    assert model is not None and sku is not None  # checked above
    endpoint = ManagedOnlineEndpoint(
        name=spec.endpoint,
        auth_mode=spec.auth_mode,
        tags=tags,
        description=f"{target.project} online endpoint",
        # Where the environment has no public network access, neither has the endpoint: it is
        # then reached through the workspace's private endpoint. The SDK sends the string as is;
        # the REST enum (PublicNetworkAccessType) spells it "Enabled"/"Disabled".
        public_network_access="Enabled" if facts.public_network_access else "Disabled",
    )
    deployment = ManagedOnlineDeployment(
        name=spec.deployment or default_deployment_name(model),
        endpoint_name=spec.endpoint,
        model=model.uri,
        instance_type=sku.name,
        instance_count=spec.instance_count,
        liveness_probe=ProbeSettings(initial_delay=LIVENESS_INITIAL_DELAY_S, period=10, timeout=10),
        readiness_probe=ProbeSettings(initial_delay=LIVENESS_INITIAL_DELAY_S, period=10, timeout=10),
        request_settings=OnlineRequestSettings(request_timeout_ms=REQUEST_TIMEOUT_MS),
        # Request logs and metrics go to the workspace's Application Insights.
        app_insights_enabled=True,
        tags={**tags, "model": str(model)},
    )
    return BuiltDeployment(
        endpoint,
        deployment,
        model,
        spec.traffic,
        spec.retire_old,
        sku,
        facts.gpu_quota[sku.family],
        quota_source(target, facts),
    )


def new_traffic(current: Mapping[str, int], deployment: str, share: int) -> dict[str, int]:
    """The endpoint's traffic map once `deployment` gets `share` percent: the other deployments
    keep their proportions of the rest (integers summing to 100). A first deployment gets 100."""
    others = {name: value for name, value in current.items() if name != deployment and value > 0}
    total = sum(others.values())
    if not total:
        return {deployment: 100}
    rest = 100 - share
    result = {name: rest * value // total for name, value in others.items()}
    # Largest first gets the rounding remainder, so the map sums to exactly 100.
    leftover = rest - sum(result.values())
    for name in sorted(others, key=lambda n: (-others[n], n))[:leftover]:
        result[name] += 1
    result[deployment] = share
    return {name: value for name, value in sorted(result.items())}


def render_deployment(built: BuiltDeployment, location: str) -> str:
    """The REST bodies `deploy` would send, in order; no network."""
    # as_dict() is the REST serializer's output, JSON types only (msrest Model.as_dict)
    endpoint = built.endpoint._to_rest_online_endpoint(location=location).as_dict()
    deployment = built.deployment._to_rest_object(location=location).as_dict()
    name, endpoint_name = built.deployment.name, built.endpoint.name
    return "\n".join(
        [
            f"# PUT .../onlineEndpoints/{endpoint_name} (only if the endpoint does not exist):",
            json.dumps(endpoint, indent=2, sort_keys=True),
            f"# PUT .../onlineEndpoints/{endpoint_name}/deployments/{name} (0% traffic):",
            json.dumps(deployment, indent=2, sort_keys=True),
            f"# POST <scoring URI> with header azureml-model-deployment: {name} (smoke test):",
            json.dumps(DEFAULT_SAMPLE_REQUEST, indent=2, sort_keys=True),
            f"# PUT .../onlineEndpoints/{endpoint_name}: the endpoint as read, with traffic "
            f"{name}={built.traffic}% (the other deployments share the rest in their proportions) and tag "
            f"{PREVIOUS_TRAFFIC_TAG}=<the traffic it replaces>",
            *(
                [f"# DELETE .../onlineEndpoints/{endpoint_name}/deployments/<each previous deployment>"]
                if built.retire_old
                else []
            ),
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


class RolloutFailed(JobsError):
    """The new deployment failed or failed its smoke test; live traffic was not touched."""


def _find_endpoint(client: Any, name: str) -> Any | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return client.online_endpoints.get(name)
    except ResourceNotFoundError:
        return None


def log_tail(client: Any, endpoint: str, deployment: str, lines: int = LOG_TAIL_LINES) -> str:
    """The deployment's inference-server log tail (POST .../getLogs), or why it is not available."""
    from azure.ai.ml.exceptions import MlException
    from azure.core.exceptions import AzureError

    try:
        text = str(client.online_deployments.get_logs(deployment, endpoint, lines) or "").rstrip()
    except (AzureError, MlException) as error:
        return f"(logs not available: {_first_line(error)})"
    return text or "(the deployment wrote no logs)"


def _fail(client: Any, endpoint: str, deployment: str, what: str, err: TextIO) -> RolloutFailed:
    err.write(f"--- last {LOG_TAIL_LINES} log lines of {endpoint}/{deployment} ---\n")
    err.write(log_tail(client, endpoint, deployment) + "\n---\n")
    return RolloutFailed(
        f"{what}; traffic of endpoint {endpoint} is unchanged and no deployment was removed "
        f"(logs above; again: azml-jobs endpoints logs {endpoint} --deployment {deployment})"
    )


def smoke_test(client: Any, endpoint: str, deployment: str, request: Any) -> None:
    """One request to `deployment` alone (azureml-model-deployment header), whatever its traffic."""
    from jobs.sdk_private import invoke_deployment

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "request.json"
        path.write_text(json.dumps(request))
        invoke_deployment(client, endpoint, deployment, str(path))


def check_quota(built: BuiltDeployment, target: Target, client: Any) -> None:
    """The new deployment next to every deployment of the workspace's endpoints (they share the
    subscription's regional quota of the family, whatever project tag they carry), each with its
    upgrade reserve; a deployment of the same name is replaced, so it is not counted."""
    name, endpoint_name = built.deployment.name, built.endpoint.name
    with azure_errors(target, "reading the deployments that hold quota"):
        deployments = [
            (endpoint.name, d.name, str(d.instance_type or ""), int(d.instance_count or 0))
            for endpoint in client.online_endpoints.list()
            for d in client.online_deployments.list(endpoint.name)
            if (endpoint.name, d.name) != (endpoint_name, name)
        ]
    held = quota.holdings(deployments, built.sku.family)
    problem = quota.refusal(built.sku, built.deployment.instance_count, built.quota, held, built.quota_source)
    if problem:
        raise JobsError(problem)


def deploy(
    built: BuiltDeployment,
    target: Target,
    client: Any,
    out: TextIO,
    err: TextIO,
    *,
    registry_client: Any = None,
    sample_request: Any = None,
) -> tuple[str | None, int]:
    """Blue/green: endpoint if missing, new deployment at 0%, healthy, smoke-tested, then traffic;
    `retire_old` deletes the deployments that served before, only after traffic moved. Returns
    the scoring URI (None if the endpoint reports none: `scoringUri` is optional and read-only,
    `EndpointPropertiesBase` in azure-ai-ml's arm_ml_service models) and the new deployment's share."""
    from azure.ai.ml.exceptions import MlException
    from azure.core.exceptions import HttpResponseError

    endpoint_name, deployment = built.endpoint.name, built.deployment
    model = built.model
    with azure_errors(target, f"looking up model {model}"):
        # registry_client: the model's registry's, for a registry model only
        models = (registry_client or client).models
        registered = models.get(name=model.name, version=model.version)
    problem = inference_problem(str(model), registered.tags or {}, deployment.instance_type)
    if problem:
        raise JobsError(problem)
    check_quota(built, target, client)

    with azure_errors(target, f"reading endpoint {endpoint_name}"):
        existing = _find_endpoint(client, endpoint_name)
        if existing is not None and (existing.tags or {}).get("project") != target.project:
            raise JobsError(
                f"endpoint {endpoint_name} exists but is not tagged with project {target.project}: "
                "endpoint names are unique per region, choose another --endpoint"
            )
        before = dict(existing.traffic or {}) if existing is not None else {}
        if problem := tag_problem(endpoint_name, before):
            raise JobsError(problem)
        if before.get(deployment.name):
            raise JobsError(
                f"deployment {deployment.name} serves {before[deployment.name]}% of {endpoint_name}: updating it "
                "in place would roll out to live traffic; name a new one with --deployment"
            )
        if existing is None:
            out.write(f"creating endpoint {endpoint_name} (auth {built.endpoint.auth_mode})\n")
            out.flush()
            wait_for(
                client.online_endpoints.begin_create_or_update(built.endpoint),
                f"endpoint {endpoint_name}",
                out,
            )
        else:
            out.write(f"endpoint {endpoint_name} exists; its traffic stays {_traffic_text(before)} for now\n")

    out.write(f"creating deployment {endpoint_name}/{deployment.name} at 0% traffic (LLMs take 10-30 min)\n")
    out.flush()
    try:
        with azure_errors(target, f"creating deployment {deployment.name}"):
            poller = client.online_deployments.begin_create_or_update(deployment)
            wait_for(poller, f"deployment {deployment.name}", out)
    except JobsError as error:
        raise _fail(
            client, endpoint_name, deployment.name, f"deployment {deployment.name} failed: {error}", err
        ) from error

    out.write(f"smoke test: one request to {deployment.name} alone\n")
    out.flush()
    try:
        smoke_test(client, endpoint_name, deployment.name, sample_request or DEFAULT_SAMPLE_REQUEST)
    except (HttpResponseError, MlException) as error:
        raise _fail(
            client,
            endpoint_name,
            deployment.name,
            f"smoke test of {deployment.name} failed: {_first_line(error)}",
            err,
        ) from error

    with azure_errors(target, f"routing traffic of {endpoint_name}"):
        # Read again: the traffic may have changed while the deployment was created.
        current = client.online_endpoints.get(endpoint_name)
        # The SDK's get lists every deployment, those without a share at 0: keep only the shares.
        previous = {name: share for name, share in (current.traffic or {}).items() if share}
        if problem := tag_problem(endpoint_name, previous):
            # The traffic changed during the rollout: the new deployment stays at 0%.
            raise RolloutFailed(f"{problem}; traffic is unchanged and deployment {deployment.name} serves 0%")
        current.traffic = new_traffic(previous, deployment.name, built.traffic)
        if current.traffic[deployment.name] != built.traffic:
            out.write(f"note: no other deployment serves {endpoint_name}, so {deployment.name} gets 100%\n")
        current.tags = {**(current.tags or {}), PREVIOUS_TRAFFIC_TAG: traffic_tag(previous)}
        updated = wait_for(
            client.online_endpoints.begin_create_or_update(current), f"traffic of {endpoint_name}", out
        )
    out.write(f"traffic of {endpoint_name}: {_traffic_text(previous)} -> {_traffic_text(current.traffic)}\n")

    if built.retire_old:
        for old in sorted(name for name in previous if name != deployment.name):  # those with a share
            with azure_errors(target, f"deleting deployment {old}"):
                wait_for(client.online_deployments.begin_delete(old, endpoint_name), f"deleting {old}", out)
            out.write(f"retired deployment {old}\n")
    return updated.scoring_uri, int(current.traffic[deployment.name])


def _traffic_text(traffic: Mapping[str, int]) -> str:
    shown = {name: share for name, share in sorted(traffic.items()) if share}
    return ", ".join(f"{name}={share}%" for name, share in shown.items()) or "none"


def rollback(endpoint_name: str, target: Target, client: Any, out: TextIO, *, wait: bool) -> None:
    """Traffic back to what it was before the last `deploy` (the endpoint's tag); deletes nothing.
    `wait`: follow the endpoint update to its end (else return once Azure accepted it)."""
    if problem := name_problem("endpoint", endpoint_name):
        raise JobsError(problem)
    with azure_errors(target, f"rolling back endpoint {endpoint_name}"):
        endpoint = client.online_endpoints.get(endpoint_name)
        recorded = (endpoint.tags or {}).get(PREVIOUS_TRAFFIC_TAG)
        try:
            previous = {str(k): int(v) for k, v in json.loads(recorded).items()} if recorded else {}
        except (ValueError, AttributeError) as error:
            raise JobsError(
                f"endpoint {endpoint_name} tag {PREVIOUS_TRAFFIC_TAG} is not a traffic map: {recorded!r}"
            ) from error
        if not any(previous.values()):
            raise JobsError(
                f"endpoint {endpoint_name} records no earlier traffic to go back to (tag {PREVIOUS_TRAFFIC_TAG})"
            )
        present = {d.name for d in client.online_deployments.list(endpoint_name)}
        missing = sorted(name for name, share in previous.items() if share and name not in present)
        if missing:
            raise JobsError(
                f"cannot roll back {endpoint_name}: deployment {', '.join(missing)} no longer exists (retired?)"
            )
        current = {name: share for name, share in (endpoint.traffic or {}).items() if share}
        if problem := tag_problem(endpoint_name, current):
            raise JobsError(problem)
        endpoint.traffic = {name: share for name, share in previous.items() if share}
        # Record what we replaced, so a second rollback goes forward again.
        endpoint.tags = {**endpoint.tags, PREVIOUS_TRAFFIC_TAG: traffic_tag(current)}
        poller = client.online_endpoints.begin_create_or_update(endpoint)
    change = f"traffic of {endpoint_name}: {_traffic_text(current)} -> {_traffic_text(endpoint.traffic)}"
    if not wait:
        out.write(
            not_followed(
                change, f"azml-jobs endpoints --stack {target.environment} --project {target.project}"
            )
        )
        return
    follow(poller, f"updating the traffic of endpoint {endpoint_name}", out)
    out.write(change + "\n")
