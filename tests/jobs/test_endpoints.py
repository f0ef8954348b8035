"""endpoints: list (deployments, traffic, instance-hours, cost estimate), logs, invoke, delete against the fake."""

from __future__ import annotations

from pathlib import Path

from fake_azure import FakeAzure, Fault
from fake_cli import run
from test_deploy import A100, live_endpoint, traffic

from infra.guardrails import prices
from jobs.cli import EXIT_FOLLOW_STOPPED, EXIT_JOB_FAILED, EXIT_USER_ERROR


def test_list_shows_this_projects_endpoints_with_deployments_traffic_hours_and_cost(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake, {"blue": 90, "green": 10})
    fake.online["other"] = {**fake.online["nlp-chat"], "name": "other", "tags": {"project": "vision"}}

    code, out, err = run(fake, outputs_file, "endpoints")

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("nlp-chat  Succeeded  auth=aad_token  public=Enabled  ")
    # 730 h x the table's hourly price of the size, around the clock.
    monthly = 730 * prices.HOURLY[A100]
    assert lines[1:3] == [
        f"  blue  90%  Succeeded  1 x {A100} (1 x A100)  730 instance-hours/month  ~{monthly:,.0f} USD/month",
        f"  green  10%  Succeeded  1 x {A100} (1 x A100)  730 instance-hours/month  ~{monthly:,.0f} USD/month",
    ]
    assert lines[3].startswith(
        f"total: 1460 instance-hours/month, ~{2 * monthly:,.0f} USD/month, billed whether or not requests arrive"
    )
    # Labelled as an estimate from the one price table, with its (unverified) source.
    assert lines[4] == f"cost: an estimate from infra/guardrails/prices.py, {prices.source_note()}"
    assert "unverified" in lines[4]  # prices.VERIFIED is False
    assert len(lines) == 5
    assert "other" not in out  # another project's endpoint


def test_sizes_without_a_price_are_listed_as_such_and_left_out_of_the_total(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake, {"blue": 100, "green": 0})
    fake.online["nlp-chat/deployments/green"]["properties"]["instanceType"] = "Standard_NV36ads_A10_v5"
    fake.online["nlp-chat/deployments/green"]["sku"]["capacity"] = 2

    code, out, err = run(fake, outputs_file, "endpoints")

    assert code == 0, err
    assert "  green  0%  Succeeded  2 x Standard_NV36ads_A10_v5  1460 instance-hours/month  no price\n" in out
    # 2190 instance-hours, but only blue's are priced.
    assert f"total: 2190 instance-hours/month, ~{730 * prices.HOURLY[A100]:,.0f} USD/month," in out
    assert out.endswith(
        "no price in infra/guardrails/prices.py for Standard_NV36ads_A10_v5: not in the estimate\n"
    )


