from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from stackdata import RECIPES, SERVERLESS_REGION, Planned, in_region

from jobs.checks import Placement, check_against_registry, check_recipe, parse_allow_list
from jobs.errors import JobsError
from jobs.recipes import load_recipe
from jobs.targets import Target, load_stack_outputs, resolve_target


def write_variant(tmp_path: Path, example: str, edit: dict[str, Any]) -> Path:
    """A copy of an example recipe with dotted-path edits (None deletes the key)."""
    document = yaml.safe_load((RECIPES / f"{example}.yaml").read_text())
    for dotted, value in edit.items():
        *parents, leaf = dotted.split(".")
        node = document
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    # Keep custom recipes' relative code path valid from the temporary directory.
    if document.get("kind") == "custom" and "code" not in edit:
        document["code"] = str((RECIPES / document["code"]).resolve())
    conda_file = document.get("environment", {}).get("conda_file")
    if conda_file and "environment.conda_file" not in edit:
        document["environment"]["conda_file"] = str((RECIPES / conda_file).resolve())
    path = tmp_path / f"{example}-variant.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


BAD_RECIPES = [
    ("phi3-mini-chat-lora", {"training.learning_rate": 0}, "training.learning_rate: must be > 0"),
    ("phi3-mini-chat-lora", {"training.num_train_epochs": 0}, "training.num_train_epochs: must be >= 1"),
    ("phi3-mini-chat-lora", {"lora.r": 0}, "lora.r: must be > 0"),
    ("phi3-mini-chat-lora", {"lora.dropout": 1.5}, "lora.dropout: must be < 1"),
    ("phi3-mini-chat-lora", {"deepspeed.stage": 1}, "deepspeed.stage:"),
    ("phi3-mini-chat-lora", {"training.learnin_rate": 0.1}, "training.learnin_rate: unknown key"),
    ("phi3-mini-chat-lora", {"component.version": "latest"}, "component.version: "),
    ("phi3-mini-chat-lora", {"model.version": "labels/latest"}, "model.version: "),
    ("phi3-mini-chat-lora", {"data.train": "./local/train.jsonl"}, "data.train: "),
    ("phi3-mini-chat-lora", {"data": None}, "data: required"),
    ("phi3-mini-chat-lora", {"nodes": 3}, "nodes: 3 nodes exceeds cluster 'a100' max_nodes 2"),
    (
        "phi3-mini-chat-lora",
        {"cluster": "v100"},
        "cluster: project 'nlp-research' in 'dev' has no cluster 'v100'",
    ),
    (
        "phi3-mini-chat-lora",
        {"component.version": "0.0.1"},
        "component.version: chat_completion_pipeline 0.0.1",
    ),
    ("phi3-mini-chat-lora", {"extra_inputs.no_such_input": 1}, "extra_inputs.no_such_input: "),
    (
        "phi3-mini-chat-lora",
        {"extra_inputs.lora_r": 4},
        "extra_inputs.lora_r: set through the recipe's lora.r",
    ),
    (
        "phi3-mini-chat-lora",
        {"component.name": "text_generation_pipeline", "component.version": "0.0.51"},
        "extra_inputs.text_key: required by text_generation_pipeline 0.0.51",
    ),
    ("llama-sft-custom", {"command": "torchrun --nproc_per_node 4 train.py"}, "command: Azure ML starts one"),
    ("llama-sft-custom", {"command": "accelerate launch train.py"}, "command: Azure ML starts one"),
    (
        "llama-sft-custom",
        {"command": "python train.py --x ${{inputs.nope}}"},
        "command: references ${{inputs.nope}}",
    ),
    ("llama-sft-custom", {"command": "python missing.py"}, "command: script missing.py is not in"),
    ("llama-sft-custom", {"code": "/nonexistent/dir"}, "code: directory /nonexistent/dir does not exist"),
    (
        "llama-sft-custom",
        {"environment": {"name": "acpt", "version": "latest"}},
        "environment.EnvironmentRef.version: ",
    ),
    (
        "llama-sft-custom",
        {"environment.image": "mcr.microsoft.com/azureml/openmpi5.0-cuda12.4-ubuntu22.04:latest"},
        "environment.BuiltEnvironment.image: must be an image pinned by tag or digest",
    ),
    (
        "llama-sft-custom",
        {"environment.conda_file": "missing.conda.yaml"},
        "environment.conda_file: file ",
    ),
    (
        "llama-sft-custom",
        {"environment_variables.HF_TOKEN": "hf_abc"},
        "environment_variables: HF_TOKEN looks like a credential",
    ),
    ("llama-sft-custom", {"secrets.HF_TOKEN.vault": "x"}, "secrets.HF_TOKEN.vault: "),
    ("llama-sft-custom", {"nodes": 0}, "nodes: must be >= 1"),
    ("llama-sft-custom", {"inputs.train_data.path": "/mnt/data"}, "inputs.train_data.path: "),
    ("llama-serverless", {"data.validation": None}, "data.validation: required"),
    ("llama-serverless", {"hyperparameters.learning_rate": -1}, "hyperparameters.learning_rate: must be > 0"),
    ("llama-serverless", {"kind": "magic"}, "kind: must be one of catalog, custom, serverless"),
]


