"""A throw-away copy of the repository layout with configuration written by a test."""

from __future__ import annotations

import copy
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from infra.config.loader import Layout, load_platform
from infra.model import PlatformModel, resolve
from infra.plan.fake_ids import FAKE_SUBSCRIPTION, FAKE_TENANT
from infra.plan.offline import REPOSITORY, plan_stack
from infra.plan.runtime import Plan, RecordingMonitor

# The date the tests plan on: budgets created then start in December 2026.
AS_OF = date(2026, 12, 1)


def model_of(root: Path, stack: str, as_of: date = AS_OF) -> PlatformModel:
    """The platform model the program renders for `stack`, with the offline plan's ids."""
    platform = load_platform(Layout(root), stack, as_of=as_of)
    return resolve(platform, subscription=FAKE_SUBSCRIPTION, tenant=FAKE_TENANT, as_of=as_of)


def example_environment(stack: str) -> dict[str, Any]:
    """The `mlplatform:environment` mapping of an example stack, to vary in a test."""
    document = yaml.safe_load((REPOSITORY / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(document["config"]["mlplatform:environment"])


def example_project(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPOSITORY / "stacks" / "projects" / f"{name}.yaml").read_text())


class Sandbox:
    """Stack and project files in a temporary directory, and the real program to run on them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "stacks" / "projects").mkdir(parents=True)
        shutil.copy(REPOSITORY / "__main__.py", root / "__main__.py")

    def stack(self, name: str, environment: dict[str, Any], **extra: Any) -> Path:
        path = self.root / "stacks" / f"Pulumi.{name}.yaml"
        config = {"mlplatform:environment": environment, **extra}
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        return path

    def project(self, filename: str, document: dict[str, Any] | str) -> Path:
        path = self.root / "stacks" / "projects" / filename
        path.write_text(document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False))
        return path

    def remove_project(self, filename: str) -> None:
        (self.root / "stacks" / "projects" / filename).unlink()

    def plan(self, stack: str, monitor: RecordingMonitor | None = None, as_of: date = AS_OF) -> Plan:
        return plan_stack(stack, self.root, monitor=monitor, as_of=as_of)

    def model(self, stack: str, as_of: date = AS_OF) -> PlatformModel:
        return model_of(self.root, stack, as_of)

    @classmethod
    def from_examples(cls, root: Path) -> Sandbox:
        sandbox = cls(root)
        for stack in ("dev", "prod"):
            sandbox.stack(stack, example_environment(stack))
        for path in sorted((REPOSITORY / "stacks" / "projects").glob("*.yaml")):
            shutil.copy(path, root / "stacks" / "projects" / path.name)
        return sandbox
