"""The offline plan of one stack: the real program, the stack's real config, no cloud."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from infra.config.loader import NAMESPACE, SECRET_PLACEHOLDER, Layout, read_stack_config
from infra.model.budget import AS_OF_VARIABLE
from infra.plan.runtime import Plan, RecordingMonitor, run_main, secret_placeholder

REPOSITORY = Path(__file__).resolve().parents[2]
PULUMI_PROJECT = "mlplatform"


def plan_stack(
    stack: str, root: Path = REPOSITORY, monitor: RecordingMonitor | None = None, *, as_of: date | None = None
) -> Plan:
    """Run `__main__.py` of `root` for `stack` under mocks with the config the CLI would pass, on
    the date `as_of` (default: $MLPLATFORM_AS_OF, else today), as the program reads it."""
    layout = Layout(root)
    if stack not in layout.stacks():
        from infra.config.errors import ConfigError, ConfigIssue

        known = ", ".join(layout.stacks()) or "none"
        raise ConfigError(
            [ConfigIssue(layout.relative(layout.stack_file(stack)), "", f"no such stack; stacks: {known}")]
        )
    config = read_stack_config(layout, stack)
    with _as_of(as_of):
        return run_main(
            root,
            stack=stack,
            project=PULUMI_PROJECT,
            config=_fingerprinted(layout, stack, config.values),
            secret_keys=config.secret_keys,
            monitor=monitor,
        )


@contextmanager
def _as_of(day: date | None) -> Iterator[None]:
    """The program reads its date as `pulumi up` gives it, from the environment."""
    if day is None:
        yield
        return
    before = os.environ.get(AS_OF_VARIABLE)
    os.environ[AS_OF_VARIABLE] = day.isoformat()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(AS_OF_VARIABLE, None)
        else:
            os.environ[AS_OF_VARIABLE] = before


def _fingerprinted(layout: Layout, stack: str, values: dict[str, str]) -> dict[str, str]:
    """Each encrypted top-level value as a placeholder that tells its ciphertext apart, so that a
    diff shows a changed secret (masked) where one placeholder for all would hide it. The
    ciphertext is in the repository already; its digest says nothing about the secret."""
    document = yaml.safe_load(layout.stack_file(stack).read_text()) or {}
    result = dict(values)
    for key, raw in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"
        if isinstance(raw, dict) and set(raw) == {"secure"} and result.get(full_key) == SECRET_PLACEHOLDER:
            digest = hashlib.sha256(str(raw["secure"]).encode()).hexdigest()[:12]
            result[full_key] = secret_placeholder(digest)
    return result


def offline_outputs(stack: str, root: Path = REPOSITORY) -> dict[str, Any]:
    """The stack outputs the offline plan computes (infra/stack_outputs.py `StackOutputs.to_json`)."""
    return plan_stack(stack, root).outputs
