"""What a program of thousands of resources needs from the Python process and the Pulumi SDK.

The stack keeps every resource, and with it every property's Output, asyncio task and futures,
alive until the program ends (~28 KB per resource), and none of it is garbage. Two settings keep
the cost per resource flat as the stack grows (docs/performance.md, section 3b):

* The collector looks at the young generation only, every 50,000 net allocations. Collecting the
  older generations cannot free anything in such a heap, it only rescans it: with CPython's
  defaults that was 40% of the time at 300 projects, and with thresholds of (50,000, 20, 100)
  the middle generation's scans still cost ~1.4 s there while finding nothing. Short-lived
  cycles (an exception's traceback, a failed task) are still collected young.
* `pulumi.runtime.rpc.contains_unknowns` (pulumi 3.272) defines a recursive closure on every call,
  and a closure that refers to itself is a reference cycle: a function, a cell and their tuples
  that only the collector can free. The SDK calls it ~40 times per resource, which made the cyclic
  garbage ~2 million objects at 300 projects; the collector's time to find and free it grew
  faster than the stack (0.3 ms per resource at 100 projects, 0.6 ms at 300). `contains_unknowns`
  below gives the same answer without a closure, and replaces the SDK's only while the SDK's still
  has that shape, so an SDK release that fixes it upstream is left alone.

Both apply to a real `pulumi preview`/`up` exactly as to the offline plan.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from pulumi.runtime import known_types, rpc

GC_THRESHOLDS = (50_000, 1_000, 1_000)

SDK_CONTAINS_UNKNOWNS = rpc.contains_unknowns  # the SDK's own, as imported


def contains_unknowns(val: Any) -> bool:
    """Whether `val`, or anything reachable through its dicts and lists, is an Unknown: the
    answer of the SDK's `contains_unknowns` (same signature), iteratively and without garbage."""
    if not isinstance(val, (dict, list)):
        return known_types.is_unknown(val)
    pending: list[Any] = [val]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if known_types.is_unknown(item):
            return True
        if isinstance(item, (dict, list)) and id(item) not in seen:
            seen.add(id(item))  # containers that hold themselves are walked once
            pending.extend(item.values() if isinstance(item, dict) else item)
    return False


def creates_cyclic_garbage(function: Callable[[Any], bool]) -> bool:
    """Whether `function` keeps a recursive helper in a closure cell, as the SDK's
    `contains_unknowns` does (a cycle per call). Checked on the code, so a fixed SDK is recognised."""
    return "impl" in function.__code__.co_cellvars


def tune_runtime() -> None:
    """Call once, before the first resource is registered."""
    gc.set_threshold(*GC_THRESHOLDS)
    if creates_cyclic_garbage(rpc.contains_unknowns):
        rpc.contains_unknowns = contains_unknowns
