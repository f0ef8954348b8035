"""deploy and rollback against the fake: blue/green order, live traffic kept until the new
deployment is healthy and smoke-tested, failures leaving traffic unchanged with the logs shown."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fake_azure import FakeAzure, Fault
from fake_cli import factory, run
from stackdata import Planned

from jobs import deploy as deploy_module
from jobs import operations
from jobs.cli import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_USER_ERROR, main
from jobs.deploy import new_traffic

MODEL = "llama31-8b-chat-ft:3"
NEW = "llama31-8b-chat-ft-v3"  # the default deployment name of MODEL
A100 = "Standard_NC24ads_A100_v4"


def endpoint_path(fake: FakeAzure) -> str:
    return f"{fake.workspace_id}/onlineEndpoints/nlp-chat"


@pytest.fixture(autouse=True)
def registered_model(fake: FakeAzure) -> None:
    """The fine-tuned model, registered in the project's workspace with no serving restrictions."""
    name, version = MODEL.split(":")
    fake.models[f"{name}/{version}"] = {"base_model": "Meta-Llama-3.1-8B-Instruct"}


def live_endpoint(
    fake: FakeAzure, traffic: dict[str, int] | None = None, tags: dict[str, str] | None = None
) -> None:
    """An endpoint already serving: deployment `blue` (and any others named in `traffic`)."""
    traffic = {"blue": 100} if traffic is None else traffic
    fake.online["nlp-chat"] = {
        "id": endpoint_path(fake),
        "name": "nlp-chat",
        "location": "westeurope",
        "tags": tags or {"project": "nlp-research"},
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "authMode": "AADToken",
            "traffic": dict(traffic),
            "publicNetworkAccess": "Enabled",
            "provisioningState": "Succeeded",
            "scoringUri": f"{fake.url}/score/nlp-chat",
        },
    }
    for name in traffic:
        fake.online[f"nlp-chat/deployments/{name}"] = {
            "id": f"{endpoint_path(fake)}/deployments/{name}",
            "name": name,
            "location": "westeurope",
            "sku": {"name": "Default", "capacity": 1},
            "properties": {
                "endpointComputeType": "Managed",
                "model": f"{fake.workspace_id}/models/llama31-8b-chat-ft/versions/2",
                "instanceType": A100,
                "provisioningState": "Succeeded",
                "scaleSettings": {"scaleType": "Default"},
            },
        }


def traffic(fake: FakeAzure) -> dict[str, int]:
    return {k: v for k, v in fake.online["nlp-chat"]["properties"]["traffic"].items() if v}


def deploy(fake: FakeAzure, outputs_file: Path, *extra: str, model: str = MODEL) -> tuple[int, str, str]:
    return run(fake, outputs_file, "deploy", model, "--endpoint", "nlp-chat", "--instance-type", A100, *extra)


def writes(fake: FakeAzure) -> list[tuple[str, str]]:
    """Every request that changes something, in order (LRO polls and GETs left out)."""
    return [
        (r.method, r.path.removeprefix(endpoint_path(fake)) or "/")
        for r in fake.requests
        if r.method in ("PUT", "DELETE") or r.path.startswith("/score/")
    ]


def test_a_new_endpoint_is_created_empty_then_the_deployment_then_traffic(
    fake: FakeAzure, outputs_file: Path
) -> None:
    code, out, err = deploy(fake, outputs_file)

    assert code == 0, err
    assert out.endswith(f"deployed {MODEL} to nlp-chat/{NEW} (100% traffic)\n{fake.url}/score/nlp-chat\n")
    assert writes(fake) == [
        ("PUT", "/"),
        ("PUT", f"/deployments/{NEW}"),
        ("POST", "/score/nlp-chat"),  # the smoke test
        ("PUT", "/"),  # traffic
    ]
    first, deployment, smoke, routed = (
        r for r in fake.requests if r.method == "PUT" or r.path.startswith("/score/")
    )
    assert first.body["location"] == "westeurope"
    assert first.body["properties"]["authMode"] == "AADToken"  # Entra tokens by default, not keys
    assert first.body["properties"]["publicNetworkAccess"] == "Enabled"  # dev allows public access
    assert first.body["properties"]["traffic"] == {}
    assert first.body["tags"] == {"project": "nlp-research", "environment": "dev", "git_commit": "0123abc"}
    properties = deployment.body["properties"]
    assert properties["instanceType"] == A100
    assert properties["model"] == f"{fake.workspace_id}/models/llama31-8b-chat-ft/versions/3"
    assert properties["appInsightsEnabled"] is True
    assert properties["livenessProbe"]["initialDelay"] == "PT10M"  # 600 s: LLM weights load slowly
    assert properties["readinessProbe"]["initialDelay"] == "PT10M"
    assert properties["requestSettings"]["requestTimeout"] == "PT1M30S"  # 90 s
    assert deployment.body["sku"]["capacity"] == 1
    assert smoke.headers["azureml-model-deployment"] == NEW
    assert smoke.headers["authorization"].startswith("Bearer ")
    assert routed.body["properties"]["traffic"] == {NEW: 100}
    assert routed.body["tags"]["previous_traffic"] == "{}"
    # The SDK's invoke leaves its headers in a module-level dict; the smoke test's pin is undone.
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields

    assert EndpointInvokeFields.DEFAULT_HEADER == {"Content-Type": "application/json"}
    assert {state["properties"]["provisioningState"] for state in fake.online.values()} == {"Succeeded"}


