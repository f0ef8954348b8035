"""What the guardrails know of an environment beyond its planned resources: its stack file's
settings (production, rule overrides, allowed VM sizes, privileged-role exceptions) and who the
project principals are. Read from the same files `pulumi up` reads, by the pack under the CLI and
by the offline runner alike."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError, ConfigIssue
from infra.config.loader import Layout, Platform, load_platform
from infra.config.models import ENVIRONMENT_FIELD, REQUIRED_TAGS, RuleOverride
from infra.guardrails.core import Level
from infra.model.access import registry_id
from infra.model.network import registry_is_public
from infra.skus import GPU_SKUS, IMAGE_BUILD_VM_SIZE

# The subscription segment is not known to the pack under the CLI; registry ids are compared
# without it (`without_subscription`).
_ANY_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def without_subscription(resource_id: str) -> str:
    """`/subscriptions/<id>/rest` -> `/rest`, lower case: ARM ids are case-insensitive."""
    lowered = resource_id.lower()
    if lowered.startswith("/subscriptions/"):
        _, _, rest = lowered[len("/subscriptions/") :].partition("/")
        return "/" + rest
    return lowered


@dataclass(frozen=True)
class GuardrailContext:
    stack: str
    environment_file: str
    production: bool
    overrides: Mapping[str, RuleOverride] = field(default_factory=dict)
    allowed_vm_sizes: frozenset[str] = frozenset()  # lower case
    max_idle_minutes: int = 120
    gpu_hours_per_month: int = 730
    require_customer_managed_keys: bool = False
    # (project, object id lower case, role) of every privileged-role exception.
    role_exceptions: frozenset[tuple[str, str, str]] = frozenset()
    # Object id (lower case) of every person, group or service principal a project file names ->
    # the projects naming it.
    project_principals: Mapping[str, frozenset[str]] = field(default_factory=dict)
    registry_id: str = ""  # without subscription (`without_subscription`)
    registry_public: bool = False
    required_tags: tuple[str, ...] = tuple(t for t in REQUIRED_TAGS if t != "project")
    azure_policy_dir: str | None = None
    azure_policy_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def level(self, rule: str, default: Level) -> tuple[Level, str]:
        """The rule's level in this environment, and the recorded reason when it is overridden."""
        override = self.overrides.get(rule)
        if override is None:
            return default, ""
        return Level(override.level), override.reason


def default_vm_sizes(platform: Platform) -> frozenset[str]:
    environment = platform.environment
    # Every region's quota: a project elsewhere uses sizes of the families quota is recorded for there.
    families = {
        *environment.gpu_quota,
        *(f for quota in environment.gpu_quota_by_region.values() for f in quota),
    }
    sizes = {sku.name for sku in GPU_SKUS.values() if sku.family in families}
    return frozenset(size.lower() for size in {*sizes, IMAGE_BUILD_VM_SIZE})


def context_of(platform: Platform, known_rules: Collection[str]) -> GuardrailContext:
    environment = platform.environment
    settings = environment.policy
    unknown = sorted(set(settings.overrides) - set(known_rules))
    if unknown:
        raise ConfigError(
            ConfigIssue(
                platform.environment_file,
                f"{ENVIRONMENT_FIELD}.policy.overrides.{name}",
                f"no guardrail named {name!r}; rules: {', '.join(sorted(known_rules))}",
            )
            for name in unknown
        )
    principals: dict[str, set[str]] = {}
    for project in platform.projects:
        access = project.access
        people = [
            *access.data_scientists,
            *access.compute_operators,
            *access.readers,
            *access.ci_deployers,
            *(p for group in access.extra_roles.values() for p in group),
        ]
        for principal in people:
            principals.setdefault(principal.object_id.lower(), set()).add(project.name)
    allowed = (
        frozenset(size.lower() for size in settings.allowed_vm_sizes)
        if settings.allowed_vm_sizes is not None
        else default_vm_sizes(platform)
    )
    return GuardrailContext(
        stack=platform.stack,
        environment_file=platform.environment_file,
        production=environment.production,
        overrides=dict(settings.overrides),
        allowed_vm_sizes=allowed,
        max_idle_minutes=settings.max_idle_minutes,
        gpu_hours_per_month=settings.gpu_hours_per_month,
        require_customer_managed_keys=settings.require_customer_managed_keys,
        role_exceptions=frozenset(
            (e.project, e.object_id.lower(), e.role) for e in environment.role_exceptions
        ),
        project_principals={k: frozenset(v) for k, v in principals.items()},
        registry_id=without_subscription(registry_id(environment, _ANY_SUBSCRIPTION)),
        registry_public=registry_is_public(environment),
        azure_policy_dir=settings.azure_policy_dir,
        azure_policy_parameters=dict(settings.azure_policy_parameters),
    )


def load_context(
    root: Path, stack: str, known_rules: Collection[str], *, as_of: date | None = None
) -> GuardrailContext:
    """The context of `stack` from the repository at `root` (raises ConfigError on bad files)."""
    return context_of(load_platform(Layout(root), stack, as_of=as_of), known_rules)
