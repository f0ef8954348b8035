"""Hourly prices of the VM sizes clusters can use: the one table the worst-case GPU cost rule reads.

NOT FROM A PRIMARY SOURCE. No primary source for these prices was reachable when the table was
written (2026-12-01): the Azure Retail Prices API (https://prices.azure.com/api/retail/prices,
filter `armSkuName eq '<size>' and armRegionName eq 'westeurope' and priceType eq 'Consumption'`)
and the Azure pricing calculator are the sources to take them from. The values below are rough
pay-as-you-go Linux estimates in USD for westeurope, kept only so that the advisory rule has an
order of magnitude; refresh them from the API (and `AS_OF` with them) before relying on them.
The rule's messages say that the table is unverified while `VERIFIED` is False.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

from infra.skus import IMAGE_BUILD_VM_SIZE

AS_OF = date(2026, 12, 1)
CURRENCY = "USD"
REGION = "westeurope"
VERIFIED = False
SOURCE = "unverified estimates (no primary source reached); refresh from prices.azure.com/api/retail/prices"

# VM size -> price per node-hour (pay as you go, Linux, Dedicated). LowPriority costs less; the
# worst case counts the dedicated price.
HOURLY: Mapping[str, float] = MappingProxyType(
    {
        "Standard_NC4as_T4_v3": 0.60,
        "Standard_NC8as_T4_v3": 0.85,
        "Standard_NC16as_T4_v3": 1.35,
        "Standard_NC64as_T4_v3": 4.90,
        "Standard_NC6s_v3": 3.40,
        "Standard_NC12s_v3": 6.80,
        "Standard_NC24s_v3": 13.50,
        "Standard_ND40rs_v2": 25.00,
        "Standard_NC24ads_A100_v4": 4.20,
        "Standard_NC48ads_A100_v4": 8.40,
        "Standard_NC96ads_A100_v4": 16.80,
        "Standard_ND96asr_v4": 31.00,
        "Standard_ND96amsr_A100_v4": 37.00,
        "Standard_NC40ads_H100_v5": 8.00,
        "Standard_NC80adis_H100_v5": 16.00,
        "Standard_ND96isr_H100_v5": 112.00,
        "Standard_ND96isr_H200_v5": 125.00,
        IMAGE_BUILD_VM_SIZE: 0.35,
    }
)
_BY_LOWER: Mapping[str, float] = MappingProxyType({size.lower(): price for size, price in HOURLY.items()})


def hourly_price(vm_size: str) -> float | None:
    return _BY_LOWER.get(vm_size.lower())


def source_note() -> str:
    return f"prices as of {AS_OF.isoformat()} in {CURRENCY} ({REGION}), source: {SOURCE}"
