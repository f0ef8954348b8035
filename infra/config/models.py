"""Typed configuration: one environment (a stack) and one onboarded project.

Every rule that can be checked without Azure is checked here, so that a bad value fails while
configuration loads, naming its file and field, and never half-way through registering resources.
Secure values are the defaults; each relaxation is a field a user must set on purpose.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from infra import naming
from infra.network_rules import (
    DNS_ZONES,
    OUTBOUND_RULE_NAME,
    PORT_RANGES,
    check_fqdn,
    check_subresource,
    is_exfiltration_tag,
)
from infra.regions import REGIONS
from infra.roles import BUILTIN_ROLES, PRIVILEGED_ROLES
from infra.skus import GPU_FAMILIES, GPU_SKUS, find_sku

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
NIL_GUID = "00000000-0000-0000-0000-000000000000"
ARM_ID = re.compile(r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/[^/]+/.+")
# Exactly one resource of the type, not a child of it: `/subscriptions/<s>/resourceGroups/<g>/providers/<ns>/<type>/<name>`.
_ONE_RESOURCE = r"/subscriptions/[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}/resourceGroups/[-\w._()]+/providers/%s/[^/]+"
ML_REGISTRY_ID = re.compile(_ONE_RESOURCE % r"Microsoft\.MachineLearningServices/registries", re.IGNORECASE)
SUBNET_ID = re.compile(
    _ONE_RESOURCE % r"Microsoft\.Network/virtualNetworks" + r"/subnets/[^/]+", re.IGNORECASE
)
PRIVATE_DNS_ZONE_ID = re.compile(_ONE_RESOURCE % r"Microsoft\.Network/privateDnsZones", re.IGNORECASE)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Tag names: at most 512 characters, 128 on storage accounts, which every project has
# (Microsoft Learn, "Use tags to organize your Azure resources", limitations).
TAG_KEY = re.compile(r"[^<>%&\\?/]{1,128}")
# Azure allows 50 tags per resource; the platform sets up to five of its own.
MAX_TAGS = 50

IsolationMode = Literal["Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound"]
PrincipalKind = Literal["User", "Group", "ServicePrincipal"]
LockLevel = Literal["CanNotDelete", "ReadOnly"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _matches(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


# Set by the platform from dedicated fields, so they cannot drift from what budgets and owners use:
# the required tags on every resource (`project` on a project's), and `gpu` on clusters, from the
# SKU table. A file may set none of them.
REQUIRED_TAGS = ("owner", "cost-center", "environment", "project", "managed-by")
RESERVED_TAGS = (*REQUIRED_TAGS, "gpu")


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    # Tag names are case-insensitive in Azure: `Owner` is the platform's `owner`.
    reserved = sorted(key for key in tags if key.lower() in RESERVED_TAGS)
    if reserved:
        raise ValueError(
            f"{', '.join(reserved)} {'is' if len(reserved) == 1 else 'are'} set by the platform "
            f"(tag names are case-insensitive); remove {'it' if len(reserved) == 1 else 'them'}"
        )
    by_lower: dict[str, list[str]] = {}
    for key in tags:
        by_lower.setdefault(key.lower(), []).append(key)
    twice = sorted(keys[0] for keys in by_lower.values() if len(keys) > 1)
    if twice:
        raise ValueError(
            f"tags {', '.join(twice)} given twice in different case; Azure tag names ignore case"
        )
    room = MAX_TAGS - len(RESERVED_TAGS)
    if len(tags) > room:
        raise ValueError(
            f"{len(tags)} tags; Azure allows {MAX_TAGS} per resource and the platform sets {len(RESERVED_TAGS)}, "
            f"so at most {room}"
        )
    for key in tags:
        _matches(TAG_KEY, key, "a valid tag name (1-128 characters, none of <>%&\\?/)")
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

    _fqdn = field_validator("destination")(check_fqdn)


class ServiceTagRule(StrictModel):
    type: Literal["ServiceTag"]
    service_tag: str
    protocol: Literal["TCP", "UDP", "ICMP", "*"] = "TCP"
    port_ranges: str = "443"

    @field_validator("port_ranges")
    @classmethod
    def _ports(cls, value: str) -> str:
        match = PORT_RANGES.fullmatch(value)
        ports = [int(p) for p in re.findall(r"\d+", value)] if match else []
        if not match or not all(1 <= p <= 65535 for p in ports):
            raise ValueError(
                f"{value!r} is not a port list: ports 1-65535 or ranges, comma-separated (443, 80,443, 8000-8080)"
            )
        for low, high in re.findall(r"(\d+)-(\d+)", value):
            if int(low) > int(high):
                raise ValueError(f"port range {low}-{high} runs backwards")
        return value


class PrivateEndpointRule(StrictModel):
    type: Literal["PrivateEndpoint"]
    service_resource_id: str
    subresource_target: str

    _id = field_validator("service_resource_id")(
        lambda v: _matches(ARM_ID, v, "an Azure resource id (/subscriptions/<guid>/resourceGroups/...)")
    )

    @model_validator(mode="after")
    def _subresource(self) -> PrivateEndpointRule:
        check_subresource(self.service_resource_id, self.subresource_target)
        return self


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
    def _zone_ids(cls, value: str, info: ValidationInfo) -> str:
        if not PRIVATE_DNS_ZONE_ID.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a private DNS zone resource id "
                "(/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/<zone>)"
            )
        expected = DNS_ZONES[str(info.field_name)]
        zone = value.rsplit("/", 1)[-1]
        if zone.lower() != expected:
            raise ValueError(
                f"is the zone {zone}; {info.field_name} private endpoints register in {expected}"
            )
        return value


class PrivateEndpoints(StrictModel):
    subnet_id: str
    dns_zone_ids: PrivateDnsZones

    @field_validator("subnet_id")
    @classmethod
    def _subnet(cls, value: str) -> str:
        return _matches(
            SUBNET_ID,
            value,
            "a subnet resource id (…/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)",
        )


class ServiceTagException(StrictModel):
    """A broad service tag allowed outbound in production on purpose; the plan lists each."""

    rule: str
    reason: str = Field(min_length=10)


class NetworkConfig(StrictModel):
    public_network_access: bool = False
    isolation_mode: IsolationMode = "AllowInternetOutbound"
    outbound_rules: dict[str, OutboundRule] = Field(default_factory=dict)
    # A managed Azure Firewall is provisioned for FQDN rules; Basic costs far less than Standard.
    firewall_sku: Literal["Basic", "Standard"] = "Standard"
    service_tag_exceptions: list[ServiceTagException] = Field(default_factory=list)
    private_endpoints: PrivateEndpoints | None = None

    @field_validator("outbound_rules")
    @classmethod
    def _rule_names(cls, rules: dict[str, OutboundRule]) -> dict[str, OutboundRule]:
        from infra.model.network import REGISTRY_RULE

        for name in rules:
            if not OUTBOUND_RULE_NAME.fullmatch(name):
                raise ValueError(
                    f"outbound rule name {name!r} is not valid: 3-33 letters, digits, '_' and '-', "
                    "starting with a letter or digit"
                )
            if name == REGISTRY_RULE:
                raise ValueError(f"outbound rule name {name!r} is the platform's own (the registry path)")
        return rules

    @model_validator(mode="after")
    def _consistent(self) -> NetworkConfig:
        fqdn = [name for name, rule in self.outbound_rules.items() if isinstance(rule, FqdnRule)]
        if fqdn and self.isolation_mode != "AllowOnlyApprovedOutbound":
            raise ValueError(
                f"FQDN outbound rules ({', '.join(fqdn)}) need isolation_mode AllowOnlyApprovedOutbound"
            )
        tags = [name for name, rule in self.outbound_rules.items() if isinstance(rule, ServiceTagRule)]
        if tags and self.isolation_mode != "AllowOnlyApprovedOutbound":
            raise ValueError(
                f"service tag outbound rules ({', '.join(tags)}) only apply under isolation_mode "
                "AllowOnlyApprovedOutbound; AllowInternetOutbound already allows all outbound traffic"
            )
        if self.outbound_rules and self.isolation_mode == "Disabled":
            raise ValueError("outbound_rules need a managed network: isolation_mode is Disabled")
        unknown = sorted({e.rule for e in self.service_tag_exceptions} - set(tags))
        if unknown:
            raise ValueError(
                f"service_tag_exceptions name {', '.join(unknown)}, which are not service tag rules"
            )
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
    # Premium only; by default on in production (zone redundancy is chosen at creation).
    zone_redundant: bool | None = None
    # Premium only: untagged manifests are deleted after this many days (0 deletes them at once).
    untagged_retention_days: int = Field(7, ge=0, le=365)


def _region(value: str) -> str:
    if value not in REGIONS:
        # ARM also accepts display names (`West Europe`); the program names regions one way. The
        # closest name is the one meant: a display name's closest is its name (`westeurope`).
        close = difflib.get_close_matches(value.lower(), sorted(REGIONS), n=1)
        hint = f"; did you mean {close[0]}?" if close else " (see `az account list-locations -o table`)"
        raise ValueError(f"{value!r} is not an Azure region name{hint}")
    return value


Region = Annotated[str, AfterValidator(_region)]


class CreateRegistry(StrictModel):
    replication_regions: list[Region] = Field(min_length=1)
    # Private by default: workspaces reach it through managed-network private endpoints, and the
    # hub network through the registry's own private endpoint.
    public_network_access: bool = False

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
    # Whether the registry another stack owns accepts public traffic (its `create.public_network_access`):
    # decides whether a workspace without a managed network can reach it.
    existing_public_network_access: bool = False
    # The regions of the registry another stack owns (its location and replication regions): a
    # workspace can use a registry only from one of them (docs/onboarding.md, "Regions"). Unset: only
    # workspaces in the environment's own location are allowed, and only the service checks those.
    existing_regions: list[Region] | None = Field(None, min_length=1)

    @field_validator("existing_regions")
    @classmethod
    def _unique_regions(cls, regions: list[str] | None) -> list[str] | None:
        if regions is not None and len(set(regions)) != len(regions):
            raise ValueError("existing_regions lists a region twice")
        return regions

    @model_validator(mode="after")
    def _exactly_one(self) -> RegistryConfig:
        if (self.create is None) == (self.existing_id is None):
            raise ValueError("give exactly one of `create` (this stack owns the registry) or `existing_id`")
        if self.create is not None and self.existing_regions is not None:
            raise ValueError(
                "existing_regions describes a registry another stack owns; this stack creates its own "
                "(its regions are `create.replication_regions` and the environment's location)"
            )
        if self.existing_id is not None and not ML_REGISTRY_ID.fullmatch(self.existing_id):
            raise ValueError(
                f"existing_id {self.existing_id!r} is not exactly an Azure ML registry id "
                "(/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.MachineLearningServices/registries/<name>)"
            )
        return self


def _known_families(quota: dict[str, int]) -> dict[str, int]:
    unknown = sorted(set(quota) - GPU_FAMILIES)
    if unknown:
        raise ValueError(
            f"unknown VM famil{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(GPU_FAMILIES))}"
        )
    return quota


def _known_role(role: str) -> str:
    if role not in BUILTIN_ROLES:
        raise ValueError(f"unknown role {role!r}; known roles: {', '.join(sorted(BUILTIN_ROLES))}")
    return role


def _object_id(value: str) -> str:
    _matches(GUID, value, "an Entra object id (a GUID)")
    if value == NIL_GUID:
        raise ValueError("is the nil GUID, which no Entra object has; give the principal's object id")
    return value


class RoleException(StrictModel):
    """A privileged role granted to a project principal on purpose; the plan lists every one."""

    project: str
    object_id: str
    role: str
    reason: str = Field(min_length=10)

    _guid = field_validator("object_id")(_object_id)

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
    currency_note: str | None = None

    _thresholds = field_validator("thresholds")(_unique_thresholds)


class RuleOverride(StrictModel):
    """An environment's own enforcement level for one guardrail (infra/guardrails), with why."""

    level: Literal["mandatory", "advisory", "disabled"]
    reason: str = Field(min_length=10)


