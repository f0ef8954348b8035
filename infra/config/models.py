"""Typed configuration: one environment (a stack) and one onboarded project.

Every rule that can be checked without Azure is checked here, so that a bad value fails while
configuration loads, naming its file and field, and never half-way through registering resources.
Secure values are the defaults; each relaxation is a field a user must set on purpose.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra import naming
from infra.roles import BUILTIN_ROLES, PRIVILEGED_ROLES
from infra.skus import GPU_FAMILIES, GPU_SKUS, find_sku

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ARM_ID = re.compile(r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/[^/]+/.+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LOCATION = re.compile(r"[a-z][a-z0-9]+")
TAG_KEY = re.compile(r"[^<>%&\\?/]{1,512}")

IsolationMode = Literal["Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound"]
PrincipalKind = Literal["User", "Group", "ServicePrincipal"]
LockLevel = Literal["CanNotDelete", "ReadOnly"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _matches(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


# Set by the platform from dedicated fields, so they cannot drift from what budgets and owners use.
RESERVED_TAGS = ("owner", "cost-center", "environment", "project", "managed-by")


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    reserved = sorted(set(tags) & set(RESERVED_TAGS))
    if reserved:
        raise ValueError(
            f"{', '.join(reserved)} {'is' if len(reserved) == 1 else 'are'} set by the platform; remove"
        )
    for key in tags:
        _matches(TAG_KEY, key, "a valid tag name (1-512 characters, none of <>%&\\?/)")
    for key, value in tags.items():
        if len(value) > 256:
            raise ValueError(f"tag {key!r} is {len(value)} characters long; Azure allows 256")
    return tags


# --- environment ------------------------------------------------------------------------------

NAMESPACE = "mlplatform"
ENVIRONMENT_KEY = f"{NAMESPACE}:environment"
ENVIRONMENT_FIELD = f"config.{ENVIRONMENT_KEY}"  # where an issue in the environment is, in its stack file


class FqdnRule(StrictModel):
    type: Literal["FQDN"]
    destination: str


class ServiceTagRule(StrictModel):
    type: Literal["ServiceTag"]
    service_tag: str
    protocol: Literal["TCP", "UDP", "ICMP", "*"] = "TCP"
    port_ranges: str = "443"


class PrivateEndpointRule(StrictModel):
    type: Literal["PrivateEndpoint"]
    service_resource_id: str
    subresource_target: str

    _id = field_validator("service_resource_id")(
        lambda v: _matches(ARM_ID, v, "an Azure resource id (/subscriptions/<guid>/resourceGroups/...)")
    )


OutboundRule = Annotated[FqdnRule | ServiceTagRule | PrivateEndpointRule, Field(discriminator="type")]


class PrivateDnsZones(StrictModel):
    """Central private DNS zones (usually in a hub subscription) the endpoints register in."""

    blob: str
    file: str
    vault: str
    registry: str
    amlworkspace: str
    notebooks: str

    @field_validator("*")
    @classmethod
    def _zone_ids(cls, value: str) -> str:
        if "/providers/Microsoft.Network/privateDnsZones/" not in value:
            raise ValueError(f"{value!r} is not a private DNS zone resource id")
        return _matches(ARM_ID, value, "an Azure resource id")


class PrivateEndpoints(StrictModel):
    subnet_id: str
    dns_zone_ids: PrivateDnsZones

    @field_validator("subnet_id")
    @classmethod
    def _subnet(cls, value: str) -> str:
        if "/virtualNetworks/" not in value or "/subnets/" not in value:
            raise ValueError(
                f"{value!r} is not a subnet resource id (…/virtualNetworks/<vnet>/subnets/<subnet>)"
            )
        return _matches(ARM_ID, value, "an Azure resource id")


class NetworkConfig(StrictModel):
    public_network_access: bool = False
    isolation_mode: IsolationMode = "AllowInternetOutbound"
    outbound_rules: dict[str, OutboundRule] = Field(default_factory=dict)
    private_endpoints: PrivateEndpoints | None = None

    @model_validator(mode="after")
    def _consistent(self) -> NetworkConfig:
        fqdn = [name for name, rule in self.outbound_rules.items() if isinstance(rule, FqdnRule)]
        if fqdn and self.isolation_mode != "AllowOnlyApprovedOutbound":
            raise ValueError(
                f"FQDN outbound rules ({', '.join(fqdn)}) need isolation_mode AllowOnlyApprovedOutbound"
            )
        if self.outbound_rules and self.isolation_mode == "Disabled":
            raise ValueError("outbound_rules need a managed network: isolation_mode is Disabled")
        if not self.public_network_access and self.private_endpoints is None:
            raise ValueError(
                "public_network_access is false but private_endpoints is not set: nobody could reach "
                "the workspaces. Give private_endpoints.subnet_id and dns_zone_ids, or set "
                "public_network_access: true"
            )
        return self

    @property
    def nodes_without_public_ip(self) -> bool:
        # Clusters in a managed network reach Azure through it. Without one (and without VNet
        # injection, which the platform does not do) the service can only reach nodes by public IP.
        return self.isolation_mode != "Disabled"


class KeyVaultConfig(StrictModel):
    soft_delete_retention_days: int = Field(90, ge=7, le=90)


class LogAnalyticsConfig(StrictModel):
    retention_days: int = Field(30, ge=30, le=730)


class ContainerRegistryConfig(StrictModel):
    sku: Literal["Basic", "Standard", "Premium"] | None = None


class CreateRegistry(StrictModel):
    replication_regions: list[Annotated[str, Field(pattern=LOCATION.pattern)]] = Field(min_length=1)

    @field_validator("replication_regions")
    @classmethod
    def _unique(cls, regions: list[str]) -> list[str]:
        if len(set(regions)) != len(regions):
            raise ValueError("replication_regions lists a region twice")
        return regions


class RegistryConfig(StrictModel):
    """Either this environment creates the ML registry, or it uses one another environment owns."""

    create: CreateRegistry | None = None
    existing_id: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RegistryConfig:
        if (self.create is None) == (self.existing_id is None):
            raise ValueError("give exactly one of `create` (this stack owns the registry) or `existing_id`")
        if self.existing_id is not None:
            _matches(ARM_ID, self.existing_id, "an Azure resource id")
            if "/providers/Microsoft.MachineLearningServices/registries/" not in self.existing_id:
                raise ValueError(f"existing_id {self.existing_id!r} is not an Azure ML registry id")
        return self


def _known_role(role: str) -> str:
    if role not in BUILTIN_ROLES:
        raise ValueError(f"unknown role {role!r}; known roles: {', '.join(sorted(BUILTIN_ROLES))}")
    return role


class RoleException(StrictModel):
    """A privileged role granted to a project principal on purpose; the plan lists every one."""

    project: str
    object_id: str
    role: str
    reason: str = Field(min_length=10)

    _guid = field_validator("object_id")(lambda v: _matches(GUID, v, "an Entra object id (a GUID)"))

    @field_validator("role")
    @classmethod
    def _privileged(cls, role: str) -> str:
        _known_role(role)
        if role not in PRIVILEGED_ROLES:
            raise ValueError(
                f"{role!r} is not a privileged role and needs no exception; exceptions are for "
                f"{', '.join(sorted(PRIVILEGED_ROLES))}"
            )
        return role


# Azure allows at most five notifications per budget.
Thresholds = Annotated[list[Annotated[int, Field(gt=0, le=1000)]], Field(min_length=1, max_length=5)]
# A fixed default keeps the program deterministic (no "today"); `python -m infra onboard` writes the
# first of the current month into each new project's budget, since Azure wants a new budget to
# start in the current month or later.
DEFAULT_BUDGET_START = date(2026, 11, 1)


def _unique_thresholds(values: list[int] | None) -> list[int] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError(f"thresholds {values} list a value twice")
    return sorted(values) if values is not None else None


def _first_of_month(value: date | None) -> date | None:
    if value is not None and value.day != 1:
        raise ValueError(f"{value.isoformat()} is not the first day of a month; Azure budgets start on one")
    return value


class BudgetDefaults(StrictModel):
    thresholds: Thresholds = Field(default_factory=lambda: [50, 80, 100])
    start_date: date = DEFAULT_BUDGET_START
    currency_note: str | None = None

    _thresholds = field_validator("thresholds")(_unique_thresholds)
    _start = field_validator("start_date")(_first_of_month)


class EnvironmentConfig(StrictModel):
    """`config: mlplatform:environment:` in stacks/Pulumi.<stack>.yaml."""

    prefix: str
    short_name: str
    location: str
    production: bool = False
    owner: str
    cost_center: str
    tags: dict[str, str] = Field(default_factory=dict)
    network: NetworkConfig = Field(default_factory=lambda: NetworkConfig(public_network_access=True))
    key_vault: KeyVaultConfig = Field(default_factory=lambda: KeyVaultConfig())
    log_analytics: LogAnalyticsConfig = Field(default_factory=lambda: LogAnalyticsConfig())
    container_registry: ContainerRegistryConfig = Field(default_factory=lambda: ContainerRegistryConfig())
    registry: RegistryConfig
    storage_sku: Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_GZRS"] = "Standard_LRS"
    lock: LockLevel | Literal["none"] | None = None
    gpu_quota: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    role_exceptions: list[RoleException] = Field(default_factory=list)
    budgets: BudgetDefaults = Field(default_factory=lambda: BudgetDefaults())
    keep_legacy_aliases: bool = False

    _prefix = field_validator("prefix")(
        lambda v: _matches(naming.PREFIX_PATTERN, v, f"a valid prefix ({naming.PREFIX_RULE})")
    )
    _short = field_validator("short_name")(
        lambda v: _matches(naming.ENVIRONMENT_PATTERN, v, f"a valid short name ({naming.ENVIRONMENT_RULE})")
    )
    _location = field_validator("location")(
        lambda v: _matches(LOCATION, v, "an Azure region name such as westeurope")
    )
    _owner = field_validator("owner")(lambda v: _matches(EMAIL, v, "an email address"))
    _tags = field_validator("tags")(_check_tags)

    @field_validator("gpu_quota")
    @classmethod
    def _families(cls, quota: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(quota) - GPU_FAMILIES)
        if unknown:
            raise ValueError(
                f"unknown VM famil{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}; "
                f"known: {', '.join(sorted(GPU_FAMILIES))}"
            )
        return quota

    @model_validator(mode="after")
    def _registry_sku(self) -> EnvironmentConfig:
        sku = self.container_registry.sku
        if not self.network.public_network_access and sku not in (None, "Premium"):
            raise ValueError(
                f"container_registry.sku {sku} cannot disable public access; private registries need Premium"
            )
        return self

    @property
    def acr_sku(self) -> str:
        if self.container_registry.sku:
            return self.container_registry.sku
        return "Standard" if self.network.public_network_access else "Premium"

    @property
    def lock_level(self) -> LockLevel | None:
        """Production gets a delete lock on stateful resources unless it opts out with `none`."""
        if self.lock == "none":
            return None
        if self.lock is None:
            return "CanNotDelete" if self.production else None
        return self.lock

    @property
    def names(self) -> naming.EnvironmentNames:
        return naming.EnvironmentNames(self.prefix, self.short_name)


# --- project ----------------------------------------------------------------------------------


class ClusterConfig(StrictModel):
    vm_size: str
    max_nodes: int = Field(ge=1, le=100)
    min_nodes: int = Field(0, ge=0)
    priority: Literal["Dedicated", "LowPriority"] = "Dedicated"
    idle_minutes: int = Field(15, ge=2, le=10080)
    description: str = ""

    @field_validator("vm_size")
    @classmethod
    def _known_sku(cls, value: str) -> str:
        sku = find_sku(value)
        if sku is None:
            raise ValueError(f"unknown GPU VM size {value!r}; known sizes: {', '.join(sorted(GPU_SKUS))}")
        return sku.name

    @model_validator(mode="after")
    def _nodes(self) -> ClusterConfig:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) is above max_nodes ({self.max_nodes})")
        return self


class Principal(StrictModel):
    object_id: str
    kind: PrincipalKind
    name: str = ""

    _guid = field_validator("object_id")(lambda v: _matches(GUID, v, "an Entra object id (a GUID)"))


class AccessConfig(StrictModel):
    data_scientists: list[Principal] = Field(default_factory=list)
    compute_operators: list[Principal] = Field(default_factory=list)
    readers: list[Principal] = Field(default_factory=list)
    ci_deployers: list[Principal] = Field(default_factory=list)
    # Any role of infra/roles.py, on the project's resource group; privileged roles need an
    # environment `role_exceptions` entry.
    extra_roles: dict[str, list[Principal]] = Field(default_factory=dict)

    @field_validator("extra_roles")
    @classmethod
    def _roles(cls, roles: dict[str, list[Principal]]) -> dict[str, list[Principal]]:
        for role in roles:
            _known_role(role)
        return roles

    def members(self) -> dict[str, list[Principal]]:
        """Every principal by the access list naming it (`extra_roles.<role>` for extra roles)."""
        lists = {
            "data_scientists": self.data_scientists,
            "compute_operators": self.compute_operators,
            "readers": self.readers,
            "ci_deployers": self.ci_deployers,
        }
        lists.update({f"extra_roles.{role}": principals for role, principals in self.extra_roles.items()})
        return lists

    @model_validator(mode="after")
    def _one_kind(self) -> AccessConfig:
        kinds: dict[str, set[str]] = {}
        for principals in self.members().values():
            for principal in principals:
                kinds.setdefault(principal.object_id.lower(), set()).add(principal.kind)
        mixed = sorted(oid for oid, found in kinds.items() if len(found) > 1)
        if mixed:
            raise ValueError(
                f"object id {', '.join(mixed)} is given with different kinds "
                f"({', '.join(sorted(kinds[mixed[0]]))}); an Entra object has one kind"
            )
        return self


class BudgetConfig(StrictModel):
    monthly_amount: float = Field(gt=0)
    # The project owner always gets the notifications; these are in addition.
    contact_emails: list[str] = Field(default_factory=list)
    thresholds: Thresholds | None = None
    start_date: date | None = None

    _thresholds = field_validator("thresholds")(_unique_thresholds)
    _start = field_validator("start_date")(_first_of_month)

    @field_validator("contact_emails")
    @classmethod
    def _emails(cls, emails: list[str]) -> list[str]:
        return [_matches(EMAIL, email, "an email address") for email in emails]


class ProjectSettings(StrictModel):
    """A project as it is in one environment, after that environment's overrides are applied."""

    name: str
    description: str = ""
    owner: str
    cost_center: str
    tags: dict[str, str] = Field(default_factory=dict)
    clusters: dict[str, ClusterConfig] = Field(default_factory=dict)
    access: AccessConfig = Field(default_factory=lambda: AccessConfig())
    budget: BudgetConfig | None = None

    _name = field_validator("name")(
        lambda v: _matches(naming.PROJECT_PATTERN, v, f"a valid project name ({naming.PROJECT_RULE})")
    )
    _owner = field_validator("owner")(lambda v: _matches(EMAIL, v, "an email address"))
    _tags = field_validator("tags")(_check_tags)

    @field_validator("clusters")
    @classmethod
    def _cluster_names(cls, clusters: dict[str, ClusterConfig]) -> dict[str, ClusterConfig]:
        for name in clusters:
            naming.check_compute_name(name)
        return clusters


# Keys a project file may set per environment; everything else is the same in every environment.
OVERRIDABLE = ("description", "tags", "clusters", "access", "budget")
