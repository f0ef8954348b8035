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

Serverless *fine-tuning* of a non-Microsoft model needs the same subscription: Azure Marketplace
bills fine-tuning and inference on the one resource a subscription creates (Microsoft Learn,
"Fine-tune models using serverless APIs", MicrosoftDocs/azure-ai-docs
articles/ai-foundry/how-to/fine-tune-serverless.md, "Cost for non-Microsoft models"), and
Azure/azureml-examples' serverless fine-tuning notebook
(sdk/python/jobs/finetuning/standalone/model-as-a-service/chat-completion/
chat_completion_with_model_as_service.ipynb) subscribes first, to
`"/".join(model.id.split("/")[:-2])`: the model's id without `/versions/V`. Creating a
subscription accepts the offer's terms and conditions (Microsoft Learn, "Deploy models as
serverless APIs", "Subscribe your workspace to the model offering").

A subscription is usable when its `marketplaceSubscriptionStatus` is Subscribed; the REST spec
(azure-ai-ml 1.35.2 `_restclient/arm_ml_service/models/_enums.py`,
`MarketplaceSubscriptionStatus`) defines Subscribed ("can now use the ... model and will be
billed"), Suspended ("could not be billed ... will not be able to access the model") and
Unsubscribed (cancelled by the customer, or after being suspended for non-payment). Its
`provisioningState` follows ARM: Creating/Updating while it is set up, Succeeded, Failed,
Canceled, Deleting.
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
from jobs.recipes import LoadedRecipe, Problem, ServerlessRecipe, raise_problems
from jobs.serverless import region_problem
from jobs.submit import _first_line, azure_errors
from jobs.targets import Target

_CATALOG_MODEL = re.compile(r"^azureml://registries/([^/]+)/models/([^/]+)$")
# Microsoft's own catalog models: served and fine-tuned serverless without a marketplace subscription.
MICROSOFT_REGISTRY = "azureml"


class NotSubscribed(JobsError):
    """The workspace has no usable marketplace subscription to a model's offer."""


def needs_subscription(registry: str) -> bool:
    """Whether a catalog model of `registry` is sold through Azure Marketplace (non-Microsoft)."""
    return registry != MICROSOFT_REGISTRY


def offer_model_id(registry: str, model: str) -> str:
    """The `modelId` of the marketplace offer: the catalog model's id without its version."""
    return f"azureml://registries/{registry}/models/{model}"


def new_subscription(registry: str, model: str) -> Any:
    """The MarketplaceSubscription this tool creates for a model's offer, named after the model."""
    from azure.ai.ml.entities import MarketplaceSubscription

    name = re.sub(r"[^A-Za-z0-9-]+", "-", model)[:50].strip("-") + "-subscription"
    return MarketplaceSubscription(name=name, model_id=offer_model_id(registry, model))


def _spelled(value: str) -> str:
    # The SDK entity turns the service's values to snake case (azure-ai-ml 1.35.2,
    # MarketplaceSubscription._from_rest_object: camel_to_snake); show them as the service spells them.
    return "".join(word.capitalize() for word in value.split("_"))


def state_problem(subscription: Any, target: Target) -> str | None:
    """Why an existing subscription cannot be used, or None when it is Subscribed and provisioned."""
    label = f"the workspace's marketplace subscription {subscription.name} to {subscription.model_id}"
    delete = (
        f"delete it (az ml marketplace-subscription delete --name {subscription.name} --resource-group "
        f"{target.resource_group} --workspace-name {target.workspace_name}) and run again with --subscribe"
    )
    status = (subscription.status or "").lower()
    if status == "suspended":
        return (
            f"{label} is Suspended: Azure Marketplace could not bill it, and the model cannot be used until "
            "the payment problem is solved (its SaaS resource in the workspace's resource group, Azure portal)"
        )
    if status == "unsubscribed":
        return f"{label} is Unsubscribed (cancelled, or ended after a suspension for non-payment): {delete}"
    if status and status != "subscribed":
        return f"{label} is {_spelled(status)}, not Subscribed: run again once it is Subscribed"
    state = (subscription.provisioning_state or "").lower()
    if state in ("creating", "updating"):
        return f"{label} is still being provisioned ({_spelled(state)}): run again once it is Succeeded"
    if state == "deleting":
        return f"{label} is being deleted: run again with --subscribe once it is gone"
    if state and state != "succeeded":
        return f"{label} ended provisioning {_spelled(state)}: {delete}"
    return None


def existing_subscription(client: Any, model_id: str) -> Any | None:
    """The workspace's subscription to the offer `model_id`, a Subscribed one first; None without one.

    Listed, not read by name: a subscription made in the studio or by another tool has a name of
    its own. Compared ignoring case: the service's case rules for model ids are not documented,
    and a spelling difference must not make us ask for a second subscription to the same offer."""
    wanted = model_id.lower()
    found = [s for s in client.marketplace_subscriptions.list() if (s.model_id or "").lower() == wanted]
    found.sort(key=lambda s: (s.status or "").lower() != "subscribed")
    return found[0] if found else None


def ensure_subscription(wanted: Any, target: Target, client: Any, out: TextIO, *, create: bool) -> str | None:
    """Check that the workspace may use the marketplace offer of `wanted` (a MarketplaceSubscription
    from `new_subscription`); with `create`, subscribe it as `wanted` when it has no subscription.

    Returns a note when the workspace's subscriptions could not be read (the service then
    decides); raises `NotSubscribed` when it has none (without `create`) or an unusable one."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    note = None
    try:
        existing = existing_subscription(client, wanted.model_id)
    except (ClientAuthenticationError, HttpResponseError, ServiceRequestError, ServiceResponseError) as error:
        existing = None
        note = (
            f"marketplace subscriptions not readable ({_first_line(error)}): the workspace's subscription "
            f"to {wanted.model_id} not checked"
        )
        if not create:
            return note
    if existing is None and not create:
        raise NotSubscribed(
            f"the project's workspace has no marketplace subscription to {wanted.model_id}, which a "
            f"non-Microsoft model needs (Microsoft's own, registry {MICROSOFT_REGISTRY}, need none): run again "
            "with --subscribe to create it; subscribing accepts the offer's terms and conditions, and Azure "
            "Marketplace bills the model's use"
        )
    subscription = existing if existing is not None else create_subscription(wanted, target, client, out)
    problem = state_problem(subscription, target)
    if problem:
        raise NotSubscribed(problem)
    return note


def check_finetune(
    loaded: LoadedRecipe, target: Target, client: Any, out: TextIO, *, subscribe: bool
) -> list[str]:
    """`finetune`'s marketplace check of a serverless recipe's non-Microsoft model (online only);
    notes for what could not be checked. `subscribe` creates a missing subscription."""
    recipe = loaded.recipe
    if not isinstance(recipe, ServerlessRecipe) or not needs_subscription(recipe.model.registry):
        return []
    wanted = new_subscription(recipe.model.registry, recipe.model.name)
    try:
        note = ensure_subscription(wanted, target, client, out, create=subscribe)
    except NotSubscribed as error:
        raise_problems(loaded.source, [Problem("model", str(error))])
        raise  # unreachable: raise_problems raised
    return [note] if note else []


def create_subscription(subscription: Any, target: Target, client: Any, out: TextIO) -> Any:
    """Create the subscription and follow its long-running operation; the created subscription."""
    out.write(f"subscribing the workspace to the marketplace offer of {subscription.model_id}\n")
    with azure_errors(target, f"subscribing to {subscription.model_id}"):
        subscribing = client.marketplace_subscriptions.begin_create_or_update(subscription)
    return follow(subscribing, f"marketplace subscription {subscription.name}", out)


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
    from azure.ai.ml.entities import ServerlessEndpoint

    registry, model_name = base.groups()
    subscription = new_subscription(registry, model_name) if needs_subscription(registry) else None
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


def deploy(plan: ServerlessPlan, target: Target, client: Any, out: TextIO, *, wait: bool) -> None:
    """The subscription when the workspace has none (always followed: the endpoint needs it),
    then the endpoint (followed with `wait`, else the command returns once Azure accepted it)."""
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
    if plan.subscription is not None:
        note = ensure_subscription(plan.subscription, target, client, out, create=True)
        if note:
            out.write(f"note: {note}\n")
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
