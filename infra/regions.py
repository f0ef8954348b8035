"""Azure public-cloud region names, as `az account list-locations --query "[].name"` gives them.

Source: see REGIONS_SOURCE. A region that opened after that date needs a line here.
"""

from __future__ import annotations

# The physical regions of the ARM "Subscriptions - List Locations" API (what `az account
# list-locations` lists), as Azure Verified Modules caches it: Azure/terraform-azurerm-avm-utl-regions,
# modules/cached-data/locations.tf.json (2026-08). Left out: the canary (centraluseuap,
# eastus2euap) and staging (eastusstg, southcentralusstg) regions, which are not for workloads,
# and the logical names (europe, global, ...), which are no resource location.
REGIONS_SOURCE = "Azure/terraform-azurerm-avm-utl-regions modules/cached-data/locations.tf.json (2026-08)"

REGIONS: frozenset[str] = frozenset(
    {
        "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast",
        "austriaeast", "belgiumcentral", "brazilsouth", "brazilsoutheast", "canadacentral",
        "canadaeast", "centralindia", "centralus", "chilecentral", "denmarkeast", "eastasia", "eastus",
        "eastus2", "francecentral", "francesouth", "germanynorth", "germanywestcentral",
        "indonesiacentral", "israelcentral", "italynorth", "japaneast", "japanwest",
        "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth", "malaysiawest",
        "mexicocentral", "newzealandnorth", "northcentralus", "northeurope", "norwayeast",
        "norwaywest", "polandcentral", "qatarcentral", "southafricanorth", "southafricawest",
        "southcentralus", "southindia", "southeastasia", "spaincentral", "swedencentral",
        "switzerlandnorth", "switzerlandwest", "uaecentral", "uaenorth",
        "uksouth", "ukwest", "westcentralus", "westeurope", "westindia", "westus", "westus2",
        "westus3",
    }
)  # fmt: skip
