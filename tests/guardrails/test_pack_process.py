"""The pack program as the Pulumi CLI starts it: a process that prints its gRPC port, then answers
the analyzer protocol. Run as a child process (never imported: it would serve in the test
process) and stopped by its handle."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from infra.guardrails.rules import RULE_NAMES
from infra.plan.offline import REPOSITORY

# the pack runs as its own process, as the CLI starts it (left out of `make mutate`)
pytestmark = pytest.mark.cli


@pytest.fixture
def analyzer(tmp_path: Path) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    # Started outside the repository, as the CLI may: the program finds `infra` by its own path.
    process = subprocess.Popen(
        [sys.executable, str(REPOSITORY / "policy" / "__main__.py")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_pack_serves_every_rule_and_judges_a_resource(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert {policy.name for policy in info.policies} == RULE_NAMES
    properties = struct_pb2.Struct()
    properties.update(
        {"adminUserEnabled": True, "sku": {"name": "Premium"}, "publicNetworkAccess": "Disabled"}
    )
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type="azure-native:containerregistry:Registry",
            name="cr",
            urn="urn:pulumi:prod::mlplatform::azure-native:containerregistry:Registry::cr",
            properties=properties,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
        )
    )
    assert {d.policyName for d in response.diagnostics} == {"container-registry-admin-off", "required-tags"}
