"""Azure's rules for the network settings a stack file can give: outbound rule names and
destinations, private-endpoint sub-resources and the private DNS zone each one registers in.

Sources:
- Outbound rule names: azure-rest-api-specs, Microsoft.MachineLearningServices workspaces
  `outboundRules/{ruleName}` path parameter, pattern `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$`.
- Exfiltration: a service tag rule opens the whole service, every customer's resources included
  (learn.microsoft.com/azure/machine-learning/how-to-prevent-data-loss-exfiltration).
- Private DNS zones: "Azure Private Endpoint private DNS zone values"
  (learn.microsoft.com/azure/private-link/private-endpoint-dns), public cloud.
- Sub-resources (group ids): the same page, per resource type.
"""

from __future__ import annotations

import re

OUTBOUND_RULE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}")
# Microsoft's own examples write `80, 8080-8089`: a space may follow each comma.
PORT_RANGES = re.compile(r"\d{1,5}(?:-\d{1,5})?(?:, ?\d{1,5}(?:-\d{1,5})?)*")
# A host name, optionally with one leading wildcard label (managed networks accept `*.example.com`).
_FQDN = re.compile(
    r"(?:\*\.)?(?=.{1,253}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}"
)

# Service tags Microsoft names as exfiltration paths ("Azure Machine Learning data exfiltration
# prevention", learn.microsoft.com/azure/machine-learning/how-to-prevent-data-loss-exfiltration:
# "Storage and AzureFrontDoor.frontend can be used for data exfiltration"), lower case;
# `Storage.<region>` is the same service in one region.
EXFILTRATION_SERVICE_TAGS = frozenset({"storage", "azurefrontdoor.frontend"})


def is_exfiltration_tag(tag: str) -> bool:
    lowered = tag.lower()
    return lowered in EXFILTRATION_SERVICE_TAGS or lowered.startswith("storage.")


# Key of the stack file's dns_zone_ids -> the zone its endpoints register in (public cloud).
DNS_ZONES: dict[str, str] = {
    "blob": "privatelink.blob.core.windows.net",
    "file": "privatelink.file.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
    "registry": "privatelink.azurecr.io",
    "amlworkspace": "privatelink.api.azureml.ms",
    "notebooks": "privatelink.notebooks.azure.net",
}

# Resource type (lower case) -> the private-endpoint sub-resources it offers.
SUBRESOURCES: dict[str, frozenset[str]] = {
    "microsoft.storage/storageaccounts": frozenset(
        f"{service}{suffix}"
        for service in ("blob", "file", "queue", "table", "dfs", "web")
        for suffix in ("", "_secondary")
    ),
    "microsoft.keyvault/vaults": frozenset({"vault"}),
    "microsoft.containerregistry/registries": frozenset({"registry"}),
    "microsoft.machinelearningservices/workspaces": frozenset({"amlworkspace"}),
    "microsoft.machinelearningservices/registries": frozenset({"amlregistry"}),
    "microsoft.cognitiveservices/accounts": frozenset({"account"}),
    "microsoft.search/searchservices": frozenset({"searchService"}),
    "microsoft.sql/servers": frozenset({"sqlServer"}),
    "microsoft.documentdb/databaseaccounts": frozenset(
        {"Sql", "MongoDB", "Cassandra", "Gremlin", "Table", "Analytical"}
    ),
}
_RESOURCE_TYPE = re.compile(r"/providers/([^/]+/[^/]+)/[^/]+$")


def check_fqdn(value: str) -> str:
    if "/" in value or ":" in value:  # a scheme (`https://`), a path or a port
        raise ValueError(
            f"{value!r} is a URL or has a port or path; an FQDN rule takes a host name such as pypi.org"
        )
    if not _FQDN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a host name; give one such as pypi.org or *.pythonhosted.org "
            "(a lone '*' would allow everything)"
        )
    return value


def check_subresource(resource_id: str, subresource: str) -> None:
    match = _RESOURCE_TYPE.search(resource_id)
    if match is None:
        raise ValueError(
            f"{resource_id!r} is not the id of one resource (…/providers/<namespace>/<type>/<name>)"
        )
    offered = SUBRESOURCES.get(match.group(1).lower())
    # Group ids are matched without case (Microsoft's pages write both `blob` and `Blob`).
    if offered is not None and subresource.lower() not in {o.lower() for o in offered}:
        raise ValueError(
            f"subresource_target {subresource!r} is not offered by {match.group(1)}; "
            f"it offers {', '.join(sorted(offered))}"
        )