@pytest.mark.parametrize(
    ("example", "edit", "expected"), BAD_RECIPES, ids=[case[2][:40] for case in BAD_RECIPES]
)
def test_bad_recipe_names_file_and_field(
    tmp_path: Path, target: Target, example: str, edit: dict[str, Any], expected: str
) -> None:
    path = write_variant(tmp_path, example, edit)
    with pytest.raises(JobsError) as raised:
        check_recipe(load_recipe(path), target)
    assert f"{path}: {expected}" in str(raised.value)


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path, "phi3-mini-chat-lora", {"training.learning_rate": 0, "lora.r": -1, "bogus": True}
    )
    with pytest.raises(JobsError) as raised:
        load_recipe(path)
    lines = str(raised.value).splitlines()
    assert lines == [
        f"{path}: bogus: unknown key",
        f"{path}: lora.r: must be > 0",
        f"{path}: training.learning_rate: must be > 0",
    ]


@pytest.mark.parametrize("example", ["phi3-mini-chat-lora", "llama-sft-custom", "llama-serverless"])
def test_examples_are_valid(planned: Planned, example: str) -> None:
    outputs = planned.outputs("dev")
    if example == "llama-serverless":
        outputs = in_region(outputs, SERVERLESS_REGION)
    placement = check_recipe(
        load_recipe(RECIPES / f"{example}.yaml"), resolve_target(outputs, "dev", "nlp-research")
    )
    # Standard_NC24ads_A100_v4 has one A100 (Microsoft Learn, NC A100 v4 series); serverless: none of ours
    expected_gpus = 0 if example == "llama-serverless" else 1
    assert placement.gpus_per_node == expected_gpus


class FakeRegistry:
    def __init__(self, allow_list: str, component_inputs: dict[str, str]) -> None:
        self.allow_list = allow_list
        self.inputs = component_inputs

    def model_tags(self, name: str, version: str, registry: str) -> dict[str, str]:
        return {"finetune_compute_allow_list": self.allow_list}

    def component_inputs(self, name: str, version: str) -> dict[str, str]:
        return self.inputs


def test_allow_list_rejects_the_cluster_vm_size(target: Target) -> None:
    loaded = load_recipe(RECIPES / "phi3-mini-chat-lora.yaml")
    placement = check_recipe(loaded, target)
    registry = FakeRegistry("['Standard_NC96ads_A100_v4', 'Standard_ND96asr_v4']", {})
    with pytest.raises(JobsError) as raised:
        check_against_registry(loaded, placement, registry)
    message = str(raised.value)
    assert (
        f"{loaded.source}: cluster: Phi-3-mini-4k-instruct 15 cannot be fine-tuned on "
        "Standard_NC24ads_A100_v4" in message
    )
    # Every input we send that the registry's component lacks is reported with its recipe field.
    assert (
        f"{loaded.source}: lora.r: the registry's chat_completion_pipeline 0.0.82 has no input 'lora_r'"
        in message
    )


def test_allow_list_accepts_the_cluster_and_matching_component(target: Target) -> None:
    from jobs.components import pinned_component

    loaded = load_recipe(RECIPES / "phi3-mini-chat-lora.yaml")
    placement: Placement = check_recipe(loaded, target)
    component = pinned_component("chat_completion_pipeline", "0.0.82")
    assert component is not None
    inputs = {name: spec.type for name, spec in component.inputs.items()}
    check_against_registry(loaded, placement, FakeRegistry('["standard_nc24ads_a100_v4"]', inputs))
    assert parse_allow_list('["A", "B"]') == ["A", "B"]


def test_target_errors_list_valid_names(tmp_path: Path, planned: Planned) -> None:
    outputs = planned.outputs("dev")
    projects = ", ".join(sorted(outputs["projects"]))  # nlp-research, vision-lab, ...
    with pytest.raises(
        JobsError, match=f"no project 'nlp' in environment 'dev'; valid projects: {projects}$"
    ):
        resolve_target(outputs, "dev", "nlp")
    with pytest.raises(JobsError, match="for environment 'dev', not 'prod'"):
        resolve_target(outputs, "prod", "nlp-research")
    nlp = resolve_target(outputs, "dev", "nlp-research")
    with pytest.raises(JobsError, match="has 2 clusters; name one with `cluster:` \\(a100, t4-eval\\)"):
        nlp.cluster(None)
    with pytest.raises(JobsError, match="has no cluster 'v100'; valid clusters: a100, t4-eval"):
        nlp.cluster("v100")
    assert resolve_target(outputs, "dev", "vision-lab").cluster(None).name == "t4-spot"  # its only one


def test_numbers_that_arrive_as_floats_are_read_as_integers(tmp_path: Path, planned: Planned) -> None:
    outputs = planned.outputs("dev")
    outputs["projects"]["nlp-research"]["clusters"]["a100"]["max_nodes"] = 2.0  # as some runtimes return it
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    max_nodes = (
        resolve_target(load_stack_outputs("dev", path), "dev", "nlp-research").cluster("a100").max_nodes
    )
    assert (max_nodes, type(max_nodes)) == (2, int)


