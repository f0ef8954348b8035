"""`python -m infra check-live --stack ENV`: the facts the program keeps in tables, checked against
a real subscription. Offline tests cannot tell a wrong role GUID or a renamed quota family from a
right one; Azure can.

Checked, read-only, with the caller's Azure credentials (`az login`, or the AZURE_*/ARM_*
variables DefaultAzureCredential reads):
- every role of infra/roles.py: the role definition with that GUID exists and has that name
  (Authorization REST API, Role Definitions - Get, api-version 2022-04-01);
- every GPU size of infra/skus.py offered in the stack's region: family, vCPUs and GPUs as the
  table says (Compute REST API, Resource Skus - List, api-version 2021-07-01, capabilities
  `vCPUs` and `GPUs`);
- every family in the stack's `gpu_quota`, and in each region of its `gpu_quota_by_region`: the
  subscription's limit in that family and region is at least what the stack declares (Compute
  REST API, Usage - List, api-version 2023-09-01).

Exit codes: 0 every fact holds, 1 a fact does not, 2 bad input (stack), 5 skipped (no credentials:
nothing was checked).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from infra.roles import BUILTIN_ROLES
from infra.skus import GPU_SKUS

ARM = "https://management.azure.com"
GetJson = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.what}"


def _pages(get_json: GetJson, url: str) -> Iterator[Mapping[str, Any]]:
    while url:
        page = get_json(url)
        yield from page.get("value", [])
        url = str(page.get("nextLink") or "")


def check_roles(get_json: GetJson, subscription: str) -> list[Finding]:
    findings = []
    for name, guid in sorted(BUILTIN_ROLES.items()):
        url = (
            f"{ARM}/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{guid}?api-version=2022-04-01"
        )
        try:
            found = str(get_json(url).get("properties", {}).get("roleName", ""))
        except LookupError:
            findings.append(Finding(False, f"role {name}: no role definition {guid}"))
            continue
        findings.append(Finding(found == name, f"role {name}: {guid} is {found!r}"))
    return findings


def _capability(sku: Mapping[str, Any], name: str) -> str:
    return next((str(c.get("value")) for c in sku.get("capabilities", []) if c.get("name") == name), "")


def check_sizes(get_json: GetJson, subscription: str, location: str) -> list[Finding]:
    where = quote(f"location eq '{location}'")
    url = f"{ARM}/subscriptions/{subscription}/providers/Microsoft.Compute/skus?api-version=2021-07-01&$filter={where}"
    offered = {
        str(sku["name"]).lower(): sku
        for sku in _pages(get_json, url)
        if sku.get("resourceType") == "virtualMachines"
    }
    findings = []
    for name, ours in sorted(GPU_SKUS.items()):
        theirs = offered.get(name.lower())
        if theirs is None:
            findings.append(Finding(True, f"size {name}: not offered in {location} (nothing to compare)"))
            continue
        actual = (str(theirs.get("family")), _capability(theirs, "vCPUs"), _capability(theirs, "GPUs"))
        expected = (ours.family, str(ours.vcpus), str(ours.gpus))
        findings.append(
            Finding(
                actual == expected,
                f"size {name}: family/vCPUs/GPUs {'/'.join(actual)}"
                + ("" if actual == expected else f", infra/skus.py says {'/'.join(expected)}"),
            )
        )
    return findings


def check_quota(
    get_json: GetJson, subscription: str, location: str, declared: Mapping[str, int]
) -> list[Finding]:
    url = (
        f"{ARM}/subscriptions/{subscription}/providers/Microsoft.Compute/locations/{location}/usages"
        "?api-version=2023-09-01"
    )
    limits = {str(u["name"]["value"]).lower(): int(u.get("limit", 0)) for u in _pages(get_json, url)}
    findings = []
    for family, vcpus in sorted(declared.items()):
        limit = limits.get(family.lower())
        if limit is None:
            findings.append(
                Finding(False, f"quota {family}: the subscription has no such family in {location}")
            )
        else:
            findings.append(
                Finding(
                    limit >= vcpus, f"quota {family}: {limit} vCPUs in {location}, the stack declares {vcpus}"
                )
            )
    return findings


def arm_get_json(*, managed_identity: bool = False) -> GetJson:
    """GET from Azure Resource Manager with DefaultAzureCredential; raises CredentialsMissing when
    no credential works, LookupError on 404. The managed identity credential is left out unless
    asked for: off Azure it probes the instance metadata endpoint, a network call nobody asked for."""
    from azure.core import PipelineClient
    from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
    from azure.core.rest import HttpRequest
    from azure.identity import CredentialUnavailableError, DefaultAzureCredential

    credential = DefaultAzureCredential(
        exclude_interactive_browser_credential=True, exclude_managed_identity_credential=not managed_identity
    )
    # DefaultAzureCredential logs every credential it tried as a warning; the one-line reason is enough
    logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
    try:
        credential.get_token(f"{ARM}/.default")
    except (CredentialUnavailableError, ClientAuthenticationError) as error:
        raise CredentialsMissing(str(error).splitlines()[0]) from None
    client: PipelineClient[HttpRequest, Any] = PipelineClient(
        ARM, policies=[RetryPolicy(), BearerTokenCredentialPolicy(credential, f"{ARM}/.default")]
    )

    def get_json(url: str) -> Mapping[str, Any]:
        response = client.send_request(HttpRequest("GET", url))
        if response.status_code == 404:
            raise LookupError(url)
        try:
            response.raise_for_status()
        except ResourceNotFoundError:
            raise LookupError(url) from None
        result: Mapping[str, Any] = response.json()
        return result

    return get_json


class CredentialsMissing(Exception):
    """No Azure credential is available: the live checks cannot run."""


def run(
    stack_location: str,
    gpu_quota: Mapping[str, int],
    subscription: str,
    get_json: GetJson,
    regional_quota: Mapping[str, Mapping[str, int]] = {},
) -> list[Finding]:
    """`gpu_quota` is the stack location's; `regional_quota` the other regions' (by region)."""
    return [
        *check_roles(get_json, subscription),
        *check_sizes(get_json, subscription, stack_location),
        *check_quota(get_json, subscription, stack_location, gpu_quota),
        *(
            finding
            for region, quota in sorted(regional_quota.items())
            for finding in check_quota(get_json, subscription, region, quota)
        ),
    ]
