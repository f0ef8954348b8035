"""Where serverless (model-as-a-service) fine-tuning of a catalog model is offered.

A serverless fine-tuning job runs in the region of the workspace that submits it, and the
service offers each model there only in some regions ("Region availability for models in
serverless API deployments", learn.microsoft.com/azure/ai-foundry/how-to/deploy-models-serverless-availability:
the hub/project must be in a region where the model is available for fine-tuning). Submitting
from another region fails on the service after validation, so it is checked before.

Sources, per model:
- Phi-3.5-mini-instruct: its catalog metadata in Azure/azureml-assets
  (assets/models/system/phi-3.5-mini-128k-instruct/spec.yaml at 4b41f8ccbc01,
  system_metadata.maasFinetuning.maasFinetuningDeployRegions).
- Meta-Llama-3.1-8B-Instruct: "Region availability for models in serverless API endpoints"
  (learn.microsoft.com/azure/machine-learning/concept-endpoint-serverless-availability, the table
  MicrosoftDocs/azure-ai-docs articles/ai-foundry/includes/region-availability-maas.md at
  0b6d261ccb80, ms.date 2025-11-24), Meta Llama models, row "Llama 3.1 8B Instruct", column
  "Hub/Project Region for Fine tuning": West US 3 only. (Its serverless *deployment* is offered in
  more regions: East US, East US 2, North Central US, South Central US, West US, West US 3 and
  Sweden Central, which is what this table held before.)

A fine-tuned model deploys to a serverless endpoint only in a region that also offers fine-tuning
of its base model (Learn, "Fine-tune models using standard deployments", "Cross region
deployment"), so `deploy-serverless` checks the same facts (jobs/maas.py).

A model that is not listed is not checked here (a note says so); the service decides.
"""

from __future__ import annotations

from collections.abc import Mapping

SERVERLESS_FINETUNING_REGIONS: Mapping[str, frozenset[str]] = {
    "Phi-3.5-mini-instruct": frozenset(
        {"eastus2", "eastus", "northcentralus", "westus3", "westus", "southcentralus"}
    ),
    "Meta-Llama-3.1-8B-Instruct": frozenset({"westus3"}),
}


def region_problem(model: str, location: str) -> str | None:
    """Why `model` cannot be fine-tuned serverless from a workspace in `location`, or None."""
    regions = SERVERLESS_FINETUNING_REGIONS.get(model)
    normalized = location.replace(" ", "").lower()
    if regions is None or not normalized or normalized in regions:
        return None
    return (
        f"serverless fine-tuning of {model} is not offered in {location} (this project's workspace region); "
        f"it is offered from workspaces in: {', '.join(sorted(regions))}. Submit from a project whose "
        "workspace is in one of those regions, or fine-tune on your cluster instead (kind: catalog)"
    )


def unchecked_note(model: str) -> str | None:
    if model in SERVERLESS_FINETUNING_REGIONS:
        return None
    return f"no region facts for serverless fine-tuning of {model} in jobs/serverless.py: only the service checks"
