"""Every job YAML `--dry-run` prints loads back with the SDK's own loader and means the same job."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from stackdata import RECIPES, REPO

from jobs.cli import main
from jobs.render import YAML_SCHEMAS, entity_rest_body

EXAMPLES = {"phi3-mini-chat-lora": "catalog", "llama-sft-custom": "custom", "llama-serverless": "serverless"}


def printed(recipe: str, outputs_file: Path) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    argv = ["finetune", str(RECIPES / f"{recipe}.yaml"), "--stack", "dev", "--project", "nlp-research"]
    assert main([*argv, "--outputs", str(outputs_file), "--dry-run"], out=out) == 0
    text = out.getvalue()
    body = json.loads(text[text.index("{\n") : text.index("\n}\n") + 2])
    return body, text.split("# az ml job create --file <this>.yml:\n", 1)[1]


def comparable(body: dict[str, Any]) -> str:
    """What may differ between a built job and the same job loaded from YAML, normalised away:
    the loader keeps `azureml:` data references without their prefix, names pipeline nodes after
    their key, and records where the settings came from."""
    text = json.dumps(body, indent=1, sort_keys=True)
    text = re.sub(r'"uri": "azureml:([^/][^"]*)"', r'"uri": "\1"', text)
    loaded = json.loads(text)
    for node in loaded["properties"].get("jobs", {}).values():
        node.pop("name", None)
    loaded["properties"].get("settings", {}).pop("_source", None)
    return json.dumps(loaded, indent=1, sort_keys=True)


@pytest.mark.parametrize("recipe", sorted(EXAMPLES))
def test_the_printed_yaml_loads_back_as_the_same_job(
    recipe: str,
    outputs_file: Path,
    serverless_outputs_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from azure.ai.ml import load_job

    monkeypatch.setattr("jobs.cli.git_commit", lambda: "0123abc")
    kind = EXAMPLES[recipe]
    body, text = printed(recipe, serverless_outputs_file if kind == "serverless" else outputs_file)
    if kind in YAML_SCHEMAS:
        assert text.startswith(f"$schema: {YAML_SCHEMAS[kind]}\n")
    path = tmp_path / "job.yml"
    path.write_text(text)
    # `code:` is relative to where the dry run ran (the repository root): resolve it from there.
    job = load_job(path, relative_origin=str(REPO / "job.yml"))
    assert job.name == body["name"]
    assert comparable(entity_rest_body(job)) == comparable(body)
