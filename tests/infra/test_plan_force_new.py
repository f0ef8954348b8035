"""The force-new table covers what the program creates, and names inputs the provider really has."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from infra.plan.force_new import FORCE_NEW, force_new_for, forces_replacement, is_component
from infra.plan.runtime import Plan
from tests.infra.sandbox import Sandbox, example_environment


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _args_parameters(token: str) -> set[str]:
    """The keyword arguments of the installed pulumi-azure-native class for `token`."""
    _, module, kind = token.split(":")
    package = importlib.import_module(f"pulumi_azure_native.{module}")
    args_class = getattr(package, f"{kind}Args")
    return set(inspect.signature(args_class.__init__).parameters) - {"self"}


def test_every_type_the_program_creates_is_in_the_table(dev_plan: Plan, prod_plan: Plan) -> None:
    types = {r.type for plan in (dev_plan, prod_plan) for r in plan.resources if not is_component(r.type)}
    assert types - set(FORCE_NEW) == set()
    for type_ in types:
        assert force_new_for(type_)[1] is True


def test_a_dev_stack_with_private_endpoints_and_its_own_registry_creates_no_other_type(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox.from_examples(tmp_path)
    prod = example_environment("prod")
    dev = example_environment("dev")
    dev.pop("registry")
    dev["registry"] = prod["registry"]
    dev["network"] = prod["network"]
    dev["prefix"] = "mld"
    sandbox.stack("dev", dev)
    types = {r.type for r in sandbox.plan("dev").resources if not is_component(r.type)}
    assert {"azure-native:network:PrivateEndpoint", "azure-native:machinelearningservices:Registry"} <= types
    assert types <= set(FORCE_NEW)


@pytest.mark.parametrize("token", sorted(FORCE_NEW))
def test_each_force_new_input_is_an_input_of_the_provider_resource(token: str) -> None:
    parameters = _args_parameters(token)
    rule = FORCE_NEW[token]
    assert rule.path, f"{token}: every ARM resource has path parameters"
    for name in rule.inputs:
        assert _snake(name) in parameters, f"{token}: {name} is not an input of {token}"
    assert rule.source


def test_changes_below_a_force_new_input_replace_and_siblings_do_not() -> None:
    storage = FORCE_NEW["azure-native:storage:StorageAccount"]
    assert forces_replacement(storage, "isHnsEnabled") and forces_replacement(storage, "location")
    assert forces_replacement(storage, "accountName")
    assert not forces_replacement(storage, "isHnsEnabledX") and not forces_replacement(storage, "tags.team")
    endpoint = FORCE_NEW["azure-native:network:PrivateEndpoint"]
    assert forces_replacement(endpoint, "subnet.id") and not forces_replacement(endpoint, "subnets")
    fallback, known = force_new_for("azure-native:network:VirtualNetwork", ("virtualNetworkName", "tags"))
    assert not known and fallback.path == ("virtualNetworkName",)
