from __future__ import annotations

from pathlib import Path

import pytest

from infra.plan.offline import plan_stack
from infra.plan.runtime import Plan
from tests.infra.sandbox import AS_OF, Sandbox


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return plan_stack("dev", as_of=AS_OF)


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return plan_stack("prod", as_of=AS_OF)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """The example stacks and projects, copied so that a test can change them."""
    return Sandbox.from_examples(tmp_path)
