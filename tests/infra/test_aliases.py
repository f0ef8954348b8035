"""Legacy type aliases: dropped for greenfield stacks, kept with `keep_legacy_aliases: true`, and
nothing else about any resource changes either way."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pulumi
import pytest
from pulumi_azure_native import resources

from infra import aliases
from infra.plan.offline import plan_stack
from infra.plan.runtime import Plan, PlanMocks, RecordingMonitor, run_program
from tests.infra.sandbox import Sandbox, example_environment

LEGACY = "type=azure-native:"  # how RecordingMonitor writes a type-only alias spec


def _is_legacy_text(text: str) -> bool:
    return (
        text.startswith("type=") and " " not in text and aliases.LEGACY_TYPE.fullmatch(text[5:]) is not None
    )


# --- the predicate and the transformation ------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "azure-native:machinelearningservices/v20240401:Workspace",
        "azure-native:machinelearningservices/v20250101preview:Compute",
        "azure-native:storage/v20190601:StorageAccount",
        "azure-native:insights/v20210501preview:DiagnosticSetting",
        "azure-native:kusto/v20230502privatepreview:Cluster",
        "azure-nextgen:network/v20200601:PrivateEndpoint",
        "azure-nextgen:network/latest:PrivateEndpoint",
    ],
)
def test_versioned_type_only_aliases_are_legacy(token: str) -> None:
    assert aliases.is_legacy_alias(pulumi.Alias(type_=token))


@pytest.mark.parametrize(
    "alias",
    [
        # v2 module names of v3 types: unversioned, kept
        pulumi.Alias(type_="azure-native:insights:DiagnosticSetting"),
        pulumi.Alias(type_="azure-native:network:InterfaceEndpoint"),
        # the program's own renames and moves, even with a versioned token
        pulumi.Alias(name="old-name"),
        pulumi.Alias(type_="azure-native:storage/v20190601:StorageAccount", name="old-name"),
        pulumi.Alias(type_="azure-native:storage/v20190601:StorageAccount", parent=None),
        pulumi.Alias(type_="azure-native:storage/v20190601:StorageAccount", stack="other"),
        pulumi.Alias(type_="azure-native:storage/v20190601:StorageAccount", project="other"),
        pulumi.Alias(type_="mlplatform:project:Project"),
        "urn:pulumi:dev::mlplatform::azure-native:storage/v20190601:StorageAccount::x",
        pulumi.Alias(type_="azure-native:storage/v2019:StorageAccount"),  # not an API version
        pulumi.Alias(type_="azure-native:storage/v20190601:StorageAccount:extra"),
    ],
)
def test_every_other_alias_is_not_legacy(alias: Any) -> None:
    assert not aliases.is_legacy_alias(alias)


def _args(
    opts: pulumi.ResourceOptions, props: dict[str, Any] | None = None
) -> pulumi.ResourceTransformationArgs:
    resource: Any = object()  # the transformation never looks at the resource
    return pulumi.ResourceTransformationArgs(
        resource, "azure-native:storage:StorageAccount", "st", props or {}, opts
    )


def test_transformation_drops_only_legacy_aliases_and_copies_the_options() -> None:
    rename = pulumi.Alias(name="old-storage")
    module = pulumi.Alias(type_="azure-native:insights:DiagnosticSetting")
    urn = "urn:pulumi:dev::mlplatform::azure-native:storage:StorageAccount::older"
    legacy = [pulumi.Alias(type_=f"azure-native:storage/v2019060{i}:StorageAccount") for i in range(1, 4)]
    parent: Any = object()
    opts = pulumi.ResourceOptions(
        aliases=[legacy[0], rename, legacy[1], module, urn, legacy[2]],
        protect=True,
        ignore_changes=["tags"],
        delete_before_replace=True,
    )
    opts.parent = parent  # identity must survive: Pulumi forbids re-parenting in transformations
    props = {"accountName": "st1"}

    result = aliases.drop_legacy_aliases(_args(opts, props))

    assert result is not None
    assert result.opts.aliases == [rename, module, urn]  # order kept, same objects
    assert result.opts.parent is parent
    assert result.props is props
    assert (result.opts.protect, result.opts.ignore_changes, result.opts.delete_before_replace) == (
        True,
        ["tags"],
        True,
    )
    assert opts.aliases == [legacy[0], rename, legacy[1], module, urn, legacy[2]]  # input not mutated


def test_transformation_leaves_resources_without_legacy_aliases_alone() -> None:
    assert aliases.drop_legacy_aliases(_args(pulumi.ResourceOptions())) is None
    assert (
        aliases.drop_legacy_aliases(_args(pulumi.ResourceOptions(aliases=[pulumi.Alias(name="x")]))) is None
    )


def test_transformation_of_only_legacy_aliases_leaves_none() -> None:
    opts = pulumi.ResourceOptions(
        aliases=[pulumi.Alias(type_="azure-native:storage/v20190601:StorageAccount")]
    )
    result = aliases.drop_legacy_aliases(_args(opts))
    assert result is not None and result.opts.aliases is None


def _tiny_program(keep: bool) -> Plan:
    """One real azure-native resource with an alias of the program's own, under the mock runtime."""

    def program() -> None:
        aliases.register(keep)
        resources.ResourceGroup(
            "rg",
            resource_group_name="rg-renamed",
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old-rg")]),
        )

    return run_program(program, stack="dev", project="mlplatform", config={})


