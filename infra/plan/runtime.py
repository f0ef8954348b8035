"""Run the real Pulumi program in-process under Pulumi's mock runtime, recording every resource.

No CLI, no engine, no network: the program (`__main__.py`, the same file `pulumi up` runs) talks to
a `MockMonitor` that records each RegisterResource request (type, name, parent, inputs,
dependencies and options) and answers with deterministic fake state. Invokes, such as the
provider's client config, answer with fixed fake values, so two runs are byte-identical.
"""

from __future__ import annotations

import asyncio
import runpy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import mocks, settings
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import stack as sdk_stack
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.sync_await import _sync_await

from infra.config.loader import SECRET_PLACEHOLDER
from infra.plan.fake_ids import FAKE_CLIENT, fake_state
from infra.plan.paths import join

# Markers of the Pulumi wire format (sdk/proto/README): secrets and resource references are
# objects tagged with this key; unknown values are this sentinel string.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET = SECRET_PLACEHOLDER  # how every secret value shows, config and plan alike
COMPUTED = "[computed]"
# How a value the provider computes (an identity's principal id, ...) shows wherever the plan shows
# values: Pulumi's preview prints such outputs of resources not yet created as `output<string>`
# (pkg/display/property_value.go, `[unknown]` in its JSON). The plan records deterministic
# placeholders for them, so that the program's wiring is testable, and never shows those.
UNKNOWN = "[unknown]"


def secret_placeholder(fingerprint: str) -> str:
    """How the offline plan passes an encrypted config value it cannot decrypt: marked with a digest
    of its ciphertext, so that two plans tell a changed secret from an unchanged one."""
    return f"{SECRET[:-1]}:{fingerprint}]"


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SECRET[:-1]) and value.endswith("]")


