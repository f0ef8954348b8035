"""Network paths of the platform model: each workspace's outbound rules, its firewall, and how it
reaches the Azure ML registry it is configured to use.

Sources:
- "Workspace managed virtual network isolation"
  (learn.microsoft.com/azure/machine-learning/how-to-managed-network): private endpoint outbound
  rules are allowed in both managed modes; FQDN rules need AllowOnlyApprovedOutbound and provision
  a managed Azure Firewall (billed; `firewallSku` Standard by default, or Basic); the isolation mode
  cannot be switched back to Disabled, nor from AllowOnlyApprovedOutbound to AllowInternetOutbound.
- "Network isolation with Azure Machine Learning registries"
  (learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation): a workspace in a
  managed network reaches a private registry through a private endpoint outbound rule to it, with
  the sub-resource `amlregistry`; clients in a virtual network through a private endpoint of group
  `amlregistry` in the `privatelink.api.azureml.ms` zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.config.models import EnvironmentConfig, FqdnRule, OutboundRule, PrivateEndpointRule

# The platform's own rule name for the registry path; users cannot take it (config validation).
REGISTRY_RULE = "ml-registry"
REGISTRY_SUBRESOURCE = "amlregistry"

PathKind = Literal["managed network private endpoint", "public endpoint"]


@dataclass(frozen=True)
class RegistryPath:
    """How one workspace's jobs reach the registry: through an outbound private endpoint of its
    managed network, or over the registry's public endpoint (Entra ID auth still required)."""

    registry_id: str
    kind: PathKind
    rule: str | None  # the outbound rule carrying it, for a private endpoint

    def describe(self) -> str:
        via = f" (outbound rule {self.rule})" if self.rule else ""
        return f"{self.kind}{via} to {self.registry_id}"


@dataclass(frozen=True)
class WorkspaceNetwork:
    """The managed network of one workspace, decided once."""

    isolation_mode: str
    outbound_rules: dict[str, OutboundRule]
    firewall_sku: str | None  # a managed Azure Firewall is provisioned (FQDN rules), and its SKU
    registry_path: RegistryPath | None  # None: no path (refused by the checks)


def registry_is_public(environment: EnvironmentConfig) -> bool:
    registry = environment.registry
    if registry.create is not None:
        return registry.create.public_network_access
    return registry.existing_public_network_access


def workspace_network(environment: EnvironmentConfig, registry_id: str) -> WorkspaceNetwork:
    network = environment.network
    rules: dict[str, OutboundRule] = dict(network.outbound_rules)
    managed = network.isolation_mode != "Disabled"
    path: RegistryPath | None
    if managed:
        # A private endpoint works whether the registry is public or private, and keeps registry
        # traffic (model and environment pulls) off the internet.
        rules[REGISTRY_RULE] = PrivateEndpointRule(
            type="PrivateEndpoint",
            service_resource_id=registry_id,
            subresource_target=REGISTRY_SUBRESOURCE,
        )
        path = RegistryPath(registry_id, "managed network private endpoint", REGISTRY_RULE)
    elif registry_is_public(environment):
        path = RegistryPath(registry_id, "public endpoint", None)
    else:
        path = None
    fqdn = any(isinstance(rule, FqdnRule) for rule in rules.values())
    return WorkspaceNetwork(
        isolation_mode=network.isolation_mode,
        outbound_rules=dict(sorted(rules.items())),
        firewall_sku=network.firewall_sku if fqdn else None,
        registry_path=path,
    )
