"""Where a job runs: a project's workspace and clusters, resolved from the stack outputs.

The stack outputs (infra/stack_outputs.py, shown in docs/stack-outputs.md) are the only contract
with `infra/`; nothing here knows how they were produced.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.stack_outputs import OutputsMismatch, StackOutputs
from jobs.errors import JobsError

OutputsRunner = Callable[[list[str]], str]


@dataclass(frozen=True)
class Cluster:
    name: str
    id: str
    vm_size: str
    max_nodes: int
    gpus_per_node: int


@dataclass(frozen=True)
class Target:
    environment: str
    project: str
    subscription_id: str
    resource_group: str
    workspace_name: str
    registry_name: str
    clusters: Mapping[str, Cluster]
    location: str = ""  # the region of the project's workspace
    facts: EnvironmentFacts | None = None  # from the stack outputs, when they carry them
    key_vault: str | None = None  # the project's own Key Vault

    def cluster(self, name: str | None) -> Cluster:
        if name is None:
            if len(self.clusters) == 1:
                return next(iter(self.clusters.values()))
            raise JobsError(
                f"project {self.project!r} has {len(self.clusters)} clusters; name one with `cluster:` "
                f"({_listing(self.clusters)})"
            )
        if name not in self.clusters:
            raise JobsError(
                f"project {self.project!r} in {self.environment!r} has no cluster {name!r}; "
                f"valid clusters: {_listing(self.clusters)}"
            )
        return self.clusters[name]

    @property
    def workspace_scope(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )


@dataclass(frozen=True)
class EnvironmentFacts:
    """What deploying needs to know about the environment beyond the stack outputs: whether it is a
    production environment, whether it allows public network access, and the GPU quota (vCPUs
    per VM family) of the region the project's workspace is in. They come from the environment's
    settings (stacks/Pulumi.<env>.yaml), the same file the infrastructure is built from, or from
    the stack outputs, which carry them too (docs/stack-outputs.md)."""

    production: bool
    public_network_access: bool
    gpu_quota: Mapping[str, int]
    # where that quota is recorded in the stack file: `gpu_quota` for the environment's region
    quota_key: str = "gpu_quota"


def environment_facts(environment: str, location: str = "") -> EnvironmentFacts:
    """The facts from the stack file, with the GPU quota of `location` (default: the environment's)."""
    # Lazily: the config models pull in pydantic and the infra package.
    from infra.config.errors import ConfigError
    from infra.config.loader import Layout, load_environment_file

    try:
        config = load_environment_file(Layout(Path(__file__).resolve().parents[1]), environment)
    except ConfigError as error:
        raise JobsError(f"cannot read the settings of environment {environment!r}:\n{error}") from error
    region = location or config.location
    return EnvironmentFacts(
        production=config.production,
        public_network_access=config.network.public_network_access,
        gpu_quota=dict(config.gpu_quota_in(region) or {}),
        quota_key=_quota_key(region, config.location),
    )


def _quota_key(region: str, environment_location: str) -> str:
    return "gpu_quota" if region == environment_location else f"gpu_quota_by_region.{region}"


def _facts(outputs: StackOutputs[str], location: str) -> EnvironmentFacts | None:
    if outputs.production is None or outputs.public_network_access is None or outputs.gpu_quota is None:
        return None  # outputs of a stack deployed before they carried these
    # Quota is per region: `gpu_quota` is the environment location's, the others are by region.
    quota = (
        outputs.gpu_quota
        if location == outputs.location
        else (outputs.gpu_quota_by_region or {}).get(location, {})
    )
    return EnvironmentFacts(
        production=outputs.production,
        public_network_access=outputs.public_network_access,
        gpu_quota=dict(quota),
        quota_key=_quota_key(location, outputs.location),
    )


def _listing(names: Mapping[str, object]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def _run_pulumi(args: list[str]) -> str:
    completed = subprocess.run(args, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise JobsError(f"`{' '.join(args)}` failed: {completed.stderr.strip() or completed.stdout.strip()}")
    return completed.stdout


def load_stack_outputs(
    environment: str,
    outputs_file: Path | None = None,
    *,
    offline: bool = False,
    dry_run_available: bool = False,
    run: OutputsRunner = _run_pulumi,
    pulumi_available: Callable[[], bool] = lambda: shutil.which("pulumi") is not None,
) -> dict[str, Any]:
    """Stack outputs from a saved file, the pulumi CLI, or (offline only) the infra plan."""
    if outputs_file is not None:
        try:
            raw: Any = json.loads(outputs_file.read_bytes().decode("utf-8"))
        except (OSError, ValueError) as error:  # unreadable, not UTF-8, not JSON
            raise JobsError(f"cannot read stack outputs from {outputs_file}: {error}") from error
    elif offline:
        raw = _offline_outputs(environment)
    elif pulumi_available():
        raw = json.loads(run(["pulumi", "stack", "output", "--json", "--stack", environment]))
    else:
        # Only commands that have a --dry-run (finetune, deploy) may suggest it.
        raise JobsError(
            "the pulumi CLI is not on PATH: pass --outputs FILE (a saved `pulumi stack output --json`)"
            + (" or use --dry-run" if dry_run_available else "")
        )
    if not isinstance(raw, dict):
        raise JobsError("stack outputs must be a JSON object")
    # Numbers that arrive as floats (2.0) are the contract's business: StackOutputs.read.
    return dict(raw)


def _offline_outputs(environment: str) -> Any:
    # Lazily: the infra program (pulumi, the Azure provider SDK) is heavy and only dry runs need it.
    from infra.config.errors import ConfigError
    from infra.plan.offline import offline_outputs

    try:
        return offline_outputs(environment)
    except ConfigError as error:
        raise JobsError(f"no offline plan for environment {environment!r}:\n{error}") from error


def resolve_target(outputs: Mapping[str, Any], environment: str, project: str) -> Target:
    try:
        contract = StackOutputs.read(outputs)
    except OutputsMismatch as error:
        raise JobsError(f"stack outputs do not match docs/stack-outputs.md: {error}") from error
    if contract.environment != environment:
        raise JobsError(
            f"the stack outputs are for environment {contract.environment!r}, not {environment!r}; "
            f"valid environments here: {contract.environment}"
        )
    if project not in contract.projects:
        raise JobsError(
            f"no project {project!r} in environment {environment!r}; valid projects: {_listing(contract.projects)}"
        )
    entry = contract.projects[project]
    # Outputs of a stack deployed before they carried each project's region: the environment's.
    location = entry.location or contract.location
    return Target(
        environment=environment,
        project=project,
        subscription_id=contract.subscription_id,
        resource_group=entry.resource_group,
        workspace_name=entry.workspace_name,
        registry_name=contract.registry.name,
        clusters={
            name: Cluster(
                name=cluster.name,
                id=cluster.id,
                vm_size=cluster.vm_size,
                max_nodes=cluster.max_nodes,
                gpus_per_node=cluster.gpus_per_node,
            )
            for name, cluster in sorted(entry.clusters.items())
        },
        location=location,
        facts=_facts(contract, location),
        key_vault=entry.key_vault or None,
    )