class PolicySettings(StrictModel):
    """`policy:` of an environment: how the guardrails (infra/guardrails) and the landing zone's Azure
    Policy definitions (infra/azure_policy) apply to it. Rule names are checked against the pack
    when the guardrails load, so that this module stays free of the rules."""

    overrides: dict[str, RuleOverride] = Field(default_factory=dict)
    # VM sizes clusters may use; default: every GPU size of a family with gpu_quota, and the
    # image-build size.
    allowed_vm_sizes: list[str] | None = None
    max_idle_minutes: int = Field(120, ge=2, le=10080)
    # Worst-case hours a month a cluster can run at max nodes (730 = 24 x 365 / 12).
    gpu_hours_per_month: int = Field(730, ge=1, le=744)
    require_customer_managed_keys: bool = False
    # Azure Policy definitions (JSON) the landing zone assigns, relative to the repository root.
    azure_policy_dir: str | None = None
    # Assignment parameter values, by definition name, then parameter.
    azure_policy_parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)


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
    # High business impact: less diagnostic data collected by the service, encrypted local scratch
    # disks. Creation-time only. Default: on where `data-classification` is confidential or stricter.
    hbi_workspace: bool | None = None
    gpu_quota: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # The same, for the other regions projects put their workspace in (`location:` of a project).
    gpu_quota_by_region: dict[Region, dict[str, Annotated[int, Field(ge=0)]]] = Field(default_factory=dict)
    role_exceptions: list[RoleException] = Field(default_factory=list)
    budgets: BudgetDefaults = Field(default_factory=lambda: BudgetDefaults())
    keep_legacy_aliases: bool = False
    policy: PolicySettings = Field(default_factory=lambda: PolicySettings())

    _prefix = field_validator("prefix")(
        lambda v: _matches(naming.PREFIX_PATTERN, v, f"a valid prefix ({naming.PREFIX_RULE})")
    )
    _short = field_validator("short_name")(
        lambda v: _matches(naming.ENVIRONMENT_PATTERN, v, f"a valid short name ({naming.ENVIRONMENT_RULE})")
    )
    _location = field_validator("location")(_region)
    _owner = field_validator("owner")(lambda v: _matches(EMAIL, v, "an email address"))
    _tags = field_validator("tags")(_check_tags)

    @field_validator("gpu_quota")
    @classmethod
    def _families(cls, quota: dict[str, int]) -> dict[str, int]:
        return _known_families(quota)

    @field_validator("gpu_quota_by_region")
    @classmethod
    def _regional_families(cls, quotas: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for quota in quotas.values():
            _known_families(quota)
        return quotas

    @model_validator(mode="after")
    def _own_region_once(self) -> EnvironmentConfig:
        if self.location in self.gpu_quota_by_region:
            raise ValueError(
                f"gpu_quota_by_region.{self.location} is the environment's own location, whose quota is "
                "`gpu_quota`: give it there only"
            )
        return self

    def gpu_quota_in(self, region: str) -> dict[str, int] | None:
        """The subscription's GPU quota recorded for `region` (vCPUs per family), None if none is."""
        if region == self.location:
            return self.gpu_quota
        return self.gpu_quota_by_region.get(region)

    @property
    def registry_regions(self) -> tuple[str, ...] | None:
        """The regions of the ML registry the environment uses, primary first; None when it is another
        stack's and the config does not record them."""
        registry = self.registry
        if registry.create is not None:
            return (self.location, *(r for r in registry.create.replication_regions if r != self.location))
        return tuple(registry.existing_regions) if registry.existing_regions is not None else None

    @model_validator(mode="after")
    def _registry_sku(self) -> EnvironmentConfig:
        sku = self.container_registry.sku
        if not self.network.public_network_access and sku not in (None, "Premium"):
            raise ValueError(
                f"container_registry.sku {sku} cannot disable public access; private registries need Premium"
            )
        if self.container_registry.zone_redundant and self.acr_sku != "Premium":
            raise ValueError(f"container_registry.zone_redundant needs sku Premium (is {self.acr_sku})")
        return self

    @model_validator(mode="after")
    def _service_tags(self) -> EnvironmentConfig:
        if not self.production:
            return self
        excepted = {e.rule for e in self.network.service_tag_exceptions}
        broad = [
            f"{name} ({rule.service_tag})"
            for name, rule in sorted(self.network.outbound_rules.items())
            if isinstance(rule, ServiceTagRule)
            and is_exfiltration_tag(rule.service_tag)
            and name not in excepted
        ]
        if broad:
            raise ValueError(
                f"network.outbound_rules {', '.join(broad)} allow a service tag that covers every Azure "
                "customer's endpoints, which Microsoft names a data exfiltration path; use a private "
                "endpoint or FQDN rule for the one resource you need, or record "
                "network.service_tag_exceptions: [{rule, reason}]"
            )
        return self

    @property
    def zone_redundant_registry(self) -> bool:
        chosen = self.container_registry.zone_redundant
        return chosen if chosen is not None else (self.production and self.acr_sku == "Premium")

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

    _guid = field_validator("object_id")(_object_id)


# The access list of the principals given an extra role is named `extra_roles.<role>`.
EXTRA_ROLES_LIST = "extra_roles."


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
        lists.update(
            {f"{EXTRA_ROLES_LIST}{role}": principals for role, principals in self.extra_roles.items()}
        )
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
    # The region of the project's workspace and its own resources; default: the environment's.
    location: Region | None = None

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
            if name.lower() == naming.IMAGE_BUILD_CLUSTER:
                raise ValueError(f"cluster name {name!r} is the platform's image-build cluster; pick another")
        lower: dict[str, str] = {}
        for name in clusters:
            other = lower.setdefault(name.lower(), name)
            if other != name:
                raise ValueError(
                    f"clusters {other!r} and {name!r} differ only in case; compute names ignore case"
                )
        return clusters


# Keys a project file may set per environment; everything else is the same in every environment.
OVERRIDABLE = ("description", "tags", "clusters", "access", "budget", "location")