def test_every_put_waits_for_its_long_running_operation(fake: FakeAzure, outputs_file: Path) -> None:
    code, _, err = deploy(fake, outputs_file)
    assert code == 0, err
    # The fake answers InProgress lro_polls times; the next step starts only after Succeeded.
    polls = fake.lro_polls + 1
    for index, request in enumerate(fake.requests):
        if request.method == "PUT":
            following = [r.path for r in fake.requests[index + 1 : index + 1 + polls]]
            assert len(following) == polls and all(p.startswith("/operations/async/") for p in following)


def test_an_existing_deployment_keeps_all_traffic_until_the_new_one_is_healthy_and_tested(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    seen: list[dict[str, int]] = []
    real_score = fake.scoring_failures  # snapshot the traffic at the moment of the smoke test
    fake.scoring_failures = _Spy(lambda: seen.append(traffic(fake)), real_score)  # type: ignore[assignment]

    code, out, err = deploy(fake, outputs_file)

    assert code == 0, err
    # The endpoint is never PUT before the traffic update, so nothing resets blue's share.
    assert writes(fake) == [("PUT", f"/deployments/{NEW}"), ("POST", "/score/nlp-chat"), ("PUT", "/")]
    assert seen == [{"blue": 100}]
    assert fake.scored == [("nlp-chat", NEW)]  # the smoke test reached the new deployment alone
    assert traffic(fake) == {NEW: 100}
    assert "nlp-chat/deployments/blue" in fake.online  # not retired without --retire-old
    assert json.loads(fake.online["nlp-chat"]["tags"]["previous_traffic"]) == {"blue": 100}
    assert fake.online["nlp-chat"]["tags"]["project"] == "nlp-research"  # other tags kept
    assert "its traffic stays blue=100% for now" in out
    assert "traffic of nlp-chat: blue=100% -> llama31-8b-chat-ft-v3=100%" in out


class _Spy(dict[str, int]):
    """scoring_failures that calls `hook` when the fake looks a deployment up (at scoring time)."""

    def __init__(self, hook: Any, wrapped: dict[str, int]) -> None:
        super().__init__(wrapped)
        self._hook = hook

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._hook()
        return super().get(key, default)


def test_a_failed_deployment_leaves_traffic_unchanged_and_prints_its_logs(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    fake.lro_failures[f"nlp-chat/deployments/{NEW}"] = "Not enough quota for Standard_NC24ads_A100_v4"
    fake.deployment_logs[f"nlp-chat/deployments/{NEW}"] = "\n".join(f"line {i}" for i in range(80)) + (
        "\nCUDA out of memory"
    )

    code, out, err = deploy(fake, outputs_file, "--retire-old")

    assert code == EXIT_JOB_FAILED
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: deployment {NEW} failed: ")
    assert "Not enough quota for Standard_NC24ads_A100_v4" in err
    assert "traffic of endpoint nlp-chat is unchanged and no deployment was removed" in err
    assert "CUDA out of memory" in err and "line 31" in err and "line 30\n" not in err  # the last 50 lines
    assert traffic(fake) == {"blue": 100}
    assert "nlp-chat/deployments/blue" in fake.online
    assert writes(fake) == [("PUT", f"/deployments/{NEW}")]  # no smoke test, no traffic PUT, no delete
    logs = next(r for r in fake.requests if r.path.endswith("/getLogs"))
    assert logs.body == {"tail": 50}
    assert "deployed" not in out


def test_a_failed_smoke_test_leaves_traffic_unchanged_and_prints_the_logs(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    fake.scoring_failures[f"nlp-chat/deployments/{NEW}"] = 424
    fake.deployment_logs[f"nlp-chat/deployments/{NEW}"] = "KeyError: 'input_data'"

    code, _, err = deploy(fake, outputs_file, "--retire-old")

    assert code == EXIT_JOB_FAILED
    assert "Traceback" not in err
    assert f"error: smoke test of {NEW} failed: (Error) model container answered an error;" in err
    assert "KeyError: 'input_data'" in err
    assert traffic(fake) == {"blue": 100}
    assert writes(fake) == [("PUT", f"/deployments/{NEW}"), ("POST", "/score/nlp-chat")]
    # The new deployment stays (at 0%) for its logs; blue keeps serving.
    assert {f"nlp-chat/deployments/{NEW}", "nlp-chat/deployments/blue"} <= set(fake.online)


def test_the_smoke_request_can_come_from_a_file(fake: FakeAzure, outputs_file: Path, tmp_path: Path) -> None:
    sample = tmp_path / "request.json"
    sample.write_text('{"input_data": {"input_string": ["hi"]}}')
    code, _, err = deploy(fake, outputs_file, "--sample-request", str(sample))
    assert code == 0, err
    smoke = next(r for r in fake.requests if r.path.startswith("/score/"))
    assert smoke.body == {"input_data": {"input_string": ["hi"]}}


def test_a_sample_request_that_is_not_json_is_one_error(
    fake: FakeAzure, outputs_file: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "request.json"
    sample.write_text("{nope")
    code, _, err = deploy(fake, outputs_file, "--sample-request", str(sample))
    assert code == EXIT_USER_ERROR and len(err.strip().splitlines()) == 1
    assert not fake.requests


def test_canary_traffic_keeps_the_rest_on_the_live_deployments(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake, {"blue": 70, "green": 30})
    code, out, err = deploy(fake, outputs_file, "--traffic", "10")
    assert code == 0, err
    assert traffic(fake) == {"blue": 63, "green": 27, NEW: 10}
    assert "(10% traffic)" in out


@pytest.mark.parametrize(
    ("current", "share", "expected"),
    [
        ({}, 10, {"new": 100}),  # nothing else can serve the rest
        ({"blue": 100}, 100, {"blue": 0, "new": 100}),
        ({"a": 50, "b": 50}, 25, {"a": 38, "b": 37, "new": 25}),  # remainder to the first largest
        ({"a": 1, "b": 0}, 50, {"a": 50, "new": 50}),
        # the rounding remainder goes to the largest shares first, not in name order
        ({"amber": 20, "blue": 50, "green": 30}, 7, {"amber": 18, "blue": 47, "green": 28, "new": 7}),
        ({"b": 50, "a": 50}, 1, {"a": 50, "b": 49, "new": 1}),  # equal shares: in name order
    ],
)
def test_new_traffic_sums_to_100(current: dict[str, int], share: int, expected: dict[str, int]) -> None:
    assert new_traffic(current, "new", share) == expected
    assert sum(expected.values()) == 100


def test_retire_old_deletes_the_previous_deployment_only_after_traffic_moved(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    code, out, err = deploy(fake, outputs_file, "--retire-old")
    assert code == 0, err
    assert writes(fake) == [
        ("PUT", f"/deployments/{NEW}"),
        ("POST", "/score/nlp-chat"),
        ("PUT", "/"),
        ("DELETE", "/deployments/blue"),
    ]
    assert "nlp-chat/deployments/blue" not in fake.online
    assert traffic(fake) == {NEW: 100}
    assert "retired deployment blue" in out


def test_retire_old_with_a_canary_is_refused(fake: FakeAzure, outputs_file: Path) -> None:
    code, _, err = deploy(fake, outputs_file, "--retire-old", "--traffic", "20")
    assert code == EXIT_USER_ERROR and "--retire-old needs --traffic 100" in err
    assert not fake.requests


def test_a_deployment_that_serves_traffic_is_not_updated_in_place(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    code, _, err = deploy(fake, outputs_file, "--deployment", "blue")
    assert code == EXIT_USER_ERROR
    assert err == (
        "error: deployment blue serves 100% of nlp-chat: updating it in place would roll out to live "
        "traffic; name a new one with --deployment\n"
    )
    assert writes(fake) == []


def test_an_endpoint_of_another_project_is_not_touched(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake, tags={"project": "vision-lab"})
    code, _, err = deploy(fake, outputs_file)
    assert code == EXIT_USER_ERROR
    assert err == (
        "error: endpoint nlp-chat exists but is not tagged with project nlp-research: endpoint names are "
        "unique per region, choose another --endpoint\n"
    )
    assert writes(fake) == []


@pytest.mark.parametrize(
    ("fault", "extra", "message"),
    [
        (
            Fault("GET", r"/onlineEndpoints/nlp-chat$", 403),
            [],
            "error: reading endpoint nlp-chat: access denied",
        ),
        (
            Fault("PUT", rf"/deployments/{NEW}$", 403),
            [],
            f"error: deployment {NEW} failed: creating deployment {NEW}: access denied",
        ),
        (
            Fault("PUT", r"/onlineEndpoints/nlp-chat$", 403),
            [],
            "error: routing traffic of nlp-chat: access denied",
        ),
        (
            Fault("DELETE", r"/deployments/blue$", 403),
            ["--retire-old"],
            "error: deleting deployment blue: access denied",
        ),
    ],
    ids=["read-endpoint", "create-deployment", "route-traffic", "retire"],
)
def test_a_step_azure_refuses_is_named_in_the_error(
    fake: FakeAzure, outputs_file: Path, fault: Fault, extra: list[str], message: str
) -> None:
    live_endpoint(fake)
    fake.faults.append(fault)
    code, _, err = deploy(fake, outputs_file, *extra)
    assert code != 0
    assert f"{message} on workspace 'mlw-mlp-dev-nlp-research'" in err, err


@pytest.fixture
def quick_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress line every 10 ms instead of every PROGRESS_INTERVAL_S (30 s), so that the short
    operations of the fake show it."""
    wait_for = operations.wait_for

    def quick(poller: Any, label: str, out: Any, *_: Any) -> Any:
        return wait_for(poller, label, out, 0.01)

    monkeypatch.setattr(operations, "wait_for", quick)
    monkeypatch.setattr(deploy_module, "wait_for", quick)


@pytest.mark.usefixtures("quick_progress")
def test_each_long_step_of_a_rollout_shows_its_progress(fake: FakeAzure, outputs_file: Path) -> None:
    fake.lro_polls = 5
    code, out, err = deploy(fake, outputs_file)  # a new endpoint
    assert code == 0, err
    assert "] endpoint nlp-chat: still running\n" in out
    live_endpoint(fake)
    code, out, err = deploy(fake, outputs_file, "--retire-old", "--deployment", "green")
    assert code == 0, err
    for step in ("deployment green", "traffic of nlp-chat", "deleting blue"):
        assert f"] {step}: still running\n" in out, step


def test_traffic_that_grows_too_long_to_record_during_the_rollout_leaves_the_new_deployment_at_0(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    real_score = fake.scoring_failures

    def crowd() -> None:  # someone spreads the traffic while the new deployment is created
        if "live-deployment-00-abcdefghijklm" not in traffic(fake):
            crowded_endpoint(fake, tags=fake.online["nlp-chat"]["tags"])

    fake.scoring_failures = _Spy(crowd, real_score)  # type: ignore[assignment]
    code, _, err = deploy(fake, outputs_file)
    assert code == EXIT_JOB_FAILED
    assert (
        "error: endpoint nlp-chat has too many deployments with traffic to record them for rollback: tag "
        "previous_traffic would be 267 characters"
    ) in err
    assert f"; traffic is unchanged and deployment {NEW} serves 0%" in err
    assert NEW not in traffic(fake)


def test_rollback_puts_the_previous_traffic_back_without_deleting(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    assert deploy(fake, outputs_file, "--traffic", "100")[0] == 0
    before = len(fake.requests)

    code, out, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat", "--wait")

    assert code == 0, err
    assert traffic(fake) == {"blue": 100}
    assert f"nlp-chat/deployments/{NEW}" in fake.online  # nothing deleted
    assert [r.method for r in fake.requests[before:] if r.method in ("PUT", "DELETE")] == ["PUT"]
    assert out == f"traffic of nlp-chat: {NEW}=100% -> blue=100%\n"
    assert fake.online["nlp-chat"]["properties"]["provisioningState"] == "Succeeded"  # followed to its end
    # A second rollback goes forward again.
    assert run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat", "--wait")[0] == 0
    assert traffic(fake) == {NEW: 100}


def test_rollback_without_wait_returns_once_azure_accepted_the_traffic_update(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    assert deploy(fake, outputs_file)[0] == 0
    fake.lro_polls = 40  # an update that takes a while

    code, out, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat")
    running = fake.online["nlp-chat"]["properties"]["provisioningState"]

    assert code == 0, err
    assert running == "Updating"  # the command did not wait for the operation
    assert out == (
        f"traffic of nlp-chat: {NEW}=100% -> blue=100%: accepted by Azure ML and running there (not followed; "
        "--wait follows it); check: azml-jobs endpoints --stack dev --project nlp-research\n"
    )
    assert fake.settle()
    assert traffic(fake) == {"blue": 100}


def test_rollback_of_an_endpoint_serving_nothing_restores_every_recorded_share(
    fake: FakeAzure, outputs_file: Path
) -> None:
    # traffic set to 0 by hand after a deploy that recorded blue=60, green=40
    recorded = {"project": "nlp-research", "previous_traffic": '{"blue":60,"green":40}'}
    live_endpoint(fake, traffic={"blue": 0, "green": 0}, tags=recorded)

    code, out, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat", "--wait")

    assert code == 0, err
    assert out == "traffic of nlp-chat: none -> blue=60%, green=40%\n"
    assert traffic(fake) == {"blue": 60, "green": 40}


@pytest.mark.usefixtures("quick_progress")
def test_a_followed_rollback_shows_its_progress(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    assert deploy(fake, outputs_file)[0] == 0
    fake.lro_polls = 5

    code, out, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat", "--wait")

    assert code == 0, err
    assert "] updating the traffic of endpoint nlp-chat: still running\n" in out
    assert out.endswith(f"traffic of nlp-chat: {NEW}=100% -> blue=100%\n")


def test_a_followed_rollback_whose_update_fails_exits_1(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    assert deploy(fake, outputs_file)[0] == 0
    fake.lro_failures["nlp-chat"] = "Endpoint update failed: internal"
    code, out, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat", "--wait")
    assert code == EXIT_JOB_FAILED and out == ""
    assert err.startswith("error: updating the traffic of endpoint nlp-chat failed: ")
    assert "Endpoint update failed: internal" in err and len(err.strip().splitlines()) == 1


def test_rollback_without_a_recorded_deployment_is_one_error(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    code, _, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat")
    assert code == EXIT_USER_ERROR and "records no earlier traffic" in err
    assert traffic(fake) == {"blue": 100}


def test_rollback_to_a_retired_deployment_is_refused(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake, tags={"previous_traffic": '{"gone": 100}'})
    code, _, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat")
    assert code == EXIT_USER_ERROR and "deployment gone no longer exists" in err
    assert traffic(fake) == {"blue": 100}
    assert not [r for r in fake.requests if r.method == "PUT"]


def test_dry_run_prints_every_rest_body_without_network(fake: FakeAzure, outputs_file: Path) -> None:
    code, out, err = deploy(fake, outputs_file, "--auth-mode", "key", "--instance-count", "2", "--dry-run")

    assert code == 0, err
    assert not fake.requests
    headers = [line for line in out.splitlines() if line.startswith("# ")]
    assert headers[:3] == [
        "# PUT .../onlineEndpoints/nlp-chat (only if the endpoint does not exist):",
        f"# PUT .../onlineEndpoints/nlp-chat/deployments/{NEW} (0% traffic):",
        f"# POST <scoring URI> with header azureml-model-deployment: {NEW} (smoke test):",
    ]
    assert headers[3].startswith(
        f"# PUT .../onlineEndpoints/nlp-chat: the endpoint as read, with traffic {NEW}=100%"
    )
    endpoint, deployment, smoke = (
        json.loads(part.split("\n", 1)[1]) for part in out.split("\n# ")[:3] if "\n" in part
    )
    assert smoke["input_data"]["input_string"][0]["role"] == "user"
    assert endpoint["properties"]["authMode"] == "Key"
    assert endpoint["location"] == deployment["location"] == "westeurope"
    assert deployment["sku"]["capacity"] == 2
    assert deployment["properties"]["livenessProbe"]["initialDelay"] == "PT10M"


def run_prod(fake: FakeAzure, prod_outputs_file: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [*argv, "--stack", "prod", "--project", "nlp-research", "--outputs", str(prod_outputs_file)]
    code = main(args, client_factory=factory(fake), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# The registry the prod stack creates (its real plan), which dev references.
PROD_REGISTRY = "mlr-mlp-prd-0a71"


def test_prod_refuses_a_model_that_is_not_in_its_registry(fake: FakeAzure, prod_outputs_file: Path) -> None:
    code, out, err = run_prod(
        fake, prod_outputs_file, "deploy", MODEL, "--endpoint", "nlp-chat", "--instance-type", A100
    )
    assert code == EXIT_USER_ERROR and out == ""
    assert f"prod is a production environment: deploy from its registry '{PROD_REGISTRY}'" in err
    assert "azml-jobs promote llama31-8b-chat-ft:3" in err
    assert not fake.requests


def test_prod_deploys_from_its_registry_with_public_access_disabled(
    fake: FakeAzure, prod_outputs_file: Path
) -> None:
    fake.registries.add(PROD_REGISTRY)
    fake.registry_models[PROD_REGISTRY] = {"llama31-8b-chat-ft/3": {}}
    fake.models.clear()  # in the registry only, as promote leaves it
    model = f"azureml://registries/{PROD_REGISTRY}/models/llama31-8b-chat-ft/versions/3"
    code, _, err = run_prod(
        fake, prod_outputs_file, "deploy", model, "--endpoint", "nlp-chat", "--instance-type", A100
    )
    assert code == 0, err
    first, deployment, _ = (r for r in fake.requests if r.method == "PUT" and "/onlineEndpoints/" in r.path)
    # Pulumi.prod.yaml: public_network_access false.
    assert first.body["properties"]["publicNetworkAccess"] == "Disabled"
    assert deployment.body["properties"]["model"] == model
    assert any(
        r.path.endswith(f"/registries/{PROD_REGISTRY}/models/llama31-8b-chat-ft/versions/3")
        for r in fake.requests
    )


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
        # Pulumi.dev.yaml grants 96 vCPUs of the A100 family: 5 x 24 do not fit.
        (
            ["--instance-count", "5"],
            "not enough StandardNCADSA100v4Family quota for this deployment: it needs 120 vCPUs "
            "(5 x Standard_NC24ads_A100_v4 = 120), 96 are available",
        ),
        (["--instance-type", "Standard_ND96isr_H100_v5"], "has no GPU quota for standardNDSH100v5Family"),
        # A GPU size of the platform that Learn's managed online endpoints SKU list does not name.
        (
            ["--instance-type", "Standard_ND96isr_H200_v5"],
            "instance type Standard_ND96isr_H200_v5 is not on Learn's managed online endpoints SKU list",
        ),
        # T4 sizes get Azure ML's 20% upgrade reserve: 34 x 4 = 136 vCPUs fit the 160 granted,
        # ceil(1.2 x 34) = 41 instances x 4 = 164 do not.
        (
            ["--instance-type", "Standard_NC4as_T4_v3", "--instance-count", "34"],
            "it needs 164 vCPUs (34 x Standard_NC4as_T4_v3 with the 20% upgrade reserve = 41 x 4 = 164), "
            "160 are available",
        ),
        (["--auth-mode", "none"], "auth mode 'none' must be one of aad_token, key, aml_token"),
        (["--traffic", "0"], "traffic must be 1-100"),
    ],
)
def test_bad_requests_are_refused_before_any_request(
    fake: FakeAzure, outputs_file: Path, argv: list[str], message: str
) -> None:
    # argparse keeps the last value of a repeated option: these override the defaults below.
    code, out, err = deploy(fake, outputs_file, *argv)
    assert code == EXIT_USER_ERROR
    assert message in err and out == ""
    assert "Traceback" not in err
    assert not fake.requests


def test_model_must_be_pinned(fake: FakeAzure, outputs_file: Path) -> None:
    code, _, err = deploy(fake, outputs_file, model="llama31-8b-chat-ft")
    assert code == EXIT_USER_ERROR
    assert err == (
        "error: model 'llama31-8b-chat-ft' must be NAME:VERSION (a pinned version of a model registered in "
        "the workspace) or azureml://registries/REGISTRY/models/NAME/versions/VERSION\n"
    )
    assert not fake.requests


def test_an_unregistered_model_is_refused_before_any_write(fake: FakeAzure, outputs_file: Path) -> None:
    fake.models.clear()
    code, out, err = deploy(fake, outputs_file)
    assert code == EXIT_USER_ERROR and out == ""
    assert f"looking up model {MODEL}: not found in workspace 'mlw-mlp-dev-nlp-research'" in err
    assert writes(fake) == []
    first = next(r for r in fake.requests if "/workspaces/" in r.path)
    assert (first.method, first.path) == ("GET", f"{fake.workspace_id}/models/llama31-8b-chat-ft/versions/3")


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
    if deploys:
        assert code == 0, err
    else:
        assert code == EXIT_USER_ERROR
        assert err.strip().endswith(
            f"model {MODEL} cannot be served on {A100}; its inference_compute_allow_list is: "
            "Standard_NC96ads_A100_v4, Standard_ND96amsr_A100_v4"
        )
        assert writes(fake) == []


def test_ctrl_c_during_a_rollout_exits_130_without_a_traceback(
    fake: FakeAzure, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live_endpoint(fake)

    def interrupted(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("jobs.deploy.smoke_test", interrupted)
    code, out, err = deploy(fake, outputs_file)
    assert code == EXIT_INTERRUPTED
    assert "interrupted" in out and "Traceback" not in out + err
    assert traffic(fake) == {"blue": 100}


def test_sdk_progress_and_log_messages_stay_out_of_the_output(
    fake: FakeAzure, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # azure-ai-ml prints a dot per LRO poll straight to sys.stdout and logs INFO lines.
    code, out, err = deploy(fake, outputs_file)
    assert code == 0, err
    assert capsys.readouterr() == ("", "")  # nothing beyond the streams main() writes to
    assert "deployed " in out and err == ""


def test_verbose_shows_the_sdk_messages_on_stderr(
    fake: FakeAzure, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = deploy(fake, outputs_file, "--verbose")
    assert code == 0, err
    captured = capsys.readouterr()
    assert captured.out == "" and "." in captured.err  # the SDK's progress, on stderr


def test_another_projects_endpoint_is_not_deployed_to(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake, tags={"project": "vision"})
    code, _, err = deploy(fake, outputs_file)
    assert code == EXIT_USER_ERROR and "not tagged with project nlp-research" in err
    assert writes(fake) == [] and traffic(fake) == {"blue": 100}


def test_ctrl_c_in_any_command_exits_130_without_a_traceback(
    fake: FakeAzure, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("jobs.endpoints.list_endpoints", interrupted)
    code, out, err = run(fake, outputs_file, "endpoints")
    assert code == EXIT_INTERRUPTED and err == "interrupted\n" and out == ""


def test_a_canary_on_an_endpoint_with_nothing_else_serving_gets_everything(
    fake: FakeAzure, outputs_file: Path
) -> None:
    code, out, err = deploy(fake, outputs_file, "--traffic", "10")
    assert code == 0, err
    assert traffic(fake) == {NEW: 100}
    assert f"note: no other deployment serves nlp-chat, so {NEW} gets 100%" in out
    assert "(100% traffic)" in out


class _SlowPoller:
    """An LRO poller that finishes after `rounds` waits; the clock advances by each wait."""

    def __init__(self, rounds: int, clock: list[float]) -> None:
        self.rounds, self.clock, self.waits = rounds, clock, 0

    def done(self) -> bool:
        return self.waits >= self.rounds

    def wait(self, timeout: float) -> None:
        self.waits += 1
        self.clock[0] += timeout

    def result(self) -> str:
        return "created"


def test_a_long_wait_prints_elapsed_time_until_the_operation_ends() -> None:
    from jobs.operations import wait_for

    clock = [0.0]
    out = io.StringIO()
    assert wait_for(_SlowPoller(3, clock), "deployment d", out, 30, lambda: clock[0]) == "created"
    assert out.getvalue() == "[  0m30s] deployment d: still running\n[  1m00s] deployment d: still running\n"


def test_the_quota_check_counts_what_the_workspaces_deployments_hold(
    fake: FakeAzure, outputs_file: Path
) -> None:
    # blue holds 3 x 24 of the 96 A100 vCPUs Pulumi.dev.yaml grants: 24 are left, 2 x 24 do not fit.
    live_endpoint(fake)
    fake.online["nlp-chat/deployments/blue"]["sku"]["capacity"] = 3

    code, out, err = deploy(fake, outputs_file, "--instance-count", "2")

    assert code == EXIT_USER_ERROR and out == ""
    assert err == (
        "error: not enough StandardNCADSA100v4Family quota for this deployment: it needs 48 vCPUs "
        f"(2 x {A100} = 48), 24 are available (quota 96 in stacks/Pulumi.dev.yaml gpu_quota, 72 held by "
        f"existing deployments: nlp-chat/blue 3 x {A100} = 72)\n"
    )
    assert writes(fake) == []  # refused before the endpoint or the deployment is touched
    assert traffic(fake) == {"blue": 100}


def test_deployments_that_cannot_be_listed_for_the_quota_check_refuse_the_deploy(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    fake.faults.append(Fault("GET", r"/onlineEndpoints/nlp-chat/deployments$", 403))

    code, _, err = deploy(fake, outputs_file)

    assert code == EXIT_USER_ERROR
    assert err.startswith(
        "error: reading the deployments that hold quota: access denied on workspace 'mlw-mlp-dev-nlp-research'"
    ), err
    assert writes(fake) == []


def test_the_quota_check_counts_other_endpoints_with_their_upgrade_reserve(
    fake: FakeAzure, outputs_file: Path
) -> None:
    # Another endpoint of the workspace (whatever its project tag) holds 30 x T4 with the reserve:
    # ceil(1.2 x 30) = 36 x 4 = 144 of the 160 granted; 4 more T4 need ceil(4.8) = 5 x 4 = 20.
    live_endpoint(fake, tags={"project": "vision"})
    fake.online["nlp-chat/deployments/blue"]["properties"]["instanceType"] = "Standard_NC4as_T4_v3"
    fake.online["nlp-chat/deployments/blue"]["sku"]["capacity"] = 30
    code, _, err = run(
        fake,
        outputs_file,
        "deploy",
        MODEL,
        "--endpoint",
        "nlp-chat2",
        "--instance-type",
        "Standard_NC4as_T4_v3",
        "--instance-count",
        "4",
    )
    assert code == EXIT_USER_ERROR and len(err.strip().splitlines()) == 1
    assert (
        "it needs 20 vCPUs (4 x Standard_NC4as_T4_v3 with the 20% upgrade reserve = 5 x 4 = 20), 16 are available"
        in err
    )
    assert (
        "144 held by existing deployments: nlp-chat/blue 30 x Standard_NC4as_T4_v3 with the 20% upgrade reserve = 36 x 4 = 144"
        in err
    )
    assert writes(fake) == []


def test_a_deployment_that_fits_next_to_the_live_one_goes_ahead(fake: FakeAzure, outputs_file: Path) -> None:
    # blue 3 x 24 = 72, the new one 1 x 24: exactly the 96 granted (A100 NC sizes have no reserve).
    live_endpoint(fake)
    fake.online["nlp-chat/deployments/blue"]["sku"]["capacity"] = 3
    code, _, err = deploy(fake, outputs_file)
    assert code == 0, err
    assert traffic(fake) == {NEW: 100}


def crowded_endpoint(fake: FakeAzure, tags: dict[str, str] | None = None) -> dict[str, int]:
    """An endpoint whose traffic is spread over seven deployments with 32-character names (T4s, so
    the A100 quota check leaves them out): recording that map takes more than 256 characters."""
    shares = {f"live-deployment-{i:02d}-abcdefghijklm": share for i, share in enumerate([15, 15] + [14] * 5)}
    live_endpoint(fake, traffic=shares, tags=tags)
    for name in shares:
        fake.online[f"nlp-chat/deployments/{name}"]["properties"]["instanceType"] = "Standard_NC4as_T4_v3"
    return shares


def test_a_traffic_map_too_long_for_the_rollback_tag_is_refused_before_any_write(
    fake: FakeAzure, outputs_file: Path
) -> None:
    # ARM refuses a tag value over 256 characters, and with it the traffic PUT: found out after the
    # deployment was built, the rollout would end with the new deployment at 0% for nothing.
    shares = crowded_endpoint(fake)
    code, _, err = deploy(fake, outputs_file)
    assert code == EXIT_USER_ERROR
    assert err.startswith(
        "error: endpoint nlp-chat has too many deployments with traffic to record them for rollback: tag "
        "previous_traffic would be 267 characters, Azure takes at most 256"
    ), err
    assert writes(fake) == []
    assert traffic(fake) == shares


def test_the_rollback_tag_is_compact_json_of_the_shares(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake, traffic={"blue": 60, "green": 40})
    assert deploy(fake, outputs_file, "--traffic", "10")[0] == 0
    assert fake.online["nlp-chat"]["tags"]["previous_traffic"] == '{"blue":60,"green":40}'


def test_a_rollback_that_cannot_record_the_traffic_it_replaces_is_refused(
    fake: FakeAzure, outputs_file: Path
) -> None:
    shares = crowded_endpoint(fake, tags={"project": "nlp-research", "previous_traffic": '{"blue":100}'})
    fake.online["nlp-chat/deployments/blue"] = {
        **fake.online["nlp-chat/deployments/live-deployment-00-abcdefghijklm"],
        "name": "blue",
    }
    code, _, err = run(fake, outputs_file, "rollback", "--endpoint", "nlp-chat", "--wait")
    assert code == EXIT_USER_ERROR
    assert err.startswith(
        "error: endpoint nlp-chat has too many deployments with traffic to record them for rollback: "
        "tag previous_traffic would be 267 characters"
    ), err
    assert not [r for r in fake.requests if r.method == "PUT"]
    assert traffic(fake) == shares


def test_a_model_reference_too_long_for_the_deployments_tag_is_refused(
    fake: FakeAzure, outputs_file: Path
) -> None:
    # `azureml://registries/mlpdevreg/models/<name>/versions/1` is len(name) + 49 characters
    fits = f"azureml://registries/mlpdevreg/models/{'m' * 207}/versions/1"
    assert deploy(fake, outputs_file, "--dry-run", model=fits)[0] == 0
    model = f"azureml://registries/mlpdevreg/models/{'m' * 208}/versions/1"
    code, out, err = deploy(fake, outputs_file, model=model)
    assert code == EXIT_USER_ERROR and out == ""
    assert f"model reference {model} is 257 characters: the deployment's `model` tag takes at most 256" in err
    assert not fake.requests


REFUSALS: dict[str, list[str]] = {
    "unknown instance type": ["--instance-type", "Standard_D4s_v3"],
    "no quota for the family": ["--instance-type", "Standard_ND96isr_H100_v5"],
    "not a managed online size": ["--instance-type", "Standard_ND96isr_H200_v5"],
    "more than the quota": ["--instance-count", "5"],
    "no instances": ["--instance-count", "0"],
    "unknown auth mode": ["--auth-mode", "none"],
    "traffic 0": ["--traffic", "0"],
    "traffic over 100": ["--traffic", "101"],
    "retire-old with a canary": ["--traffic", "10", "--retire-old"],
    # every problem of one request at once, one per line
    "several problems": ["--endpoint", "x", "--deployment", "9bad", "--traffic", "0"],
}


def test_each_refused_request_reads_as_reviewed(
    fake: FakeAzure, outputs_file: Path, request: pytest.FixtureRequest
) -> None:
    """The words of each refusal of `deploy`, against tests/jobs/golden/deploy-refusals.txt."""
    text = ""
    for case, argv in REFUSALS.items():
        code, out, err = deploy(fake, outputs_file, *argv)
        assert (code, out) == (EXIT_USER_ERROR, ""), case
        text += f"## {case}\n{err}"
    for case, accepted in {"traffic 1": ["--traffic", "1"], "traffic 100": ["--traffic", "100"]}.items():
        assert deploy(fake, outputs_file, "--dry-run", *accepted)[0] == 0, case
    assert not fake.requests
    golden = Path(__file__).parent / "golden" / "deploy-refusals.txt"
    if request.config.getoption("--update-expected"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_a_region_without_recorded_gpu_quota_is_refused_saying_none_has_any(
    fake: FakeAzure, tmp_path: Path, planned: Planned
) -> None:
    outputs = planned.outputs("dev")
    outputs["projects"]["nlp-research"]["location"] = "eastus"  # no quota recorded for eastus
    saved = tmp_path / "eastus.json"
    saved.write_text(json.dumps(outputs))
    code, out, err = deploy(fake, saved)
    assert (code, out) == (EXIT_USER_ERROR, "")
    assert err.endswith(
        f"environment 'dev' has no GPU quota for StandardNCADSA100v4Family ({A100}); families with quota: (none)\n"
    )
    assert not fake.requests


@pytest.mark.parametrize(("auth_mode", "rest_mode"), [("key", "Key"), ("aml_token", "AMLToken")])
def test_the_smoke_test_authenticates_as_the_new_endpoints_auth_mode(
    fake: FakeAzure, outputs_file: Path, auth_mode: str, rest_mode: str
) -> None:
    code, _, err = deploy(fake, outputs_file, "--auth-mode", auth_mode)
    assert code == 0, err
    assert fake.online["nlp-chat"]["properties"]["authMode"] == rest_mode
    assert fake.scored == [("nlp-chat", NEW)]


def test_the_fake_scores_only_with_the_credential_of_the_endpoints_auth_mode(fake: FakeAzure) -> None:
    # An aad_token endpoint takes Microsoft Entra tokens for https://ml.azure.com, not ARM tokens.
    import ssl
    import urllib.error
    import urllib.request

    from fake_azure import jwt_for

    live_endpoint(fake)
    context = ssl.create_default_context()
    fake.ca.configure_trust(context)

    def score(token: str) -> int:
        request = urllib.request.Request(
            f"{fake.url}/score/nlp-chat", data=b"{}", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, context=context) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert score(jwt_for(fake.url)) == 401  # an Azure Resource Manager token
    assert score("pk") == 401  # a key, on an endpoint without key auth
    assert score(jwt_for("https://ml.azure.com")) == 200


@pytest.mark.parametrize("retire", [False, True], ids=["keep-old", "retire-old"])
def test_dry_run_output_is_the_reviewed_one(
    fake: FakeAzure, outputs_file: Path, retire: bool, request: pytest.FixtureRequest
) -> None:
    """The whole `deploy --dry-run` text, against tests/jobs/golden/deploy-*.txt (what a reviewer
    reads before a rollout). After an intended change: `make expected`, then review the diff."""
    code, out, err = deploy(fake, outputs_file, "--dry-run", *(["--retire-old"] if retire else []))
    assert code == 0, err
    golden = Path(__file__).parent / "golden" / f"deploy-{'retire-old' if retire else 'keep-old'}.txt"
    if request.config.getoption("--update-expected"):
        golden.write_text(out)
    assert out == golden.read_text()


@pytest.mark.parametrize(
    ("logs", "printed"),
    [
        ("  File train.py, line 3\nValueError: bad\n\n", "  File train.py, line 3\nValueError: bad\n"),
        ("", "(the deployment wrote no logs)\n"),
    ],
    ids=["indented-first-line", "empty"],
)
def test_a_failed_deployments_log_tail_is_printed_as_written(
    fake: FakeAzure, outputs_file: Path, logs: str, printed: str
) -> None:
    live_endpoint(fake)
    fake.lro_failures[f"nlp-chat/deployments/{NEW}"] = "Container crashed"
    fake.deployment_logs[f"nlp-chat/deployments/{NEW}"] = logs
    code, _, err = deploy(fake, outputs_file)
    assert code == EXIT_JOB_FAILED
    assert printed in err


def test_logs_that_cannot_be_read_say_why_and_the_failure_is_still_reported(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    fake.lro_failures[f"nlp-chat/deployments/{NEW}"] = "Container crashed"
    fake.faults.append(Fault("POST", rf"/deployments/{NEW}/getLogs$", 403))
    code, _, err = deploy(fake, outputs_file)
    assert code == EXIT_JOB_FAILED
    assert "(logs not available: (AuthorizationFailed) injected 403)\n" in err
    assert "Container crashed" in err and traffic(fake) == {"blue": 100}


@pytest.mark.parametrize(
    ("endpoint", "tags", "message"),
    [
        ("1-bad", None, "error: endpoint name '1-bad' "),
        (
            "nlp-chat",
            {"previous_traffic": "blue=100"},
            "error: endpoint nlp-chat tag previous_traffic is not a traffic map: 'blue=100'",
        ),
        (
            "nlp-chat",
            {"previous_traffic": '{"gone": 50, "lost": 50}'},
            "error: cannot roll back nlp-chat: deployment gone, lost no longer exists (retired?)",
        ),
        ("other", None, "error: rolling back endpoint other: not found in workspace "),
    ],
    ids=["bad-name", "bad-tag", "two-retired", "no-endpoint"],
)
def test_a_rollback_that_cannot_be_done_says_why_and_changes_nothing(
    fake: FakeAzure, outputs_file: Path, endpoint: str, tags: dict[str, str] | None, message: str
) -> None:
    live_endpoint(fake, tags=tags)
    code, _, err = run(fake, outputs_file, "rollback", "--endpoint", endpoint)
    assert code == EXIT_USER_ERROR
    assert err.startswith(message), err
    assert traffic(fake) == {"blue": 100}
    assert not [r for r in fake.requests if r.method == "PUT"]
