from __future__ import annotations

from pathlib import Path

import pytest

from infra.guardrails.command import recorded
from infra.guardrails.context import GuardrailContext, load_context
from infra.guardrails.core import PlannedResource
from infra.guardrails.rules import RULE_NAMES
from infra.plan.offline import REPOSITORY, plan_stack
from tests.infra.sandbox import AS_OF, Sandbox


@pytest.fixture(scope="session")
def prod_resources() -> tuple[PlannedResource, ...]:
    return tuple(recorded(plan_stack("prod", as_of=AS_OF)))


@pytest.fixture(scope="session")
def dev_resources() -> tuple[PlannedResource, ...]:
    return tuple(recorded(plan_stack("dev", as_of=AS_OF)))


@pytest.fixture(scope="session")
def prod_context() -> GuardrailContext:
    return load_context(REPOSITORY, "prod", RULE_NAMES, as_of=AS_OF)


@pytest.fixture(scope="session")
def dev_context() -> GuardrailContext:
    return load_context(REPOSITORY, "dev", RULE_NAMES, as_of=AS_OF)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """The example stacks and projects, copied so that a test can change them."""
    return Sandbox.from_examples(tmp_path)
