"""The stack-outputs contract (infra/stack_outputs.py) is what the program exports, what
docs/stack-outputs.md shows, and what a reader accepts."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from infra.plan.offline import REPOSITORY
from infra.plan.runtime import Plan
from infra.stack_outputs import OutputsMismatch, StackOutputs, field_types, mapping_value, nested_class

DOCS = REPOSITORY / "docs" / "stack-outputs.md"


def contract_paths(cls: type = StackOutputs, prefix: str = "") -> list[str]:
    """Every key of the contract as a dotted path; the keys of a name-keyed mapping as `<name>`."""
    paths = []
    for name, hint in field_types(cls).items():
        path = f"{prefix}{name}"
        paths.append(path)
        nested, item = nested_class(hint), mapping_value(hint)
        if nested is not None:
            paths += contract_paths(nested, f"{path}.")
        elif item is not None and nested_class(item) is not None:
            paths += contract_paths(item, f"{path}.<name>.")
    return paths


def document_paths(value: dict[str, Any], contract: set[str], prefix: str = "") -> list[str]:
    """The keys of a JSON document as dotted paths, the keys of the contract's name-keyed
    mappings (projects, clusters) as `<name>`."""
    paths = []
    for key, item in value.items():
        path = f"{prefix}{key}"
        if path not in contract and any(p.startswith(f"{prefix}<name>.") for p in contract):
            path = f"{prefix}<name>"
        else:
            paths.append(path)
        if isinstance(item, dict) and any(p.startswith(f"{path}.") for p in contract):
            paths += document_paths(item, contract, f"{path}.")
    return paths


def documented_example() -> dict[str, Any]:
    (block,) = re.findall(r"```json\n(.*?)\n```", DOCS.read_text(), re.S)
    document = json.loads(block)
    assert isinstance(document, dict)
    return document


def test_the_docs_show_exactly_the_contracts_outputs() -> None:
    contract = contract_paths()
    assert sorted(document_paths(documented_example(), set(contract))) == sorted(contract)
    # ...with values of the contract's types, and nothing the reader would drop
    example = documented_example()
    assert StackOutputs.read(example).to_json() == example


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_program_exports_exactly_the_contract(stack: str, dev_plan: Plan, prod_plan: Plan) -> None:
    outputs = (dev_plan if stack == "dev" else prod_plan).outputs
    read = StackOutputs.read(outputs)
    assert read.to_json() == outputs  # every key of the contract, nothing else, of its type
    assert set(document_paths(outputs, set(contract_paths()))) == set(contract_paths())


def test_the_docs_name_the_contracts_definition() -> None:
    assert "infra/stack_outputs.py" in DOCS.read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.pop("registry"), "missing registry"),
        (
            lambda o: o["projects"]["nlp-research"]["clusters"]["a100"].pop("gpus_per_node"),
            "missing projects.nlp-research.clusters.a100.gpus_per_node",
        ),
        (
            lambda o: o["projects"]["nlp-research"]["clusters"]["a100"].update(max_nodes="many"),
            "projects.nlp-research.clusters.a100.max_nodes: expected an integer, got 'many'",
        ),
        (
            lambda o: o["projects"]["nlp-research"]["clusters"]["a100"].update(max_nodes=2.5),
            "projects.nlp-research.clusters.a100.max_nodes: expected an integer, got 2.5",
        ),
        (
            lambda o: o["projects"]["nlp-research"]["clusters"]["a100"].update(max_nodes=True),
            "max_nodes: expected an integer, got True",
        ),
        (lambda o: o.update(projects=["nlp-research"]), "projects: expected an object, got a list"),
        (lambda o: o.update(production="yes"), "production: expected true or false, got 'yes'"),
        (lambda o: o["registry"].update(name=7), "registry.name: expected a string, got 7"),
        (
            lambda o: o["projects"]["nlp-research"].update(workspace_identity="id"),
            "projects.nlp-research.workspace_identity: expected an object, got 'id'",
        ),
    ],
    ids=[
        "no-registry",
        "no-gpus",
        "text-for-integer",
        "fraction",
        "bool-for-integer",
        "list-for-object",
        "text-for-bool",
        "number-for-text",
        "text-for-object",
    ],
)
def test_outputs_of_another_shape_are_refused_naming_the_key(
    dev_plan: Plan, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    outputs = copy.deepcopy(dev_plan.outputs)
    change(outputs)
    with pytest.raises(OutputsMismatch) as raised:
        StackOutputs.read(outputs)
    assert str(raised.value).endswith(message)


def test_numbers_as_floats_and_keys_of_older_stacks_are_read(dev_plan: Plan) -> None:
    outputs = copy.deepcopy(dev_plan.outputs)
    outputs["projects"]["nlp-research"]["clusters"]["a100"]["max_nodes"] = 2.0  # some Pulumi runtimes
    # Keys added after the first release are absent from the outputs of stacks deployed before.
    for key in ("production", "public_network_access", "gpu_quota"):
        del outputs[key]
    for key in ("key_vault", "container_registry", "workspace_identity", "registry_path"):
        del outputs["projects"]["nlp-research"][key]
    read = StackOutputs.read(outputs)
    assert read.projects["nlp-research"].clusters["a100"].max_nodes == 2
    assert (read.production, read.gpu_quota, read.projects["nlp-research"].key_vault) == (None, None, None)