def test_a_region_the_price_table_does_not_cover_is_named(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    live_endpoint(fake)
    code, out, err = run(fake, serverless_outputs_file, "endpoints")
    assert code == 0, err
    assert out.splitlines()[-1].endswith(
        f"; the table prices {prices.REGION}, these endpoints run in westus3"
    )


def test_list_without_endpoints_says_so(fake: FakeAzure, outputs_file: Path) -> None:
    code, out, _ = run(fake, outputs_file, "endpoints")
    assert code == 0 and out == "no online endpoints of project nlp-research\n"


def test_logs_prints_the_deployments_tail(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    fake.deployment_logs["nlp-chat/deployments/blue"] = "a\nb\nc"
    code, out, err = run(
        fake, outputs_file, "endpoints", "logs", "nlp-chat", "--deployment", "blue", "--lines", "2"
    )
    assert code == 0, err
    assert out == "b\nc\n"


def test_invoke_sends_the_request_to_the_traffic_map_or_one_deployment(
    fake: FakeAzure, outputs_file: Path, tmp_path: Path
) -> None:
    live_endpoint(fake, {"blue": 100, "green": 0})
    request = tmp_path / "r.json"
    request.write_text('{"input_data": {"input_string": ["hi"]}}')
    code, out, err = run(fake, outputs_file, "endpoints", "invoke", "nlp-chat", "--request", str(request))
    assert code == 0, err
    assert "hello from blue" in out
    code, out, err = run(
        fake,
        outputs_file,
        "endpoints",
        "invoke",
        "nlp-chat",
        "--request",
        str(request),
        "--deployment",
        "green",
    )
    assert code == 0, err
    assert "hello from green" in out
    assert fake.scored == [("nlp-chat", "blue"), ("nlp-chat", "green")]


def test_invoke_with_a_bad_request_file_is_one_error(
    fake: FakeAzure, outputs_file: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        fake, outputs_file, "endpoints", "invoke", "nlp-chat", "--request", str(tmp_path / "none")
    )
    assert code == EXIT_USER_ERROR and "not a readable JSON file" in err and "Traceback" not in err


def test_delete_wait_removes_the_endpoint_and_its_deployments(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    code, out, err = run(fake, outputs_file, "endpoints", "delete", "nlp-chat", "--wait")
    assert code == 0, err
    assert out == "deleted endpoint nlp-chat\n"
    assert fake.online == {}  # the operation ended before the command did


def test_delete_without_wait_returns_once_azure_accepted_it(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    fake.lro_polls = 40  # a deletion that takes a while
    code, out, err = run(fake, outputs_file, "endpoints", "delete", "nlp-chat")
    still_there = "nlp-chat" in fake.online
    assert code == 0, err
    assert still_there  # the command did not wait for the deletion
    assert out == (
        "deleting endpoint nlp-chat and its deployments: accepted by Azure ML and running there (not followed; "
        "--wait follows it); check: azml-jobs endpoints --stack dev --project nlp-research\n"
    )
    assert [r.path for r in fake.requests if r.method == "DELETE"] == [fake.online["nlp-chat"]["id"]]
    assert fake.settle() and fake.online == {}


def test_a_followed_deletion_that_fails_exits_1(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    fake.lro_failures["delete-nlp-chat"] = "Endpoint is locked (CanNotDelete)"
    code, out, err = run(fake, outputs_file, "endpoints", "delete", "nlp-chat", "--wait")
    assert code == EXIT_JOB_FAILED and out == ""
    assert err.startswith("error: deleting endpoint nlp-chat failed: ") and "CanNotDelete" in err
    assert "nlp-chat" in fake.online


def test_delete_refuses_another_projects_endpoint(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake, tags={"project": "vision"})
    code, _, err = run(fake, outputs_file, "endpoints", "delete", "nlp-chat")
    assert code == EXIT_USER_ERROR and "not tagged with project nlp-research" in err
    assert traffic(fake) == {"blue": 100}


def test_delete_dry_run_sends_nothing(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    code, out, _ = run(fake, outputs_file, "endpoints", "delete", "nlp-chat", "--dry-run")
    assert code == 0 and out == "# DELETE .../onlineEndpoints/nlp-chat (and its deployments)\n"
    assert not fake.requests and "nlp-chat" in fake.online


def test_bad_endpoint_names_are_refused(fake: FakeAzure, outputs_file: Path) -> None:
    code, _, err = run(fake, outputs_file, "endpoints", "delete", "1x")
    assert code == EXIT_USER_ERROR and "endpoint name '1x' must be 3-32 characters" in err
    assert not fake.requests


def test_a_followed_deletion_whose_polls_keep_failing_stops_with_exit_3(
    fake: FakeAzure, outputs_file: Path
) -> None:
    live_endpoint(fake)
    # More 503s than azure-core retries (3 in the tests' clients): the wait gives up, not the deletion.
    fake.faults += [Fault("GET", r"^/operations/location/delete-nlp-chat", 503) for _ in range(20)]
    code, out, err = run(fake, outputs_file, "endpoints", "delete", "nlp-chat", "--wait")
    assert code == EXIT_FOLLOW_STOPPED and out == ""
    assert err.startswith("error: stopped following deleting endpoint nlp-chat: Azure ML answered 503")
    assert "the operation may still be running there" in err
