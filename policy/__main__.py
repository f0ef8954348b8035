"""The policy pack program `pulumi preview --policy-pack policy` runs: every guardrail of
infra/guardrails, registered as is. Never imported by tests (PolicyPack starts the analyzer's gRPC
server); tests check the rule module and that this file registers `policies(...)` of it."""

import sys
from pathlib import Path

# The repository root, so that `infra` imports whatever directory the CLI starts the pack in.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pulumi_policy import PolicyPack  # noqa: E402

from infra.guardrails.pack import PACK_NAME, Guardrails, policies  # noqa: E402

PolicyPack(name=PACK_NAME, policies=policies(Guardrails(ROOT)))
