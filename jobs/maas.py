"""`deploy-serverless`: a serverless (model-as-a-service) fine-tune to a serverless endpoint.

Serverless fine-tuning produces a model that is served by a serverless API endpoint, not by a
managed online deployment on GPUs (Microsoft Learn, "Deploy models as serverless APIs",
MicrosoftDocs/azure-docs articles/machine-learning/how-to-deploy-models-serverless.md). A deployed
fine-tuned model bills an hourly hosting fee for as long as its endpoint exists, requests or not,
on top of its tokens (Learn, "Fine-tune models using standard deployments in Azure AI Foundry",
"Deploy a fine-tuned model"; pricing on the deployment wizard's "Pricing and terms" tab):

- a model from a non-Microsoft registry (anything but `azureml://registries/azureml/`) needs the
  workspace's marketplace subscription to its offer first: `workspaces/marketplaceSubscriptions`
  with `modelId` = the catalog model's id *without* a version. A workspace subscribes to an offer
  once: creating the subscription again fails ("this will throw exception if the subscription
  already exists", Learn's and Azure/azureml-examples' chat_completion_with_model_as_service
  sample), so an existing subscription to the same offer is used as it is;
- then `workspaces/serverlessEndpoints` with `modelSettings.modelId` = the model to serve; for a
  fine-tuned model, its workspace model as
  `azureml://locations/<region>/workspaces/<workspace guid>/models/<name>/versions/<version>`, the
  form Learn's sample deploys (the ARM id of the model version is not documented there). Azure
  allows one serverless deployment per model per project (Learn, same article, "Cost and quota
  considerations"), so a model another endpoint of the workspace already serves is refused
  before anything is written.

Both are long-running PUTs. The endpoint runs in the workspace's region, which must offer the
base model (jobs/serverless.py, the same facts `finetune` checks).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TextIO

from jobs.components import WORKSPACE_GUID_PLACEHOLDER, workspace_asset_uri
from jobs.deploy import name_problem, parse_model
from jobs.errors import JobsError
from jobs.operations import follow, not_followed
from jobs.serverless import region_problem
from jobs.submit import azure_errors
from jobs.targets import Target

_CATALOG_MODEL = re.compile(r"^azureml://registries/([^/]+)/models/([^/]+)$")
MICROSOFT_REGISTRY = "azureml"


@dataclass(frozen=True)
class ServerlessPlan:
    endpoint: Any  # ServerlessEndpoint
    subscription: Any | None  # MarketplaceSubscription, None for Microsoft's own models
    model_name: str
    model_version: str


def build(endpoint: str, model: str, base_model: str, target: Target, tags: dict[str, str]) -> ServerlessPlan:
    problems = [p for p in [name_problem("endpoint", endpoint)] if p]
    ref = parse_model(model)
    if ref is None or ref.registry:
        problems.append(
            f"model {model!r} must be NAME:VERSION of the fine-tuned model in the project's workspace"
        )
    base = _CATALOG_MODEL.match(base_model)
    if base is None:
        problems.append(
            f"--base-model {base_model!r} must be azureml://registries/REGISTRY/models/NAME (no version: "
            "the marketplace offer is per model)"
        )
    elif region := region_problem(base.group(2), target.location):
        problems.append(region.replace("serverless fine-tuning", "serverless deployment", 1))
    if problems:
        raise JobsError("\n".join(problems))
    assert ref is not None and base is not None
    from azure.ai.ml.entities import MarketplaceSubscription, ServerlessEndpoint

    subscription = None
    if base.group(1) != MICROSOFT_REGISTRY:
        name = re.sub(r"[^A-Za-z0-9-]+", "-", base.group(2))[:50].strip("-") + "-subscription"
        subscription = MarketplaceSubscription(name=name, model_id=base_model)
    # The model id is filled in once the workspace (its guid) has been read.
    serverless = ServerlessEndpoint(name=endpoint, model_id="", tags=tags)
    # The SDK would use the workspace's region too (it reads the workspace); set it for --dry-run.
    serverless.location = target.location
    return ServerlessPlan(serverless, subscription, ref.name, ref.version)


def render(plan: ServerlessPlan, target: Target) -> str:
    parts = []
    if plan.subscription is not None:
        parts += [
            f"# PUT .../workspaces/{target.workspace_name}/marketplaceSubscriptions/{plan.subscription.name}:",
            json.dumps(plan.subscription._to_rest_object().as_dict(), indent=2, sort_keys=True),
        ]
    plan.endpoint.model_id = fine_tuned_model_id(plan, target, WORKSPACE_GUID_PLACEHOLDER)
    parts += [
        f"# PUT .../workspaces/{target.workspace_name}/serverlessEndpoints/{plan.endpoint.name}:",
        json.dumps(plan.endpoint._to_rest_object().as_dict(), indent=2, sort_keys=True),
        "",
    ]
    return "\n".join(parts)


def fine_tuned_model_id(plan: ServerlessPlan, target: Target, workspace_guid: str) -> str:
    """The fine-tuned workspace model as a serverless endpoint's `modelId`."""
    return workspace_asset_uri(target.location, workspace_guid, "models", plan.model_name, plan.model_version)


