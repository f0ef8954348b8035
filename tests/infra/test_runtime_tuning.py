"""The runtime settings for large stacks: same answers as the SDK, no garbage, applied once."""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from infra import runtime_tuning
from infra.runtime_tuning import SDK_CONTAINS_UNKNOWNS, contains_unknowns


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["scalar", "scalar", "unknown", "dict", "list", "tuple"] if depth < 5 else ["scalar"])
    if kind == "unknown":
        return Unknown() if rng.random() < 0.3 else rng.choice([None, "x"])
    if kind == "dict":
        return {f"k{index}": _random_value(rng, depth + 1) for index in range(rng.randint(0, 4))}
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "tuple":
        return tuple(_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return rng.choice([None, 0, 1.5, "", "id", True, b"bytes"])


def _corpus() -> list[Any]:
    itself: list[Any] = [1, "a"]
    itself.append(itself)
    loop_with_unknown: dict[str, Any] = {"unknown": [Unknown()]}
    loop_with_unknown["self"] = loop_with_unknown
    shared = {"a": 1}
    fixed = [
        None,
        "text",
        0,
        Unknown(),
        [],
        {},
        {"a": {"b": [1, 2, {"c": Unknown()}]}},
        {"a": {"b": [1, 2, {"c": "known"}]}},
        (Unknown(),),  # the SDK looks into dicts and lists only
        {"t": (1, Unknown())},
        {Unknown()},
        itself,
        loop_with_unknown,
        [shared, shared, [shared]],
        object(),
    ]
    rng = random.Random(20261127)
    return fixed + [_random_value(rng) for _ in range(500)]


def test_gives_the_sdks_answer_for_every_value() -> None:
    corpus = _corpus()
    answers = [contains_unknowns(value) for value in corpus]
    assert answers == [SDK_CONTAINS_UNKNOWNS(value) for value in corpus]
    assert any(answers) and not all(answers)  # the corpus has both kinds


@pytest.fixture
def collector_paused() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _cyclic_garbage_after(check: Callable[[Any], bool], corpus: list[Any]) -> int:
    gc.collect()
    for value in corpus:
        check(value)
    return gc.collect()  # the number of unreachable objects the calls left behind


def test_leaves_no_cyclic_garbage_where_the_sdks_does(collector_paused: None) -> None:
    corpus = _corpus()
    assert _cyclic_garbage_after(contains_unknowns, corpus) == 0
    # pulumi 3.272 leaves a cycle per call; when this fails, the SDK is fixed and the replacement
    # (which tune_runtime then skips) can go
    sdk_garbage = _cyclic_garbage_after(SDK_CONTAINS_UNKNOWNS, corpus)
    assert sdk_garbage >= len(corpus)
    assert runtime_tuning.creates_cyclic_garbage(SDK_CONTAINS_UNKNOWNS)
    assert not runtime_tuning.creates_cyclic_garbage(contains_unknowns)


@pytest.fixture
def restored_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    thresholds = gc.get_threshold()
    monkeypatch.setattr(rpc, "contains_unknowns", SDK_CONTAINS_UNKNOWNS)
    try:
        yield monkeypatch
    finally:
        gc.set_threshold(*thresholds)


def test_tuning_replaces_the_sdks_function_and_sets_young_only_collection(
    restored_runtime: pytest.MonkeyPatch, collector_paused: None
) -> None:
    gc.set_threshold(700, 10, 10)
    runtime_tuning.tune_runtime()
    runtime_tuning.tune_runtime()  # idempotent
    assert gc.get_threshold() == runtime_tuning.GC_THRESHOLDS
    assert rpc.contains_unknowns is contains_unknowns
    # the SDK's public wrapper and its internal callers resolve the module attribute at call time
    assert _cyclic_garbage_after(pulumi.contains_unknowns, _corpus()) == 0


def test_tuning_leaves_an_sdk_without_the_cycle_alone(restored_runtime: pytest.MonkeyPatch) -> None:
    def fixed_upstream(value: Any) -> bool:
        return isinstance(value, Unknown)

    restored_runtime.setattr(rpc, "contains_unknowns", fixed_upstream)
    assert not runtime_tuning.creates_cyclic_garbage(fixed_upstream)
    runtime_tuning.tune_runtime()
    assert rpc.contains_unknowns is fixed_upstream
