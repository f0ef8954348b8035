from __future__ import annotations

import importlib
import sys
import types

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-expected",
        action="store_true",
        help="rewrite the reviewed expected files (tests/infra/expected, tests/jobs/golden) from the current output",
    )


def _load_what_the_first_plan_and_the_first_sdk_call_would() -> None:
    """Load, at collection, the modules a test process otherwise loads on first use: the provider
    packages the program uses (pulumi_azure_native loads a service's package when one of its
    classes is first touched, importlib's LazyLoader: about 1 s in a process's first plan) and
    azure-ai-ml (imported by the jobs layer inside its commands: about 2 s). A whole run pays this
    once either way; a test process forked after collection (mutmut's forkserver, one per mutant)
    no longer pays it per mutant. Loading runs no program and opens no connection."""
    for name in ("azure.ai.ml", "azure.ai.ml.entities", "azure.identity", "infra.entrypoint"):
        importlib.import_module(name)
    for module in list(sys.modules.values()):
        if module is not None and module.__name__.startswith(("infra.", "jobs.")):
            for value in list(vars(module).values()):
                if isinstance(value, types.ModuleType) and value.__name__.startswith("pulumi_azure_native."):
                    getattr(value, "__all__", None)  # a non-introspection attribute runs the package


_load_what_the_first_plan_and_the_first_sdk_call_would()


# The reviewed copies (docs/mutation.md) compare everything the program produces with what a
# person approved, so they notice most changes: they run first. `make mutate` stops a mutant at
# its first failing test (mutmut orders the others by their run time only), so a mutant they
# kill costs one plan instead of every test that touches the changed code.
REVIEWED_COPIES = (
    "tests/infra/test_plan_snapshot.py",
    "tests/infra/test_error_messages.py",
    "tests/infra/test_plan_text.py",
    "tests/contract/test_security_contract.py",
    "tests/jobs/test_dry_run.py",
    "tests/jobs/test_deploy.py::test_each_refused_request_reads_as_reviewed",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # node ids are relative to the root directory, in mutmut's copy (mutants/) too
    items.sort(key=lambda item: not item.nodeid.startswith(REVIEWED_COPIES))