def test_a_real_resource_keeps_its_own_alias_and_loses_only_legacy_ones() -> None:
    dropped, kept = _tiny_program(keep=False), _tiny_program(keep=True)
    (group,) = dropped.resources
    (group_with_legacy,) = kept.resources
    assert group.aliases == ("name=old-rg",)
    assert "name=old-rg" in group_with_legacy.aliases
    legacy = [text for text in group_with_legacy.aliases if _is_legacy_text(text)]
    assert len(legacy) > 10  # azure-native v3 carries dozens per type
    assert sorted([*legacy, "name=old-rg"]) == sorted(group_with_legacy.aliases)


def test_register_is_a_no_op_when_keeping_legacy_aliases() -> None:
    assert aliases.register(True) is False


# --- the whole program on the example stacks ---------------------------------------------------


def _without_aliases(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.urn: {k: v for k, v in asdict(r).items() if k != "aliases"} for r in plan.resources}


@pytest.fixture(scope="module")
def legacy_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    """The example stacks, identical but for `keep_legacy_aliases: true`."""
    sandbox = Sandbox.from_examples(tmp_path_factory.mktemp("legacy"))
    plans = {}
    for stack in ("dev", "prod"):
        environment = example_environment(stack)
        environment["keep_legacy_aliases"] = True
        sandbox.stack(stack, environment)
        plans[stack] = sandbox.plan(stack)
    return plans


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_switch_changes_nothing_but_the_legacy_aliases(
    stack: str, legacy_plans: dict[str, Plan], dev_plan: Plan, prod_plan: Plan
) -> None:
    greenfield = {"dev": dev_plan, "prod": prod_plan}[stack]
    migrated = legacy_plans[stack]

    # URNs, types, names, parents, inputs, ids, dependencies, property dependencies, options
    assert _without_aliases(greenfield) == _without_aliases(migrated)
    assert greenfield.outputs == migrated.outputs

    for before, after in zip(migrated.resources, greenfield.resources, strict=True):
        legacy = {text for text in before.aliases if _is_legacy_text(text)}
        # greenfield: no legacy alias anywhere, every other alias still there
        assert not any(_is_legacy_text(text) for text in after.aliases), after.urn
        assert set(after.aliases) == set(before.aliases) - legacy, after.urn
        if before.custom and before.type.startswith("azure-native:"):
            assert legacy, f"{before.urn} has no legacy aliases with keep_legacy_aliases: true"


def test_greenfield_plans_keep_the_sdks_unversioned_module_aliases(dev_plan: Plan) -> None:
    # v3 moved DiagnosticSetting from `insights` to `monitor`; that alias is not a versioned one.
    settings = dev_plan.by_type("azure-native:monitor:DiagnosticSetting")
    assert settings
    assert all("type=azure-native:insights:DiagnosticSetting" in s.aliases for s in settings)


def test_the_repository_stacks_are_greenfield() -> None:
    """The example stacks were created with v3: they must not carry the legacy aliases' cost."""
    plan = plan_stack("dev")
    assert not any(_is_legacy_text(text) for r in plan.resources for text in r.aliases)
    assert not any(text.startswith(LEGACY) and "/v20" in text for r in plan.resources for text in r.aliases)


# --- the offline runtime skips source positions, which the plan never records ------------------


class _PositionMonitor(RecordingMonitor):
    def __init__(self) -> None:
        super().__init__(PlanMocks())
        self.positions: list[str] = []

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            self.positions.append(request.sourcePosition.uri)
        return super().RegisterResource(request)


def _two_resources() -> None:
    group = resources.ResourceGroup("rg", resource_group_name="rg-one")
    resources.ResourceGroup(
        "rg2", resource_group_name=group.name, opts=pulumi.ResourceOptions(parent=group, protect=True)
    )


def test_plans_are_the_same_with_and_without_source_positions() -> None:
    from pulumi.runtime import resource as sdk_resource

    original = sdk_resource._get_stack_trace
    skipped, captured = _PositionMonitor(), _PositionMonitor()
    fast = run_program(_two_resources, stack="dev", project="mlplatform", config={}, monitor=skipped)
    slow = run_program(
        _two_resources, stack="dev", project="mlplatform", config={}, monitor=captured, source_positions=True
    )
    assert skipped.positions == ["", ""]
    assert all(uri.endswith("test_aliases.py") for uri in captured.positions) and len(captured.positions) == 2
    assert sdk_resource._get_stack_trace is original  # restored after every run
    assert [asdict(r) for r in fast.resources] == [asdict(r) for r in slow.resources]
    child = fast.get("azure-native:resources:ResourceGroup", "rg2")
    assert child.options["protect"] is True and child.parent.endswith("::rg")


@pytest.mark.parametrize(
    "state",
    [
        {"name": "mlw-mlp-dev-nlp", "id": "/subscriptions/x", "tags": {"a": "b"}},
        {"id": "/subscriptions/x"},
        {"name": 3.0},
        {"name": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s"}},
        {"name": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"},
    ],
)
def test_physical_name_reads_only_the_name_and_agrees_with_the_whole_state(state: dict[str, Any]) -> None:
    from google.protobuf import struct_pb2

    from infra.plan import runtime

    message = struct_pb2.Struct()
    message.update(state)
    assert runtime._physical_name(message) == str(runtime._struct(message).get("name", ""))
