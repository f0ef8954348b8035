"""The pack through pulumi-policy's analyzer, as `pulumi preview --policy-pack policy` drives it
over gRPC: the pack's metadata, `--policy-pack-config` levels, and values unknown during preview.

This uses pulumi-policy's analyzer servicer (a private class of pulumi_policy.policy) without its
gRPC server, since the Pulumi CLI is not available offline; it is the code the pack runs under
the CLI, request by request."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from infra.guardrails.pack import PACK_NAME, Guardrails, policies
from infra.guardrails.rules import RULE_NAMES
from infra.plan.offline import REPOSITORY

# Pulumi's wire sentinel for an unknown value (sdk/proto): what preview sends for computed inputs.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
WORKSPACE = "azure-native:machinelearningservices:Workspace"


@pytest.fixture
def analyzer() -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(
        PACK_NAME, "0.0.1", policies(Guardrails(REPOSITORY)), EnforcementLevel.ADVISORY
    )


def _request(stack: str, type_: str, name: str, props: dict[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    properties = struct_pb2.Struct()
    properties.update(props)
    return analyzer_pb2.AnalyzeRequest(
        type=type_,
        name=name,
        urn=f"urn:pulumi:{stack}::mlplatform::mlplatform:project:Project${type_}::{name}",
        properties=properties,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
    )


def _public_workspace(stack: str) -> analyzer_pb2.AnalyzeRequest:
    identity = (
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i"
    )
    return _request(
        stack,
        WORKSPACE,
        "p-workspace",
        {
            "publicNetworkAccess": "Enabled",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": [identity]},
            "primaryUserAssignedIdentity": identity,
            "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"},
            "tags": {
                "owner": "o",
                "cost-center": "c",
                "environment": stack,
                "managed-by": "m",
                "project": "p",
            },
        },
    )


def test_the_analyzer_describes_every_rule(analyzer: _PolicyAnalyzerServicer) -> None:
    info = analyzer.GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    assert {p.name for p in info.policies} == RULE_NAMES
    assert all(p.description for p in info.policies)


def test_a_mandatory_violation_as_preview_reports_it(analyzer: _PolicyAnalyzerServicer) -> None:
    response = analyzer.Analyze(_public_workspace("prod"), None)
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("ml-workspace-public-network", analyzer_pb2.MANDATORY)
    ]
    assert "publicNetworkAccess is 'Enabled'" in response.diagnostics[0].message


def test_the_pack_config_written_for_dev_makes_it_advisory(analyzer: _PolicyAnalyzerServicer) -> None:
    # What `python -m infra policy --stack dev --pack-config FILE` writes (test_cli.py).
    config = analyzer_pb2.ConfigureAnalyzerRequest(
        policyConfig={
            "ml-workspace-public-network": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.ADVISORY),
            "project-budget": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.ADVISORY),
        }
    )
    analyzer.Configure(config, None)
    response = analyzer.Analyze(_public_workspace("dev"), None)
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("ml-workspace-public-network", analyzer_pb2.ADVISORY)
    ]


def test_an_unknown_value_during_preview_is_not_a_violation(analyzer: _PolicyAnalyzerServicer) -> None:
    request = _request(
        "prod",
        "azure-native:storage:StorageAccount",
        "p-storage",
        {
            "enableHttpsTrafficOnly": True,
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": False,
            "allowSharedKeyAccess": UNKNOWN,
            "tags": {
                "owner": "o",
                "cost-center": "c",
                "environment": "prod",
                "managed-by": "m",
                "project": "p",
            },
        },
    )
    response = analyzer.Analyze(request, None)
    # pulumi-policy turns the access to an unknown value into an advisory "can't run during preview".
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("storage-shared-key-off", analyzer_pb2.ADVISORY)
    ]
    assert "can't be known during preview" in response.diagnostics[0].message


def _resource(request: analyzer_pb2.AnalyzeRequest, **fields: Any) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=request.type,
        properties=request.properties,
        urn=request.urn,
        name=request.name,
        options=request.options,
        **fields,
    )


def test_stack_rules_under_the_analyzer(analyzer: _PolicyAnalyzerServicer) -> None:
    workspace = _public_workspace("prod")
    diagnostics = _request(
        "prod",
        "azure-native:monitor:DiagnosticSetting",
        "p-workspace-diagnostics",
        {"resourceUri": UNKNOWN, "workspaceId": "/x"},
    )
    alone = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[_resource(workspace)]), None)
    assert ("workspace-diagnostics", workspace.urn) in {(d.policyName, d.urn) for d in alone.diagnostics}
    # A new workspace's id is unknown in preview: its diagnostic setting is found by dependency.
    linked = _resource(
        diagnostics,
        propertyDependencies={"resourceUri": analyzer_pb2.AnalyzerPropertyDependencies(urns=[workspace.urn])},
    )
    both = analyzer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(resources=[_resource(workspace), linked]), None
    )
    assert "workspace-diagnostics" not in {d.policyName for d in both.diagnostics}
