"""deploy: name, instance type and auth checks offline; endpoint + deployment against the fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_azure import FakeAzure
from fake_cli import run
from stackdata import CLUSTER_ID

from jobs.cli import EXIT_USER_ERROR

MODEL = "llama31-8b-chat-ft:3"
A100 = "Standard_NC24ads_A100_v4"
SCOPE = CLUSTER_ID.removesuffix("/computes/a100")


@pytest.fixture(autouse=True)
def registered_model(fake: FakeAzure) -> None:
    """The fine-tuned model, registered in the project's workspace with no serving restrictions."""
    name, version = MODEL.split(":")
    fake.models[f"{name}/{version}"] = {"base_model": "Meta-Llama-3.1-8B-Instruct"}


def deploy(
    fake: FakeAzure, outputs_file: Path, *extra: str, endpoint: str = "nlp-chat"
) -> tuple[int, str, str]:
    return run(fake, outputs_file, "deploy", MODEL, "--endpoint", endpoint, "--instance-type", A100, *extra)


def test_deploy_creates_endpoint_then_deployment_then_routes_traffic(
    fake: FakeAzure, outputs_file: Path
) -> None:
    code, out, err = deploy(fake, outputs_file)

    assert code == 0, err
    assert out == (
        f"deployed {MODEL} to nlp-chat/default (100% traffic)\n"
        "https://nlp-chat.westeurope.inference.ml.azure.com/score\n"
    )
    endpoint_path = f"{SCOPE}/onlineEndpoints/nlp-chat"
    writes = [(r.method, r.path) for r in fake.requests if r.method == "PUT"]
    assert writes == [
        ("PUT", endpoint_path),
        ("PUT", f"{endpoint_path}/deployments/default"),
        ("PUT", endpoint_path),  # traffic
    ]
    # Every PUT is long-running: the Azure-AsyncOperation URL is polled until it stops answering
    # InProgress (the fake takes lro_polls polls), then the resource is read.
    polls = fake.lro_polls + 1
    after_each_put = [
        [r.path for r in fake.requests[i + 1 : i + 2 + polls]]
        for i, r in enumerate(fake.requests)
        if r.method == "PUT"
    ]
    assert after_each_put == [
        ["/operations/async/nlp-chat-1"] * polls + [endpoint_path],
        ["/operations/async/nlp-chat-deployments-default-2"] * polls
        + [f"{endpoint_path}/deployments/default"],
        ["/operations/async/nlp-chat-3"] * polls + [endpoint_path],
    ]
    assert {state["properties"]["provisioningState"] for state in fake.online.values()} == {"Succeeded"}
    first, deployment, traffic = (r.body for r in fake.requests if r.method == "PUT")
    assert first["location"] == "westeurope"
    assert first["properties"]["authMode"] == "Key"
    assert first["properties"]["traffic"] == {}
    assert first["tags"] == {"project": "nlp-research", "environment": "dev", "git_commit": "0123abc"}
    properties = deployment["properties"]
    assert properties["instanceType"] == A100
    assert properties["model"] == f"{SCOPE}/models/llama31-8b-chat-ft/versions/3"
    assert properties["livenessProbe"]["initialDelay"] == "PT10M"  # 600 s: LLM weights load slowly
    assert properties["requestSettings"]["requestTimeout"] == "PT1M30S"  # 90 s
    assert deployment["sku"]["capacity"] == 1
    assert traffic["properties"]["traffic"] == {"default": 100}


def test_a_failed_deployment_operation_is_one_clear_error(fake: FakeAzure, outputs_file: Path) -> None:
    # The deployment PUT is accepted, then its operation ends Failed after a few polls.
    fake.lro_failures["nlp-chat/deployments/default"] = "Not enough quota for Standard_NC24ads_A100_v4"
    code, _, err = deploy(fake, outputs_file)
    assert code == EXIT_USER_ERROR
    assert "Not enough quota for Standard_NC24ads_A100_v4" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert fake.online["nlp-chat/deployments/default"]["properties"]["provisioningState"] == "Failed"
    # No traffic is routed to a deployment that failed.
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests if r.method == "PUT"] == ["nlp-chat", "default"]


