"""What `pulumi up` runs: load configuration from the engine, validate it all, then build."""

from __future__ import annotations

import gc
from pathlib import Path

import pulumi

from infra import aliases
from infra.config.loader import ENVIRONMENT_KEY, Layout, build_platform, parse_environment
from infra.program import ClientConfig, build, export

# A stack registers thousands of resources, and the SDK allocates dozens of asyncio tasks and
# Outputs for each; with CPython's default gen-0 threshold (700) the collector ran ~11,000 times
# and rescanned the whole heap (the azure-native modules included) 18 times for 300 projects:
# 40% of the program's time. Collecting every 50,000 allocations instead gives the same peak
# memory (docs/performance.md).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def run(root: Path) -> None:
    """Validate every file before the first resource is registered, so bad input applies nothing."""
    layout = Layout(root)
    stack = pulumi.get_stack()
    platform = build_platform(
        layout,
        stack,
        lambda: parse_environment(
            pulumi.runtime.get_config(ENVIRONMENT_KEY),
            is_secret=pulumi.runtime.is_config_secret(ENVIRONMENT_KEY),
            file=layout.relative(layout.stack_file(stack)),
        ),
    )
    tune_garbage_collector()
    # Before the first resource: greenfield stacks skip the legacy type aliases (infra/aliases.py).
    aliases.register(platform.environment.keep_legacy_aliases)
    export(build(platform, ClientConfig.current()))
