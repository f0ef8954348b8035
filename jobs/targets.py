"""Where a job runs: a project's workspace and clusters, resolved from the stack outputs.

The stack outputs (docs/stack-outputs.md) are the only contract with `infra/`; nothing here
knows how they were produced.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _facts(outputs: Mapping[str, Any], location: str) -> EnvironmentFacts | None:
    if "production" not in outputs:
        return None  # outputs of a stack deployed before they carried these
    # Quota is per region: `gpu_quota` is the environment location's, the others are by region.
    quota = (
        outputs["gpu_quota"]
        if location == outputs["location"]
        else outputs.get("gpu_quota_by_region", {}).get(location, {})
    )
    return EnvironmentFacts(
        production=bool(outputs["production"]),
        public_network_access=bool(outputs["public_network_access"]),
        gpu_quota={str(family): int(vcpus) for family, vcpus in quota.items()},
        quota_key=_quota_key(location, outputs["location"]),
    )


def _listing(names: Mapping[str, object]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def coerce_integral_floats(value: Any) -> Any:
    """Some Pulumi runtimes hand numbers back as floats (2.0); the contract says integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: coerce_integral_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [coerce_integral_floats(item) for item in value]
    return value


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
    return dict(coerce_integral_floats(raw))


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
        stack_environment = outputs["environment"]
        projects: Mapping[str, Any] = outputs["projects"]
        if stack_environment != environment:
            raise JobsError(
                f"the stack outputs are for environment {stack_environment!r}, not {environment!r}; "
                f"valid environments here: {stack_environment}"
            )
        if project not in projects:
            raise JobsError(
                f"no project {project!r} in environment {environment!r}; valid projects: {_listing(projects)}"
            )
        entry = projects[project]
        clusters = {
            name: Cluster(
                name=str(cluster["name"]),
                id=str(cluster["id"]),
                vm_size=str(cluster["vm_size"]),
                max_nodes=int(cluster["max_nodes"]),
                gpus_per_node=int(cluster["gpus_per_node"]),
            )
            for name, cluster in sorted(entry["clusters"].items())
        }
        # Outputs of a stack deployed before they carried each project's region: the environment's.
        location = str(entry.get("location") or outputs["location"])
        return Target(
            environment=environment,
            project=project,
            subscription_id=str(outputs["subscription_id"]),
            resource_group=str(entry["resource_group"]),
            workspace_name=str(entry["workspace_name"]),
            registry_name=str(outputs["registry"]["name"]),
            clusters=clusters,
            location=location,
            facts=_facts(outputs, location),
            key_vault=str(entry["key_vault"]) if entry.get("key_vault") else None,
        )
    except KeyError as error:
        raise JobsError(f"stack outputs do not match docs/stack-outputs.md: missing {error}") from error
    except (TypeError, ValueError, AttributeError) as error:
        # a list where a mapping belongs, text where a number belongs
        raise JobsError(f"stack outputs do not match docs/stack-outputs.md: {error}") from error