_MODEL_VERSION = re.compile(r"/models/([^/]+)/versions/([^/]+)$")


def serving_endpoints(plan: ServerlessPlan, endpoints: Any) -> list[str]:
    """The other serverless endpoints of the workspace that serve the plan's model, by the
    model's name and version in their model id (whatever form it was given in)."""
    wanted = (plan.model_name, plan.model_version)
    return sorted(
        str(endpoint.name)
        for endpoint in endpoints
        if endpoint.name != plan.endpoint.name
        and (found := _MODEL_VERSION.search(str(getattr(endpoint, "model_id", "") or "")))
        and found.groups() == wanted
    )


def _same_offer(model_id: str | None, offer: str) -> bool:
    return (model_id or "").rstrip("/").lower() == offer.rstrip("/").lower()


def subscribe(plan: ServerlessPlan, target: Target, client: Any, out: TextIO) -> None:
    """The workspace's subscription to the base model's offer: an existing one to the same offer
    (whatever its name) is used; otherwise it is created and followed (the endpoint needs it)."""
    wanted = plan.subscription
    if wanted is None:
        return
    with azure_errors(target, "reading the workspace's marketplace subscriptions"):
        held = [
            s for s in client.marketplace_subscriptions.list() if _same_offer(s.model_id, wanted.model_id)
        ]
    if held:
        status = str(held[0].status or "")
        if status.lower() != "subscribed":
            raise JobsError(
                f"the workspace's marketplace subscription {held[0].name} to {wanted.model_id} is {status or 'in no state'}, "
                "not subscribed: the endpoint would be refused; see its state in the Azure portal"
            )
        out.write(f"the workspace already subscribes to the offer of {wanted.model_id} ({held[0].name})\n")
        return
    out.write(f"subscribing the workspace to the marketplace offer of {wanted.model_id}\n")
    with azure_errors(target, f"subscribing to {wanted.model_id}"):
        subscribing = client.marketplace_subscriptions.begin_create_or_update(wanted)
    follow(subscribing, f"marketplace subscription {wanted.name}", out)


def deploy(plan: ServerlessPlan, target: Target, client: Any, out: TextIO, *, wait: bool) -> None:
    """Subscription (always followed: the endpoint needs it), then the endpoint (followed with
    `wait`, else the command returns once Azure accepted it)."""
    from jobs.sdk_private import workspace_guid

    model = f"{plan.model_name}:{plan.model_version}"
    with azure_errors(target, f"looking up model {model}"):
        client.models.get(name=plan.model_name, version=plan.model_version)
        guid = workspace_guid(client.workspaces.get(target.workspace_name))
    if not guid:
        raise JobsError(
            f"workspace {target.workspace_name} reports no workspace id: cannot name model {model}"
        )
    with azure_errors(target, "listing the workspace's serverless endpoints"):
        serving = serving_endpoints(plan, client.serverless_endpoints.list())
    if serving:
        raise JobsError(
            f"{model} is already served by serverless endpoint {', '.join(serving)}: Azure allows one "
            "deployment per model per project; use that endpoint, or delete it first "
            f"(az ml serverless-endpoint delete --name {serving[0]} --resource-group {target.resource_group} "
            f"--workspace-name {target.workspace_name})"
        )
    subscribe(plan, target, client, out)
    plan.endpoint.model_id = fine_tuned_model_id(plan, target, guid)
    out.write(f"creating serverless endpoint {plan.endpoint.name} in {target.location}\n")
    label = f"serverless endpoint {plan.endpoint.name}"
    with azure_errors(target, f"creating {label}"):
        poller = client.serverless_endpoints.begin_create_or_update(plan.endpoint)
    if not wait:
        out.write(
            not_followed(
                f"creating {label}",
                f"az ml serverless-endpoint show --name {plan.endpoint.name} --resource-group {target.resource_group} "
                f"--workspace-name {target.workspace_name}",
            )
        )
        return
    created = follow(poller, f"creating {label}", out)
    uri = getattr(created, "scoring_uri", None) or getattr(created, "inference_endpoint", None) or ""
    out.write(
        f"serverless endpoint {plan.endpoint.name} serves {model}: a fine-tuned model bills an hourly hosting "
        f"fee while the endpoint exists, plus its tokens (delete it when idle: az ml serverless-endpoint delete "
        f"--name {plan.endpoint.name})\n{uri}\n"
    )