def _plain(value: Any) -> Any:
    """A wire value as plain JSON: secrets masked, references as URNs, unknowns marked."""
    if isinstance(value, dict):
        signature = value.get(_SIG_KEY)
        if signature == _SECRET_SIG:
            inner = value.get("value")
            return inner if _is_placeholder(inner) else SECRET
        if signature == _RESOURCE_SIG:
            return value.get("urn", "")
        return {key: _plain(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if value == _UNKNOWN:
        return COMPUTED
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire has only doubles
    return value


def _struct(message: struct_pb2.Struct) -> dict[str, Any]:
    result: dict[str, Any] = _plain(json_format.MessageToDict(message))
    return result


def _physical_name(state: struct_pb2.Struct) -> str:
    """The state's `name`, without converting the whole state (the plan keeps only this of it)."""
    if "name" not in state.fields:
        return ""
    return str(_plain(json_format.MessageToDict(state.fields["name"])))


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    id: str
    physical_name: str
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    options: dict[str, Any]
    aliases: tuple[str, ...]
    # dotted input paths (`identity.principalId`, `tags.x`, `list[0]`) whose value is computed by the
    # provider of another resource: shown as unknown, as a real preview shows them
    computed: tuple[str, ...] = ()


@dataclass
class Plan:
    stack: str
    project: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str] = field(default_factory=frozenset)
    # the placeholders the mocks invented for provider-computed values (see UNKNOWN)
    computed_values: frozenset[str] = field(default_factory=frozenset)
    # each component's register_outputs, by URN (the engine keeps them in the stack's state)
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type == type_]

    def get(self, type_: str, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.type == type_ and r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources of type {type_} named {name}")
        return matches[0]


def _alias_text(alias: Any) -> str:
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    parts = [f"type={spec.type}" if spec.type else "", f"name={spec.name}" if spec.name else ""]
    if spec.noParent:
        parts.append("noParent")
    elif spec.parentUrn:
        parts.append(f"parent={spec.parentUrn}")
    return " ".join(part for part in parts if part)


def _invented(inputs: Any, state: Any) -> list[str]:
    """The string leaves of `state` that its `inputs` did not give: what the provider computed."""
    if isinstance(state, dict):
        given = inputs if isinstance(inputs, dict) else {}
        return [leaf for key, value in state.items() for leaf in _invented(given.get(key), value)]
    if isinstance(state, list):
        given_list = inputs if isinstance(inputs, list) else []
        return [
            leaf
            for index, value in enumerate(state)
            for leaf in _invented(given_list[index] if index < len(given_list) else None, value)
        ]
    return [state] if isinstance(state, str) and state != inputs else []


def _paths_of(value: Any, wanted: frozenset[str] | set[str], prefix: str = "") -> list[str]:
    """Property paths (infra/plan/paths.py) of the string leaves of `value` that are in `wanted`."""
    if isinstance(value, dict):
        return [
            path for key, item in value.items() for path in _paths_of(item, wanted, join(prefix, str(key)))
        ]
    if isinstance(value, list):
        return [
            path for index, item in enumerate(value) for path in _paths_of(item, wanted, join(prefix, index))
        ]
    return [prefix] if isinstance(value, str) and value in wanted else []


def _options(request: Any) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.protect:
        options["protect"] = True
    if request.deleteBeforeReplace:
        options["delete_before_replace"] = True
    if request.HasField("retainOnDelete") and request.retainOnDelete:
        options["retain_on_delete"] = True
    for key, values in (
        ("ignore_changes", request.ignoreChanges),
        ("replace_on_changes", request.replaceOnChanges),
        ("additional_secret_outputs", request.additionalSecretOutputs),
    ):
        if values:
            options[key] = sorted(values)
    if request.importId:
        options["import"] = request.importId
    if request.deletedWith:
        options["deleted_with"] = request.deletedWith
    if request.version:
        options["version"] = request.version
    return options


# the client config answers an invoke, whose values a real preview knows too (tenant, subscription)
_KNOWN_AT_PLAN_TIME = frozenset(FAKE_CLIENT.values())


class RecordingMonitor(mocks.MockMonitor):
    """A MockMonitor that keeps what each RegisterResource request asked for (the public Mocks
    API does not see parents, dependencies or options: pulumi/pulumi#14421)."""

    def __init__(self, mock: mocks.Mocks) -> None:
        super().__init__(mock)
        self.recorded: dict[str, RecordedResource] = {}
        # what each component registered as its outputs (register_outputs), by URN
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.computed_values: set[str] = set()
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them (pkg/resource/urn.go NewURN): the parent's whole
        qualified type chain, and no prefix below the root stack. MockMonitor keeps only the
        parent's last type, which would make plan URNs differ from those `pulumi up` records."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        inputs = _struct(request.object)
        # only the state fields that differ from the request are converted (a whole state per
        # resource is a measurable share of a 300-project plan)
        given = request.object.fields
        invented = {
            leaf
            for key, value in response.object.fields.items()
            if key not in ("id", "name") and (key not in given or given[key] != value)
            for leaf in _invented(inputs.get(key), json_format.MessageToDict(value))
        }
        invented -= _KNOWN_AT_PLAN_TIME
        with self._lock:
            computed = tuple(_paths_of(inputs, self.computed_values))
            self.computed_values.update(invented)
        record = RecordedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            inputs=inputs,
            id=response.id,
            physical_name=_physical_name(response.object),
            dependencies=tuple(sorted(set(request.dependencies))),
            property_dependencies={
                key: tuple(sorted(set(deps.urns)))
                for key, deps in sorted(request.propertyDependencies.items())
                if deps.urns
            },
            options=_options(request),
            aliases=tuple(sorted(_alias_text(alias) for alias in request.aliases)),
            computed=computed,
        )
        with self._lock:
            if urn in self.recorded:
                raise RuntimeError(f"duplicate resource URN {urn}")
            self.recorded[urn] = record
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        with self._lock:
            if request.urn in self.recorded:  # a component; the root stack's outputs are read apart
                self.component_outputs[request.urn] = _struct(request.outputs)
        return super().RegisterResourceOutputs(request)