def test_dry_run_prints_both_rest_bodies_without_network(fake: FakeAzure, outputs_file: Path) -> None:
    code, out, err = deploy(
        fake, outputs_file, "--auth-mode", "aad_token", "--instance-count", "2", "--dry-run"
    )

    assert code == 0, err
    assert not fake.requests
    headers = [line for line in out.splitlines() if line.startswith("# ")]
    assert headers == [
        "# PUT .../onlineEndpoints/nlp-chat:",
        "# PUT .../onlineEndpoints/nlp-chat/deployments/default:",
    ]
    endpoint_text, deployment_text = (part.strip() for part in out.split("# PUT")[1:])
    endpoint = json.loads(endpoint_text.split("\n", 1)[1])
    deployment = json.loads(deployment_text.split("\n", 1)[1])
    assert endpoint["properties"]["authMode"] == "AADToken"
    assert endpoint["location"] == deployment["location"] == "westeurope"
    assert deployment["sku"]["capacity"] == 2
    assert deployment["properties"]["livenessProbe"]["initialDelay"] == "PT10M"
    assert deployment["properties"]["requestSettings"]["requestTimeout"] == "PT1M30S"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--endpoint", "ab"], "endpoint name 'ab' must be 3-32 characters"),
        (["--endpoint", "x" * 33], "must be 3-32 characters"),
        (["--endpoint", "1chat"], "endpoint name '1chat' must be"),
        (["--endpoint", "chat-"], "endpoint name 'chat-' must be"),
        (["--endpoint", "chat_bot"], "endpoint name 'chat_bot' must be"),
        (["--deployment", "d"], "deployment name 'd' must be"),
        (["--instance-type", "Standard_D4s_v3"], "instance type 'Standard_D4s_v3' is not a GPU size"),
        (["--instance-count", "0"], "instance count must be >= 1"),
        (["--auth-mode", "none"], "auth mode 'none' must be one of key, aad_token"),
    ],
)
def test_bad_requests_are_refused_before_any_request(
    fake: FakeAzure, outputs_file: Path, argv: list[str], message: str
) -> None:
    # argparse keeps the last value of a repeated option: these override the defaults below.
    code, out, err = deploy(fake, outputs_file, *argv)
    assert code == EXIT_USER_ERROR
    assert message in err and out == ""
    assert not fake.requests


def test_model_must_be_pinned(fake: FakeAzure, outputs_file: Path) -> None:
    code, _, err = run(
        fake, outputs_file, "deploy", "llama31-8b-chat-ft", "--endpoint", "nlp-chat", "--instance-type", A100
    )
    assert code == EXIT_USER_ERROR
    assert "model 'llama31-8b-chat-ft' must be NAME:VERSION" in err
    assert not fake.requests


def test_the_model_is_looked_up_before_anything_is_created(fake: FakeAzure, outputs_file: Path) -> None:
    code, _, _ = deploy(fake, outputs_file)
    assert code == 0
    name, version = MODEL.split(":")
    first = next(r for r in fake.requests if "/workspaces/" in r.path)
    assert (first.method, first.path) == ("GET", f"{SCOPE}/models/{name}/versions/{version}")


def test_an_unregistered_model_is_refused_before_any_write(fake: FakeAzure, outputs_file: Path) -> None:
    fake.models.clear()
    code, out, err = deploy(fake, outputs_file)
    assert code == EXIT_USER_ERROR and out == ""
    assert f"looking up model {MODEL}: not found in workspace 'mlw-mlp-dev-nlp-research'" in err
    assert not [r for r in fake.requests if r.method == "PUT"]


@pytest.mark.parametrize(
    ("allow_list", "deploys"),
    [
        ('["Standard_NC96ads_A100_v4", "Standard_ND96amsr_A100_v4"]', False),
        ("['standard_nc24ads_a100_v4', 'Standard_NC48ads_A100_v4']", True),  # sizes compare case-blind
    ],
)
def test_the_models_inference_allow_list_decides_the_instance_type(
    fake: FakeAzure, outputs_file: Path, allow_list: str, deploys: bool
) -> None:
    name, version = MODEL.split(":")
    fake.models[f"{name}/{version}"] = {"inference_compute_allow_list": allow_list}
    code, _, err = deploy(fake, outputs_file)
    puts = [r for r in fake.requests if r.method == "PUT"]
    if deploys:
        assert code == 0, err
        assert len(puts) == 3
    else:
        assert code == EXIT_USER_ERROR
        assert err.strip().endswith(
            f"model {MODEL} cannot be served on {A100}; its inference_compute_allow_list is: "
            "Standard_NC96ads_A100_v4, Standard_ND96amsr_A100_v4"
        )
        assert not puts


def test_sdk_progress_and_log_messages_stay_out_of_the_output(
    fake: FakeAzure, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # azure-ai-ml prints a dot per LRO poll straight to sys.stdout and logs INFO lines.
    code, out, err = deploy(fake, outputs_file)
    assert code == 0, err
    assert capsys.readouterr() == ("", "")  # nothing beyond the streams main() writes to
    assert out.startswith("deployed ") and err == ""


def test_verbose_shows_the_sdk_messages_on_stderr(
    fake: FakeAzure, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = deploy(fake, outputs_file, "--verbose")
    assert code == 0, err
    captured = capsys.readouterr()
    assert captured.out == "" and "." in captured.err  # the SDK's progress, on stderr
