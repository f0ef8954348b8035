"""The Azure Policy evaluator, operator by operator, on one storage account and one private endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from infra.azure_policy.aliases import ALIASES, ARM_TYPES
from infra.azure_policy.evaluate import NotEvaluated, Scope, UnknownAlias, holds
from infra.guardrails.core import PlannedResource

STORAGE = PlannedResource(
    urn="urn:pulumi:prod::mlplatform::azure-native:storage:StorageAccount::st",
    type="azure-native:storage:StorageAccount",
    name="st",
    props={
        "accountName": "stmlpprdexample",
        "location": "westeurope",
        "kind": "StorageV2",
        "minimumTlsVersion": "TLS1_2",
        "allowSharedKeyAccess": False,
        "enableHttpsTrafficOnly": True,
        "tags": {"Cost-Center": "CC-1", "owner": "a@contoso.com"},
    },
    id="/subscriptions/s/resourceGroups/rg-x/providers/Microsoft.Storage/storageAccounts/stmlpprdexample",
)
ENDPOINT = PlannedResource(
    urn="urn:pulumi:prod::mlplatform::azure-native:network:PrivateEndpoint::pe",
    type="azure-native:network:PrivateEndpoint",
    name="pe",
    props={
        "location": "westeurope",
        "privateLinkServiceConnections": [
            {"groupIds": ["blob"], "privateLinkServiceId": "/x/blob"},
            {"groupIds": ["file", "queue"], "privateLinkServiceId": "/x/file"},
        ],
    },
)
TLS = "Microsoft.Storage/storageAccounts/minimumTlsVersion"
SHARED_KEY = "Microsoft.Storage/storageAccounts/allowSharedKeyAccess"
GROUP_IDS = "Microsoft.Network/privateEndpoints/privateLinkServiceConnections[*].groupIds[*]"


def decide(condition: dict[str, Any], resource: PlannedResource = STORAGE, **parameters: Any) -> bool:
    return holds(condition, Scope(resource, parameters))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "type", "equals": "Microsoft.Storage/storageAccounts"}, True),
        ({"field": "type", "equals": "microsoft.storage/STORAGEACCOUNTS"}, True),  # case-insensitive
        ({"field": TLS, "equals": "TLS1_0"}, False),
        ({"field": TLS, "notEquals": "TLS1_0"}, True),
        ({"field": TLS, "notEquals": "tls1_2"}, False),
        ({"field": SHARED_KEY, "equals": "false"}, True),  # booleans compare as strings
        ({"field": SHARED_KEY, "equals": False}, True),
        ({"field": "location", "in": ["westeurope", "northeurope"]}, True),
        ({"field": "location", "in": ["eastus"]}, False),
        ({"field": "location", "notIn": ["eastus"]}, True),
        ({"field": "location", "notIn": ["WestEurope"]}, False),
        ({"field": TLS, "exists": True}, True),
        ({"field": TLS, "exists": "false"}, False),
        ({"field": "Microsoft.Storage/storageAccounts/allowBlobPublicAccess", "exists": "false"}, True),
        ({"field": "name", "contains": "mlpprd"}, True),
        ({"field": "name", "contains": "dev"}, False),
        ({"field": "name", "notContains": "dev"}, True),
        ({"field": "name", "like": "stmlp*"}, True),
        ({"field": "name", "like": "stdev*"}, False),
        ({"field": "name", "notLike": "stdev*"}, True),
        ({"field": "kind", "match": "???????V#"}, True),  # ? a letter, # a digit
        ({"field": "kind", "match": "storagev#"}, False),  # match is case-sensitive
        ({"field": "kind", "matchInsensitively": "storagev#"}, True),
        ({"field": "kind", "match": "Storage.."}, True),
        ({"field": "kind", "notMatch": "#######"}, True),
        ({"field": "tags['cost-center']", "equals": "CC-1"}, True),  # tag names ignore case
        ({"field": "tags.owner", "exists": True}, True),
        ({"field": "tags[project]", "exists": True}, False),
        ({"field": "tags", "containsKey": "owner"}, True),
        ({"field": "id", "contains": "/resourceGroups/rg-x/"}, True),
        ({"value": "[parameters('minimum')]", "equals": "TLS1_2"}, True),
        ({"value": "[field('location')]", "equals": "westeurope"}, True),
        (
            {
                "value": "[empty(field('Microsoft.Storage/storageAccounts/allowBlobPublicAccess'))]",
                "equals": True,
            },
            True,
        ),
        ({"field": TLS, "equals": "[parameters('minimum')]"}, True),
        ({"field": "[concat('tags[', 'owner', ']')]", "exists": True}, True),
    ],
)
def test_one_condition(condition: dict[str, Any], expected: bool) -> None:
    assert decide(condition, minimum="TLS1_2") is expected


def test_a_missing_field_fails_positive_operators_and_passes_their_negations() -> None:
    absent = "Microsoft.Storage/storageAccounts/allowBlobPublicAccess"
    for operator in ("equals", "in", "like", "contains", "match"):
        operand: Any = ["x"] if operator == "in" else "x"
        assert decide({"field": absent, operator: operand}) is False
    for operator in ("notEquals", "notIn", "notLike", "notContains", "notMatch"):
        operand = ["x"] if operator == "notIn" else "x"
        assert decide({"field": absent, operator: operand}) is True


def test_all_of_any_of_and_not() -> None:
    yes = {"field": "location", "equals": "westeurope"}
    no = {"field": "location", "equals": "eastus"}
    assert decide({"allOf": [yes, yes]}) and not decide({"allOf": [yes, no]})
    assert decide({"anyOf": [no, yes]}) and not decide({"anyOf": [no, no]})
    assert decide({"not": no}) and not decide({"not": yes})
    assert decide({"allOf": [{"not": no}, {"anyOf": [no, {"not": no}]}]})


def test_count_over_an_array_alias() -> None:
    blob = {"field": GROUP_IDS, "equals": "blob"}
    assert decide({"count": {"field": GROUP_IDS, "where": blob}, "equals": 1}, ENDPOINT)
    assert decide({"count": {"field": GROUP_IDS}, "equals": 3}, ENDPOINT)  # nested arrays, flattened
    outside = {"field": GROUP_IDS, "notIn": ["blob", "file"]}
    assert decide({"count": {"field": GROUP_IDS, "where": outside}, "greater": 0}, ENDPOINT)  # queue
    assert decide({"count": {"field": GROUP_IDS, "where": outside}, "less": 1}, ENDPOINT) is False
    connections = "Microsoft.Network/privateEndpoints/privateLinkServiceConnections[*]"
    assert decide({"count": {"field": connections}, "greaterOrEquals": 2}, ENDPOINT)
    # No array at all counts zero.
    assert decide({"count": {"field": GROUP_IDS}, "equals": 0}, STORAGE)


def test_an_array_alias_outside_count_holds_when_every_element_does() -> None:
    assert decide({"field": GROUP_IDS, "in": ["blob", "file", "queue"]}, ENDPOINT)
    assert decide({"field": GROUP_IDS, "in": ["blob", "file"]}, ENDPOINT) is False


def test_an_unknown_alias_is_reported_not_guessed() -> None:
    with pytest.raises(UnknownAlias, match=r"Microsoft.Storage/storageAccounts/networkAcls.defaultAction"):
        decide({"field": "Microsoft.Storage/storageAccounts/networkAcls.defaultAction", "equals": "Deny"})


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "location", "equalsIgnoreCase": "x"}, "no operator this evaluator supports"),
        ({"value": "[requestContext().apiVersion]", "less": "2019-04-01"}, "requestContext"),
        ({"value": "[parameters('missing')]", "equals": "x"}, "parameter 'missing' has no value"),
        ({"count": {"value": [1, 2], "name": "n"}, "equals": 2}, "value count"),
    ],
)
def test_what_it_cannot_decide_is_not_evaluated(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(NotEvaluated, match=message):
        decide(condition)


@pytest.mark.parametrize("unknown", ["[unknown]", "[computed]", "output<string>"])
def test_a_value_unknown_at_plan_time_is_not_evaluated(unknown: str) -> None:
    resource = PlannedResource(
        STORAGE.urn, STORAGE.type, "st", {**STORAGE.props, "minimumTlsVersion": unknown}
    )
    with pytest.raises(NotEvaluated, match="not known before deployment"):
        decide({"field": TLS, "equals": "TLS1_2"}, resource)
    with pytest.raises(NotEvaluated, match="id is not known"):
        decide({"field": "id", "contains": "x"}, resource)


def test_the_alias_table_is_one_table_with_a_source_per_alias() -> None:
    assert ALIASES, "aliases"
    for key, alias in ALIASES.items():
        assert key == alias.alias.lower()
        namespace_type = "/".join(alias.alias.split("/")[:2]).lower()
        assert any(arm.lower().startswith(namespace_type) for arm in ARM_TYPES.values()), alias.alias
        assert alias.source and alias.input_path and alias.arm_path.startswith("properties.")
        assert alias.input_path.count("[*]") == alias.alias.count("[*]")


def test_an_unknown_object_on_the_way_is_not_evaluated_rather_than_missing() -> None:
    resource = PlannedResource(
        ENDPOINT.urn, ENDPOINT.type, "pe", {"privateLinkServiceConnections": "[unknown]"}
    )
    with pytest.raises(NotEvaluated, match="not known before deployment"):
        decide({"field": GROUP_IDS, "exists": False}, resource)
    with pytest.raises(NotEvaluated, match="not known before deployment"):
        decide({"count": {"field": GROUP_IDS}, "equals": 0}, resource)
