"""Physical names for every Azure resource the platform creates.

One module owns every naming rule so that a name is derived the same way everywhere and a
name that cannot fit fails while configuration is validated, before anything is registered.

Names are deterministic: the same prefix, environment and project always give the same names.
Globally unique names (storage, Key Vault, container registry, ML registry) carry a short hash of
the full, untruncated identity, so truncating a long project name can never make two projects
share a name, and the suffix never changes between runs. There are no random suffixes, which
matters because a deleted workspace holds its name for 14 days (soft delete) and a Key Vault with
purge protection holds its name for its whole retention period.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


class NamingError(ValueError):
    """A derived name breaks an Azure naming rule."""


@dataclass(frozen=True)
class NameRule:
    kind: str
    min_length: int
    max_length: int
    pattern: str  # a regular expression the whole name must match
    charset: str

    def check(self, name: str) -> None:
        if not self.min_length <= len(name) <= self.max_length:
            raise NamingError(
                f"{self.kind} name {name!r} is {len(name)} characters; Azure allows "
                f"{self.min_length}-{self.max_length}"
            )
        if not re.fullmatch(self.pattern, name):
            raise NamingError(f"{self.kind} name {name!r} is not valid: {self.charset}")


# Sources: "Naming rules and restrictions for Azure resources" (Azure Resource Manager docs).
RULES: dict[str, NameRule] = {
    rule.kind: rule
    for rule in (
        NameRule(
            "resource group",
            1,
            90,
            r"[-\w._()]*[-\w_()]",
            "letters, digits, '-', '_', '.', '(' and ')', not ending in '.'",
        ),
        NameRule(
            "storage account",
            3,
            24,
            r"[a-z0-9]+",
            "lowercase letters and digits only",
        ),
        NameRule(
            "key vault",
            3,
            24,
            r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]",
            "letters, digits and single hyphens, starting with a letter and ending in a letter or digit",
        ),
        NameRule(
            "container registry",
            5,
            50,
            r"[a-zA-Z0-9]+",
            "letters and digits only",
        ),
        NameRule(
            "machine learning registry",
            3,
            33,
            r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}",
            "letters, digits, '-' and '_', starting with a letter or digit",
        ),
        NameRule(
            "machine learning workspace",
            3,
            33,
            r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}",
            "letters, digits, '-' and '_', starting with a letter or digit",
        ),
        # Microsoft Learn, "Create an Azure Machine Learning compute cluster": 3 to 24 characters,
        # starting with a letter, and a '-' must be followed by at least one letter later; Azure
        # Verified Modules (avm/res/machine-learning-services/workspace computes) caps the name at
        # 16. Both hold here.
        NameRule(
            "compute cluster",
            3,
            16,
            r"[a-zA-Z](?!.*-[0-9]*$)[a-zA-Z0-9-]*",
            "letters, digits and '-', starting with a letter, with a letter somewhere after every '-'",
        ),
        NameRule(
            "log analytics workspace",
            4,
            63,
            r"[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]",
            "letters, digits and '-', starting and ending with a letter or digit",
        ),
        NameRule(
            "application insights",
            1,
            260,
            r"[^%&\\?/]*[^%&\\?/. ]",
            "anything but '%&\\?/', not ending in '.' or a space",
        ),
        NameRule(
            "managed identity",
            3,
            128,
            r"[a-zA-Z0-9][a-zA-Z0-9_-]*",
            "letters, digits, '-' and '_', starting with a letter or digit",
        ),
        NameRule(
            "private endpoint",
            2,
            64,
            r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9_])?",
            "letters, digits, '_', '.' and '-', starting with a letter or digit",
        ),
        NameRule(
            "budget",
            1,
            63,
            r"[a-zA-Z0-9_-]+",
            "letters, digits, '-' and '_'",
        ),
    )
}

# Inputs to the names: short, so that every derived name fits; checked when config loads.
PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9]{1,5}")
ENVIRONMENT_PATTERN = re.compile(r"[a-z][a-z0-9]{0,3}")
PROJECT_PATTERN = re.compile(r"[a-z](?!.*--)[a-z0-9-]{1,22}[a-z0-9]")
PREFIX_RULE = "2-6 lowercase letters and digits, starting with a letter"
ENVIRONMENT_RULE = "1-4 lowercase letters and digits, starting with a letter"
PROJECT_RULE = (
    "3-24 lowercase letters, digits and single hyphens, "
    "starting with a letter and ending in a letter or digit"
)

_HASH_LENGTH = 4


def _hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:_HASH_LENGTH]


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _checked(kind: str, name: str) -> str:
    RULES[kind].check(name)
    return name


def _unique_compact(kind: str, leading: str, *identity: str) -> str:
    """`leading` + identity squeezed to fit, + a hash of the full identity: globally unique names."""
    rule = RULES[kind]
    suffix = _hash(*identity)
    body = _alnum("".join(identity))
    room = rule.max_length - len(leading) - len(suffix)
    return _checked(kind, f"{leading}{body[:room]}{suffix}")


@dataclass(frozen=True)
class EnvironmentNames:
    """Names of the environment-wide (shared) resources."""

    prefix: str
    environment: str

    @property
    def stem(self) -> str:
        return f"{self.prefix}-{self.environment}"

    @property
    def shared_resource_group(self) -> str:
        return _checked("resource group", f"rg-{self.stem}-shared")

    @property
    def log_analytics(self) -> str:
        return _checked("log analytics workspace", f"log-{self.stem}")

    @property
    def ml_registry(self) -> str:
        return _checked(
            "machine learning registry",
            f"mlr-{self.stem}-{_hash(self.prefix, self.environment, 'mlr')}",
        )

    def project(self, project: str) -> ProjectNames:
        return ProjectNames(self, project)


@dataclass(frozen=True)
class ProjectNames:
    """Names of one project's resources in one environment."""

    environment: EnvironmentNames
    project: str

    @property
    def resource_group(self) -> str:
        return _checked("resource group", f"rg-{self.environment.stem}-{self.project}")

    @property
    def workspace(self) -> str:
        name = f"mlw-{self.environment.stem}-{self.project}"
        rule = RULES["machine learning workspace"]
        if len(name) > rule.max_length:
            over = len(name) - rule.max_length
            raise NamingError(
                f"the workspace name {name!r} is {len(name)} characters and Azure allows at most "
                f"{rule.max_length}: shorten the project name by {over} character{'s' if over > 1 else ''} "
                f"(or the environment prefix)"
            )
        return _checked("machine learning workspace", name)

    @property
    def storage_account(self) -> str:
        env = self.environment
        return _unique_compact("storage account", "st", env.prefix, env.environment, self.project)

    @property
    def key_vault(self) -> str:
        env = self.environment
        return _unique_compact("key vault", "kv", env.prefix, env.environment, self.project)

    @property
    def container_registry(self) -> str:
        env = self.environment
        return _unique_compact("container registry", "cr", env.prefix, env.environment, self.project)

    @property
    def application_insights(self) -> str:
        return _checked("application insights", f"appi-{self.environment.stem}-{self.project}")

    @property
    def workspace_identity(self) -> str:
        return _checked("managed identity", f"id-{self.environment.stem}-{self.project}-workspace")

    @property
    def budget(self) -> str:
        return _checked("budget", f"budget-{self.environment.stem}-{self.project}")

    def all(self) -> dict[str, str]:
        """Every name of the project, by resource kind: what collision checks compare."""
        return {
            "resource group": self.resource_group,
            "machine learning workspace": self.workspace,
            "storage account": self.storage_account,
            "key vault": self.key_vault,
            "container registry": self.container_registry,
        }


# The CPU cluster that builds a project's environment images: with the container registry private,
# ACR Tasks cannot reach it, so the workspace's imageBuildCompute names a cluster (Microsoft Learn,
# "Secure an Azure Machine Learning workspace with virtual networks", "Enable Azure Container Registry").
IMAGE_BUILD_CLUSTER = "image-build"


def private_endpoint_name(target: str, subresource: str) -> str:
    return _checked("private endpoint", f"pe-{target}-{subresource}")


def check_compute_name(name: str) -> None:
    RULES["compute cluster"].check(name)
