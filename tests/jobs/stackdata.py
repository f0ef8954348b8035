"""The jobs tests' stack outputs: those of the real offline plan of the example stacks
(infra/plan/offline.py, what `make plan` and `--dry-run` compute), planned once per test session
(the `planned` fixture of conftest.py). A test that needs another stack derives it from these by
an explicit edit, written where the test is (`in_region`, a key deleted, ...), never by a
hand-written copy of the outputs."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.plan.offline import offline_outputs
from jobs.targets import Target, resolve_target

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "jobs" / "recipes"
PROJECT = "nlp-research"  # the example recipes' project (its clusters: a100, t4-eval)
# Offers serverless fine-tuning of the example's model (jobs/serverless.py); the example stacks'
# westeurope does not.
SERVERLESS_REGION = "westus3"


@dataclass
class Planned:
    """The offline plan's outputs per stack; each accessor hands out a copy to edit."""

    _outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def outputs(self, stack: str = "dev") -> dict[str, Any]:
        if stack not in self._outputs:
            self._outputs[stack] = offline_outputs(stack)
        return copy.deepcopy(self._outputs[stack])

    def project(self, stack: str = "dev", project: str = PROJECT) -> dict[str, Any]:
        entry: dict[str, Any] = self.outputs(stack)["projects"][project]
        return entry

    def workspace_path(self, stack: str = "dev", project: str = PROJECT) -> str:
        """The ARM id of the project's workspace: the prefix of every workspace request."""
        return str(self.project(stack, project)["workspace_id"])

    def cluster_id(self, cluster: str = "a100", stack: str = "dev", project: str = PROJECT) -> str:
        return str(self.project(stack, project)["clusters"][cluster]["id"])

    def target(self, stack: str = "dev", project: str = PROJECT) -> Target:
        return resolve_target(self.outputs(stack), stack, project)


def in_region(outputs: dict[str, Any], region: str) -> dict[str, Any]:
    """The same stack in another region (the example stacks are in westeurope): the environment and
    the projects whose workspace is in the environment's region move; one that chose its own
    region (maas-lab) stays."""
    for project in outputs["projects"].values():
        if project.get("location") == outputs["location"]:
            project["location"] = region
    outputs["location"] = region
    return outputs
