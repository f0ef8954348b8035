"""The names and tag values `deploy` derives, against literal expectations.

Azure's limits they must meet: an online deployment name begins with a letter and has 3-32
letters, digits and hyphens (Microsoft Learn, "Endpoints for inference in production":
endpoint and deployment naming); a tag value has at most 256 characters (Learn, "Use tags to
organize your Azure resources", limitations).
"""

from __future__ import annotations

import pytest

from jobs.deploy import ModelRef, default_deployment_name, name_problem, tag_problem, traffic_tag


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("Meta-Llama-3.1-8B-Instruct", "2", "meta-llama-3-1-8b-instruct-v2"),
        ("phi_3.5_mini", "12", "phi-3-5-mini-v12"),  # '_' and '.' are not allowed: one hyphen each
        ("_Phi..mini_", "1", "phi-mini-v1"),  # runs of them are one hyphen; none at the ends
        ("a1-model", "1", "a1-model-v1"),
        ("7b-chat", "2", "d-7b-chat-v2"),  # a name must begin with a letter
        ("7b-instruct-chat-support-a-bcd", "1", "d-7b-instruct-chat-support-a-v1"),  # and is cut again
        # cut to 32 characters with the version; a cut that ends in a hyphen drops it
        ("llama-3-1-8b-instruct-nlpsft-chat", "3", "llama-3-1-8b-instruct-nlpsft-v3"),
        ("llama-3-1-8b-instruct-nlp-sft-chat", "3", "llama-3-1-8b-instruct-nlp-sft-v3"),
        ("llama-3-1-8b-instruct-nlp-sftchat", "10", "llama-3-1-8b-instruct-nlp-sf-v10"),
    ],
)
def test_the_default_deployment_name_meets_azures_rule(name: str, version: str, expected: str) -> None:
    derived = default_deployment_name(ModelRef(name, version, None))
    assert derived == expected
    assert 3 <= len(derived) <= 32 and derived[0].isalpha()


def test_the_rollback_tag_is_compact_json_in_name_order() -> None:
    assert traffic_tag({"green": 40, "blue": 60, "red": 0}) == '{"blue":60,"green":40}'


def test_a_traffic_map_fits_the_tag_up_to_256_characters() -> None:
    # '{"<name>":50,"b":50}' is len(name) + 14 characters
    assert len(traffic_tag({"a" * 242: 50, "b": 50})) == 256
    assert tag_problem("nlp-chat", {"a" * 242: 50, "b": 50}) is None
    assert tag_problem("nlp-chat", {"a" * 243: 50, "b": 50}) == (
        "endpoint nlp-chat has too many deployments with traffic to record them for rollback: tag "
        f"previous_traffic would be 257 characters, Azure takes at most 256 ({'a' * 243}=50%, b=50%); "
        "route traffic away from some deployments first"
    )


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("ab", False),  # 2 characters
        ("abc", True),  # 3: the shortest Azure takes
        ("a" * 32, True),  # 32: the longest
        ("a" * 33, False),
        ("a-b", True),
        ("1ab", False),  # must begin with a letter
        ("ab-", False),  # must not end with a hyphen
        ("a_b", False),  # letters, digits and hyphens only
    ],
)
def test_endpoint_and_deployment_names_meet_azures_rule(name: str, accepted: bool) -> None:
    problem = name_problem("endpoint", name)
    assert (problem is None) == accepted
    if not accepted:
        assert problem == (
            f"endpoint name {name!r} must be 3-32 characters, letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen"
        )
