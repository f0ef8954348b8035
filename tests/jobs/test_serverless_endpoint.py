"""deploy-serverless: a serverless fine-tune to a serverless endpoint, with the marketplace
subscription a non-Microsoft model needs, in a region that offers the model."""

from __future__ import annotations

import json
from pathlib import Path

from fake_azure import FakeAzure, Fault
from fake_cli import run
from stackdata import SERVERLESS_REGION, Planned, in_region

from jobs.cli import EXIT_JOB_FAILED, EXIT_USER_ERROR

META = "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct"
# The fine-tuned model as Learn's sample names it for a serverless endpoint: the workspace's region
# and guid (fine-tune-serverless, "Deploy a fine-tuned model").
MODEL_ID = f"azureml://locations/{SERVERLESS_REGION}/workspaces/{{guid}}/models/llama-ft/versions/1"


def fine_tuned(fake: FakeAzure) -> None:
    # What serverless fine-tuning registered; the fake knows the base model it came from.
    fake.models["llama-ft/1"] = {"base_model_id": META}


def deploy(fake: FakeAzure, outputs: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        fake,
        outputs,
        "deploy-serverless",
        "llama-ft:1",
        "--endpoint",
        "llama-chat",
        "--base-model",
        META,
        *extra,
    )


def test_a_meta_model_gets_its_marketplace_subscription_then_the_endpoint(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fine_tuned(fake)
    code, out, err = deploy(fake, serverless_outputs_file, "--wait")
    assert code == 0, err
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert [r.path.rsplit("/", 2)[-2] for r in puts] == ["marketplaceSubscriptions", "serverlessEndpoints"]
    assert puts[0].body["properties"]["modelId"] == META  # the offer: no version
    endpoint = puts[1].body
    assert endpoint["location"] == "westus3"
    assert endpoint["sku"]["name"] == "Consumption"
    assert endpoint["properties"]["modelSettings"]["modelId"] == MODEL_ID.format(guid=fake.workspace_guid)
    assert fake.serverless["llama-chat"]["properties"]["provisioningState"] == "Succeeded"
    # A deployed fine-tune bills hourly while it exists, not only per token (Learn, fine-tune-serverless).
    assert (
        "serverless endpoint llama-chat serves llama-ft:1: a fine-tuned model bills an hourly hosting fee"
        in out
    )
    assert "per token" not in out


def test_a_microsoft_model_needs_no_marketplace_subscription(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fake.models["phi-ft/1"] = {"base_model_id": "azureml://registries/azureml/models/Phi-3.5-mini-instruct"}
    code, _, err = run(
        fake,
        serverless_outputs_file,
        "deploy-serverless",
        "phi-ft:1",
        "--endpoint",
        "phi-chat",
        "--base-model",
        "azureml://registries/azureml/models/Phi-3.5-mini-instruct",
    )
    assert code == 0, err
    assert [r.path.rsplit("/", 2)[-2] for r in fake.requests if r.method == "PUT"] == ["serverlessEndpoints"]


def test_a_refused_subscription_stops_before_the_endpoint(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    # Without the subscription the service would refuse the endpoint: do not even try.
    fine_tuned(fake)
    fake.faults.append(Fault("PUT", "/marketplaceSubscriptions/", 409))
    code, _, err = deploy(fake, serverless_outputs_file)
    assert code == EXIT_USER_ERROR and "subscribing to" in err
    assert not any(r.method == "PUT" and "/serverlessEndpoints/" in r.path for r in fake.requests)


def test_an_existing_subscription_to_the_offer_is_used_not_created_again(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    # e.g. made by `finetune --subscribe`, or in the studio under a name of its own.
    fine_tuned(fake)
    fake.add_marketplace_subscription(fake.workspace_id, "llama-from-studio", META)
    code, _, err = deploy(fake, serverless_outputs_file, "--wait")
    assert code == 0, err
    assert [r.path.rsplit("/", 2)[-2] for r in fake.requests if r.method == "PUT"] == ["serverlessEndpoints"]


def test_a_suspended_subscription_is_refused_before_the_endpoint(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fine_tuned(fake)
    fake.add_marketplace_subscription(fake.workspace_id, "llama-from-studio", META, "Suspended")
    code, _, err = deploy(fake, serverless_outputs_file)
    assert code == EXIT_USER_ERROR
    assert err.startswith(
        f"error: the workspace's marketplace subscription llama-from-studio to {META} is Suspended"
    )
    assert not any(r.method == "PUT" for r in fake.requests)


def test_a_region_without_the_model_is_refused_before_any_request(
    fake: FakeAzure, outputs_file: Path
) -> None:
    fine_tuned(fake)
    code, out, err = deploy(fake, outputs_file)  # westeurope
    assert code == EXIT_USER_ERROR and out == ""
    assert "serverless deployment of Meta-Llama-3.1-8B-Instruct is not offered in westeurope" in err
    assert not fake.requests


def test_llama_fine_tunes_deploy_only_where_its_fine_tuning_is_offered(
    fake: FakeAzure, tmp_path: Path, planned: Planned
) -> None:
    # East US offers the catalog Llama 3.1 8B serverless, but fine-tuning it only West US 3
    # (Learn, region-availability-maas), and a fine-tuned model deploys only where its base
    # model's fine-tuning is offered.
    fine_tuned(fake)
    outputs = tmp_path / "outputs-eastus.json"
    outputs.write_text(json.dumps(in_region(planned.outputs("dev"), "eastus")))
    code, out, err = deploy(fake, outputs)
    assert code == EXIT_USER_ERROR and out == ""
    assert "serverless deployment of Meta-Llama-3.1-8B-Instruct is not offered in eastus" in err
    assert "offered from workspaces in: westus3." in err
    assert not fake.requests


def test_a_followed_endpoint_operation_that_fails_is_one_error_and_exit_1(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fine_tuned(fake)
    fake.lro_failures["serverlessEndpoints/llama-chat"] = "Quota exceeded for the offer"
    code, _, err = deploy(fake, serverless_outputs_file, "--wait")
    assert code == EXIT_JOB_FAILED and "Quota exceeded for the offer" in err
    assert err.startswith("error: creating serverless endpoint llama-chat failed: ")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_without_wait_the_subscription_is_followed_and_the_endpoint_only_started(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fine_tuned(fake)
    fake.lro_polls = 40
    code, out, err = deploy(fake, serverless_outputs_file)
    subscription = next(iter(fake.marketplace.values()))["properties"]["provisioningState"]
    endpoint = fake.serverless["llama-chat"]["properties"]["provisioningState"]
    assert code == 0, err
    # The endpoint needs the subscription: that one is always followed; the endpoint is not.
    assert (subscription, endpoint) == ("Succeeded", "Creating")
    assert out.endswith(
        "creating serverless endpoint llama-chat: accepted by Azure ML and running there (not followed; --wait "
        "follows it); check: az ml serverless-endpoint show --name llama-chat --resource-group "
        "rg-mlp-dev-nlp-research --workspace-name mlw-mlp-dev-nlp-research\n"
    )
    assert fake.settle()


def test_dry_run_prints_both_bodies(fake: FakeAzure, serverless_outputs_file: Path) -> None:
    code, out, err = deploy(fake, serverless_outputs_file, "--dry-run")
    assert code == 0, err
    assert not fake.requests
    bodies = [json.loads(part.split("\n", 1)[1]) for part in out.split("# PUT")[1:]]
    assert bodies[0] == {"properties": {"modelId": META}}
    # Offline: the workspace (its guid) is not read.
    assert bodies[1]["properties"]["modelSettings"]["modelId"] == MODEL_ID.format(guid="<workspace guid>")


def test_a_versioned_base_model_is_refused(fake: FakeAzure, serverless_outputs_file: Path) -> None:
    code, _, err = deploy(fake, serverless_outputs_file, "--base-model", f"{META}/versions/4")
    assert code == EXIT_USER_ERROR and "must be azureml://registries/REGISTRY/models/NAME (no version" in err


def test_a_model_another_endpoint_serves_is_refused_before_any_write(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    # One serverless deployment per model per project (Learn, fine-tune-serverless).
    fine_tuned(fake)
    assert deploy(fake, serverless_outputs_file, "--wait")[0] == 0
    before = len(fake.requests)
    code, _, err = run(
        fake,
        serverless_outputs_file,
        "deploy-serverless",
        "llama-ft:1",
        "--endpoint",
        "llama-chat-2",
        "--base-model",
        META,
    )
    assert code == EXIT_USER_ERROR
    assert (
        "llama-ft:1 is already served by serverless endpoint llama-chat: Azure allows one deployment" in err
    )
    assert not [r for r in fake.requests[before:] if r.method == "PUT"]


def test_the_same_endpoint_can_be_put_again(fake: FakeAzure, serverless_outputs_file: Path) -> None:
    fine_tuned(fake)
    assert deploy(fake, serverless_outputs_file, "--wait")[0] == 0
    fake.requests.clear()
    code, out, err = deploy(fake, serverless_outputs_file, "--wait")
    assert code == 0, err
    # the first run's subscription is used, not created again; the endpoint is PUT again
    assert "subscribing" not in out
    assert [r.path.rsplit("/", 2)[-2] for r in fake.requests if r.method == "PUT"] == ["serverlessEndpoints"]
