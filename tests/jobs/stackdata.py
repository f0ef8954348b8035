"""Shared test data: a stack-outputs document in the docs/stack-outputs.md shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SERVERLESS_REGION = "westus3"  # offers serverless fine-tuning of the example's model (jobs/serverless.py)
RECIPES = REPO / "jobs" / "recipes"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RESOURCE_GROUP = "rg-mlp-dev-nlp-research"
WORKSPACE = "mlw-mlp-dev-nlp-research"
CLUSTER_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
    f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}/computes/a100"
)


def stack_outputs(location: str = "westeurope") -> dict[str, Any]:
    """The docs/stack-outputs.md shape, with floats as some Pulumi runtimes return them.

    The real stacks are in westeurope; serverless fine-tuning tests use a region that offers it."""
    return {
        "environment": "dev",
        "location": location,
        "subscription_id": SUBSCRIPTION,
        "tenant_id": "11111111-1111-1111-1111-111111111111",
        "shared_resource_group": "rg-mlp-dev-shared",
        "registry": {"name": "mlpdevreg", "id": "/registries/mlpdevreg", "managed": False},
        "projects": {
            "nlp-research": {
                "resource_group": RESOURCE_GROUP,
                "workspace_name": WORKSPACE,
                "workspace_id": f"/subscriptions/{SUBSCRIPTION}/workspaces/{WORKSPACE}",
                "storage_account": "stmlpdevnlpresearch",
                "key_vault": "kvmlpdevnlpresearche009",
                "clusters": {
                    "a100": {
                        "name": "a100",
                        "id": CLUSTER_ID,
                        "vm_size": "Standard_NC96ads_A100_v4",
                        "min_nodes": 0.0,
                        "max_nodes": 2.0,
                        "gpus_per_node": 4.0,
                        "vcpus_per_node": 96.0,
                        "priority": "Dedicated",
                    },
                },
            },
            "vision": {
                "resource_group": "rg-mlp-dev-vision",
                "workspace_name": "mlw-mlp-dev-vision",
                "workspace_id": "/w",
                "storage_account": "st",
                "clusters": {
                    "t4": {
                        "name": "t4",
                        "id": "/computes/t4",
                        "vm_size": "Standard_NC4as_T4_v3",
                        "min_nodes": 0,
                        "max_nodes": 1,
                        "gpus_per_node": 1,
                        "vcpus_per_node": 4,
                        "priority": "LowPriority",
                    },
                    "h100": {
                        "name": "h100",
                        "id": "/computes/h100",
                        "vm_size": "Standard_ND96isr_H100_v5",
                        "min_nodes": 0,
                        "max_nodes": 4,
                        "gpus_per_node": 8,
                        "vcpus_per_node": 96,
                        "priority": "Dedicated",
                    },
                },
            },
        },
    }
