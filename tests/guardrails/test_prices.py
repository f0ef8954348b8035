"""The one price table: every size a cluster can use has a price, dated, with its source."""

from __future__ import annotations

from infra.guardrails import prices
from infra.skus import GPU_SKUS, IMAGE_BUILD_VM_SIZE


def test_every_cluster_size_has_a_price() -> None:
    assert {*GPU_SKUS, IMAGE_BUILD_VM_SIZE} <= set(prices.HOURLY)
    assert all(price > 0 for price in prices.HOURLY.values())
    assert prices.hourly_price("standard_nc24ads_a100_v4") == prices.HOURLY["Standard_NC24ads_A100_v4"]
    assert prices.hourly_price("Standard_Nope") is None


def test_the_table_says_where_its_prices_come_from_and_when() -> None:
    note = prices.source_note()
    assert prices.AS_OF.isoformat() in note and prices.CURRENCY in note and prices.REGION in note
    # Not from a primary source (docs/guardrails.md): the note must say so while that holds.
    assert prices.VERIFIED or "unverified" in note