def test_offline_outputs_come_from_the_real_infra_plan(planned: Planned) -> None:
    outputs = load_stack_outputs("dev", offline=True)
    assert outputs == planned.outputs("dev")
    target = resolve_target(outputs, "dev", "nlp-research")
    cluster = target.cluster("a100")
    assert cluster.id == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-mlp-dev-nlp-research/providers/"
        "Microsoft.MachineLearningServices/workspaces/mlw-mlp-dev-nlp-research/computes/a100"
    )
    assert (cluster.vm_size, cluster.max_nodes, cluster.gpus_per_node) == ("Standard_NC24ads_A100_v4", 2, 1)


def test_offline_outputs_of_an_unknown_environment_list_the_known_ones() -> None:
    with pytest.raises(JobsError, match=r"(?s)no offline plan for environment 'staging'.*stacks: dev, prod"):
        load_stack_outputs("staging", offline=True)


def test_pulumi_cli_is_used_when_available() -> None:
    calls: list[list[str]] = []

    def run(args: list[str]) -> str:
        calls.append(args)
        return '{"environment": "dev", "projects": {}}'

    outputs = load_stack_outputs("dev", run=run, pulumi_available=lambda: True)
    assert calls == [["pulumi", "stack", "output", "--json", "--stack", "dev"]]
    assert outputs == {"environment": "dev", "projects": {}}
    with pytest.raises(JobsError, match="pulumi CLI is not on PATH"):
        load_stack_outputs("dev", pulumi_available=lambda: False)


def test_a_table_that_disagrees_with_the_registry_on_a_type_is_reported(target: Target) -> None:
    from jobs.components import pinned_component

    loaded = load_recipe(RECIPES / "phi3-mini-chat-lora.yaml")
    placement = check_recipe(loaded, target)
    component = pinned_component("chat_completion_pipeline", "0.0.82")
    assert component is not None
    inputs = {name: spec.type for name, spec in component.inputs.items()}
    inputs["logging_steps"] = "string"  # as if the registry's copy changed under the same version
    with pytest.raises(JobsError) as raised:
        check_against_registry(loaded, placement, FakeRegistry('["Standard_NC24ads_A100_v4"]', inputs))
    assert str(raised.value) == (
        f"{loaded.source}: extra_inputs.logging_steps: the registry's chat_completion_pipeline 0.0.82 "
        "declares input 'logging_steps' as string, jobs/component_specs says integer: re-transcribe the table"
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\xff\xfe not utf-8", "cannot read stack outputs"),
        (b"{not json", "cannot read stack outputs"),
        (b"[1, 2]", "must be a JSON object"),
    ],
    ids=["not-utf8", "not-json", "a-list"],
)
def test_an_outputs_file_that_cannot_be_read_is_one_error(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    with pytest.raises(JobsError, match=fragment):
        load_stack_outputs("dev", path)


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.update(projects=["nlp-research"]),
        lambda o: o["projects"]["nlp-research"].update(clusters=["a100"]),
        lambda o: next(iter(o["projects"]["nlp-research"]["clusters"].values())).update(max_nodes="many"),
        lambda o: o.pop("registry"),
    ],
    ids=["projects-a-list", "clusters-a-list", "max-nodes-text", "no-registry"],
)
def test_outputs_of_the_wrong_shape_are_one_error(planned: Planned, change: Any) -> None:
    outputs = planned.outputs("dev")
    change(outputs)
    with pytest.raises(JobsError, match=r"^stack outputs do not match docs/stack-outputs\.md: \S"):
        resolve_target(outputs, "dev", "nlp-research")


def test_environment_facts_come_from_the_stack_outputs_when_they_carry_them(planned: Planned) -> None:
    target = resolve_target(planned.outputs("prod"), "prod", "nlp-research")
    assert target.facts is not None
    # stacks/Pulumi.prod.yaml: production, private, 384 vCPUs of the A100 family
    assert (target.facts.production, target.facts.public_network_access) == (True, False)
    assert target.facts.gpu_quota["StandardNCADSA100v4Family"] == 384
    older = planned.outputs("dev")
    for key in ("production", "public_network_access", "gpu_quota"):  # a stack deployed before them
        del older[key]
    assert resolve_target(older, "dev", "nlp-research").facts is None  # then the stack file is read


def test_a_secret_without_a_vault_is_read_from_the_projects_own_vault(target: Target) -> None:
    from jobs.recipes import KeyVaultSecret

    secret = KeyVaultSecret(secret="huggingface-token")
    assert (
        secret.uri("kvmlpdevnlpresearche009")
        == "https://kvmlpdevnlpresearche009.vault.azure.net/secrets/huggingface-token"
    )
    named = KeyVaultSecret(vault="kv-shared-tokens", secret="huggingface-token")
    assert named.uri("kvmlpdevnlpresearche009").startswith("https://kv-shared-tokens.vault.azure.net/")
    with pytest.raises(JobsError, match="names no vault and the stack outputs name no Key Vault"):
        secret.uri(None)
    assert target.key_vault == "kvmlpdevnlpresearche009"  # the real plan's name of the project's vault
