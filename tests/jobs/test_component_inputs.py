"""The pinned components' input tables drive how every catalog input is typed and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from stackdata import RECIPES
from test_recipes_and_checks import write_variant

from jobs.build import build_job
from jobs.checks import RECIPE_MANAGED_INPUTS, check_recipe
from jobs.components import PINNED_VERSIONS, pinned_component, spec_file
from jobs.errors import JobsError
from jobs.recipes import load_recipe
from jobs.render import rest_body
from jobs.targets import Target


def node_inputs(path: Path, target: Target) -> dict[str, Any]:
    loaded = load_recipe(path)
    placement = check_recipe(loaded, target)
    built = build_job(loaded, target, placement.cluster, placement.gpus_per_node, "0123abc")
    inputs: dict[str, Any] = rest_body(built)["properties"]["jobs"]["finetune"]["inputs"]
    return inputs


@pytest.mark.parametrize(
    ("name", "version"), [(name, v) for name, versions in PINNED_VERSIONS.items() for v in versions]
)
def test_every_pin_has_its_table_and_carries_the_recipe_managed_inputs(name: str, version: str) -> None:
    component = pinned_component(name, version)
    assert component is not None and spec_file(name, version).is_file()
    assert (component.name, component.version) == (name, version)
    assert len(component.source_commit) == 40
    # A pin that dropped an input the recipe sets through its own fields would fail on the service.
    assert set(RECIPE_MANAGED_INPUTS) - set(component.inputs) == set()


def test_a_boolean_extra_input_is_sent_as_the_components_enum(tmp_path: Path, target: Target) -> None:
    path = write_variant(tmp_path, "phi3-mini-chat-lora", {"extra_inputs.apply_early_stopping": True})
    inputs = node_inputs(path, target)
    # The enum is "true"/"false"; str(True) would be "True", which the component refuses.
    assert inputs["apply_early_stopping"] == {"job_input_type": "literal", "value": "true"}


def test_a_file_extra_input_is_sent_as_a_uri_file_input(tmp_path: Path, target: Target) -> None:
    path = write_variant(
        tmp_path,
        "phi3-mini-chat-lora",
        {"extra_inputs.deepspeed": "azureml:ds-zero2:1", "extra_inputs.evaluation_config": "azureml:ev:2"},
    )
    inputs = node_inputs(path, target)
    assert inputs["deepspeed"] == {"job_input_type": "uri_file", "uri": "azureml:ds-zero2:1"}
    assert inputs["evaluation_config"] == {"job_input_type": "uri_file", "uri": "azureml:ev:2"}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"extra_inputs.optim": "sgd"}, "extra_inputs.optim: chat_completion_pipeline 0.0.82 input 'optim' "),
        ({"extra_inputs.logging_steps": "ten"}, "input 'logging_steps' must be an integer, not 'ten'"),
        ({"extra_inputs.batch_size": 0}, "extra_inputs.batch_size: chat_completion_pipeline 0.0.82 input"),
        ({"extra_inputs.deepspeed": "./ds.json"}, "input 'deepspeed' is a uri_file input: give an azureml"),
        ({"extra_inputs.deepspeed": 3}, "input 'deepspeed' is a uri_file input: give a URI"),
        ({"extra_inputs.apply_ort": "yes"}, "must be one of true, false, not 'yes'"),
        (
            {"component.version": "0.0.57", "extra_inputs.trust_remote_code": True},
            "extra_inputs.trust_remote_code: chat_completion_pipeline 0.0.57 has no input",
        ),
    ],
)
def test_extra_inputs_are_checked_against_the_pinned_table(
    tmp_path: Path, target: Target, edit: dict[str, Any], expected: str
) -> None:
    path = write_variant(tmp_path, "phi3-mini-chat-lora", edit)
    with pytest.raises(JobsError) as raised:
        check_recipe(load_recipe(path), target)
    assert expected in str(raised.value)
    assert str(raised.value).startswith(f"{path}: ")


def test_the_example_uses_the_newest_pin() -> None:
    recipe = load_recipe(RECIPES / "phi3-mini-chat-lora.yaml").recipe
    assert recipe.component.version == PINNED_VERSIONS[recipe.component.name][-1]  # type: ignore[union-attr]
