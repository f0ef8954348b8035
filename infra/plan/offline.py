"""The offline plan of one stack: the real program, the stack's real config, no cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.config.loader import Layout, read_stack_config
from infra.plan.runtime import Plan, RecordingMonitor, run_main

REPOSITORY = Path(__file__).resolve().parents[2]
PULUMI_PROJECT = "mlplatform"


def plan_stack(stack: str, root: Path = REPOSITORY, monitor: RecordingMonitor | None = None) -> Plan:
    """Run `__main__.py` of `root` for `stack` under mocks with the config the CLI would pass."""
    layout = Layout(root)
    if stack not in layout.stacks():
        from infra.config.errors import ConfigError, ConfigIssue

        known = ", ".join(layout.stacks()) or "none"
        raise ConfigError(
            [ConfigIssue(layout.relative(layout.stack_file(stack)), "", f"no such stack; stacks: {known}")]
        )
    config = read_stack_config(layout, stack)
    return run_main(
        root,
        stack=stack,
        project=PULUMI_PROJECT,
        config=config.values,
        secret_keys=config.secret_keys,
        monitor=monitor,
    )


def offline_outputs(stack: str, root: Path = REPOSITORY) -> dict[str, Any]:
    """The stack outputs the offline plan computes (shape: docs/stack-outputs.md)."""
    return plan_stack(stack, root).outputs