class PlanMocks(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        return fake_state(args.typ, args.name, args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:authorization:getClientConfig":
            return dict(FAKE_CLIENT), []
        raise NotImplementedError(f"the offline plan has no fake for invoke {args.token}")


def _leaves(value: Any) -> list[pulumi.Output[Any]]:
    if isinstance(value, pulumi.Output):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return []


def _rebuilt(value: Any, resolved: dict[int, Any]) -> Any:
    if isinstance(value, pulumi.Output):
        return resolved[id(value)]
    if isinstance(value, dict):
        return {key: _rebuilt(item, resolved) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rebuilt(item, resolved) for item in value]
    return value


def _resolve_outputs(exported: dict[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Stack outputs as plain values, each secret leaf masked. Every Output is awaited once, all
    together: wrapping the nested outputs in `Output.from_input` instead chains an `Output.all` per
    level, which cost a sixth of a 100-project plan."""
    leaves = [leaf for value in exported.values() for leaf in _leaves(value)]

    async def gather() -> list[tuple[Any, bool]]:
        values = await asyncio.gather(*(leaf.future() for leaf in leaves))
        secrets = await asyncio.gather(*(leaf.is_secret() for leaf in leaves))
        return list(zip(values, secrets, strict=True))

    resolved: dict[int, Any] = {}
    secret_leaves: set[int] = set()
    for leaf, (value, secret) in zip(leaves, _sync_await(gather()), strict=True):
        resolved[id(leaf)] = SECRET if secret else value
        if secret:
            secret_leaves.add(id(leaf))
    outputs = {key: _rebuilt(value, resolved) for key, value in sorted(exported.items())}
    secrets = frozenset(
        key for key, value in exported.items() if any(id(x) in secret_leaves for x in _leaves(value))
    )
    return outputs, secrets


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def _configure_runtime(monitor: RecordingMonitor, *, project: str, stack: str, preview: bool) -> None:
    """What `pulumi.runtime.set_mocks` does, minus the root stack it creates and finishes at once:
    the program's stack is created by `run_in_stack`, as under the language host, so that an
    entrypoint registered with `pulumi.run` runs too."""
    settings.configure(
        mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures),
            engine=mocks.MockEngine(None),
            project=project,
            stack=stack,
            dry_run=preview,
            organization=None,
            callbacks=None,
        )
    )


def run_program(
    program: Callable[[], None],
    *,
    stack: str,
    project: str,
    config: Mapping[str, str],
    secret_keys: frozenset[str] = frozenset(),
    monitor: RecordingMonitor | None = None,
    source_positions: bool = False,
    preview: bool = True,
) -> Plan:
    """Run `program` against a fresh mock runtime and return everything it registered. Pass a
    `monitor` to inspect what was registered even when the program fails.

    The program runs as `pulumi preview` runs it (`preview=False`: as the update of `pulumi up`):
    inside `run_in_stack`, the SDK entry point the Python language host calls, so the root stack,
    an async entrypoint registered with `pulumi.run`, and the wait for outstanding work are the
    engine's.

    The SDK captures the Python stack (`traceback.extract_stack`, a `stat` and a path-to-URI per
    frame) for every resource so that a real engine can point at the line that created it; the
    plan records no source positions, so unless `source_positions` is set the capture is skipped
    while the program runs (a third of the program's time at hundreds of projects)."""
    monitor = monitor or RecordingMonitor(PlanMocks())
    capture = sdk_resource._get_stack_trace
    if not source_positions:
        sdk_resource._get_stack_trace = _no_stack_trace
    settings.ROOT.set(None)
    _configure_runtime(monitor, project=project, stack=stack, preview=preview)
    pulumi.runtime.set_all_config(dict(config), sorted(secret_keys))
    stacks: list[Any] = []

    def in_stack() -> None:
        stacks.append(settings.get_root_resource())  # set in the event loop's context, not ours
        program()

    try:
        _sync_await(sdk_stack.run_in_stack(in_stack))
        outputs, secrets = _resolve_outputs(dict(stacks[0].outputs))
    finally:
        sdk_resource._get_stack_trace = capture
        settings.ROOT.set(None)
        pulumi.runtime.set_all_config({}, [])
    resources = sorted(monitor.recorded.values(), key=lambda resource: resource.urn)
    return Plan(
        stack,
        project,
        resources,
        outputs,
        secrets,
        frozenset(monitor.computed_values),
        component_outputs=dict(sorted(monitor.component_outputs.items())),
    )


def run_main(
    root: Path,
    *,
    stack: str,
    project: str,
    config: Mapping[str, str],
    secret_keys: frozenset[str],
    monitor: RecordingMonitor | None = None,
) -> Plan:
    """Run the repository's `__main__.py`, exactly the program `pulumi up` runs."""
    main = root / "__main__.py"

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    return run_program(
        program,
        stack=stack,
        project=project,
        config=config,
        secret_keys=secret_keys,
        monitor=monitor,
    )
