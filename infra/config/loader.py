"""Reading and validating every configuration file, reporting all problems at once.

The same functions serve a real `pulumi up` (environment config arrives from the engine), the
offline plan and `python -m infra validate` (both read the stack files themselves, the way the
Pulumi CLI does), so the three can never disagree about what is valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from infra import naming
from infra.config.errors import (
    ConfigError,
    ConfigIssue,
    dotted,
    issue_from_error,
    issues_from_validation,
    user_location,
)
from infra.config.models import (
    ENVIRONMENT_FIELD,
    ENVIRONMENT_KEY,
    NAMESPACE,
    OVERRIDABLE,
    EnvironmentConfig,
    ProjectSettings,
)
from infra.config.yaml_source import YamlDocument, read_yaml

if TYPE_CHECKING:
    from infra.policy import Onboarded

__all__ = ["ENVIRONMENT_FIELD", "ENVIRONMENT_KEY", "NAMESPACE"]
STACK_FILE_PREFIX = "Pulumi."
SECRET_PLACEHOLDER = "[secret]"


@dataclass(frozen=True)
class Layout:
    """Where configuration lives, relative to the repository root."""

    root: Path

    @property
    def stacks_dir(self) -> Path:
        return self.root / "stacks"

    @property
    def projects_dir(self) -> Path:
        return self.stacks_dir / "projects"

    def stack_file(self, stack: str) -> Path:
        return self.stacks_dir / f"{STACK_FILE_PREFIX}{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(
            path.name[len(STACK_FILE_PREFIX) : -len(".yaml")]
            for path in self.stacks_dir.glob(f"{STACK_FILE_PREFIX}*.yaml")
        )

    def project_files(self) -> list[Path]:
        return sorted([*self.projects_dir.glob("*.yaml"), *self.projects_dir.glob("*.yml")])

    def misplaced_project_files(self) -> list[Path]:
        """YAML files in subfolders of stacks/projects/, which the platform would never read."""
        return sorted(
            path for pattern in ("*/**/*.yaml", "*/**/*.yml") for path in self.projects_dir.glob(pattern)
        )

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class StackConfig:
    """A stack file's config as the Pulumi CLI hands it to a program: flat keys, JSON for objects."""

    values: dict[str, str]
    secret_keys: frozenset[str]
    document: YamlDocument | None = None  # the file as read, for the lines of problems


@dataclass(frozen=True)
class Platform:
    """Everything one stack builds, validated."""

    stack: str
    environment: EnvironmentConfig
    environment_file: str
    projects: tuple[ProjectSettings, ...]
    project_files: Mapping[str, str] = field(default_factory=dict)
    # Each project's `environments.<stack>` override: where a field the user edits lives.
    project_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def source(self, settings: ProjectSettings) -> Onboarded:
        """Where one of this platform's projects came from, for messages that name its file."""
        from infra.policy import Onboarded

        name = settings.name
        return Onboarded(
            settings, self.project_files.get(name, ""), self.stack, self.project_overrides.get(name, {})
        )


# --- reading files ----------------------------------------------------------------------------


class _Lines:
    """The line of every key path of every file read, to complete issues found after reading."""

    def __init__(self) -> None:
        self.documents: dict[str, YamlDocument] = {}

    def add(self, file: str, document: YamlDocument | None) -> None:
        if document is not None:
            self.documents[file] = document

    def complete(self, issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
        done = []
        for issue in issues:
            document = self.documents.get(issue.file)
            done.append(issue.at_line(document.line_of(issue.path)) if document else issue)
        return done


def _contains_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return ("secure" in value and len(value) == 1) or any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _without_secure(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER
        return {k: _without_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secure(v) for v in value]
    return value


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    # YAML dates (budgets.start_date) become ISO strings, as the Pulumi CLI passes them.
    return json.dumps(value, separators=(",", ":"), default=str)


def read_stack_config(layout: Layout, stack: str) -> StackConfig:
    """Read stacks/Pulumi.<stack>.yaml the way the CLI does. Encrypted values cannot be decrypted
    without the stack's secrets provider, so they become a placeholder that stays marked secret."""
    path = layout.stack_file(stack)
    relative = layout.relative(path)
    parsed, issues = read_yaml(path, relative)
    if issues or parsed is None:
        raise ConfigError(issues)
    document = parsed.data
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError(
            [ConfigIssue(relative, "config", "expected a mapping of config keys", parsed.line_of("config"))]
        )
    values: dict[str, str] = {}
    secret_keys = set()
    for key, value in (document.get("config") or {}).items():
        # The CLI (since 3.44) puts a key without a namespace in the project's: `environment:`
        # is `mlplatform:environment` (pulumi/pulumi sdk/go/common/workspace/loaders.go,
        # stackConfigNamespacedWithProject).
        key = str(key) if ":" in str(key) else f"{NAMESPACE}:{key}"
        if _contains_secure(value):
            secret_keys.add(key)
        values[key] = _as_config_string(_without_secure(value))
    return StackConfig(values, frozenset(secret_keys), parsed)


# --- environment ------------------------------------------------------------------------------


def parse_environment(raw: str | None, *, is_secret: bool, file: str) -> EnvironmentConfig:
    path_prefix = ("config", ENVIRONMENT_KEY)
    if raw is None:
        raise ConfigError([ConfigIssue(file, dotted(path_prefix), "required config key is missing")])
    if is_secret:
        raise ConfigError(
            [
                ConfigIssue(
                    file,
                    dotted(path_prefix),
                    "holds a secret value: keep secrets in their own top-level keys "
                    f"(`pulumi config set --secret {NAMESPACE}:<name> …`) so that they stay secret",
                )
            ]
        )
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError([ConfigIssue(file, dotted(path_prefix), "expected a mapping, got text")]) from None
    if not isinstance(document, dict):
        raise ConfigError([ConfigIssue(file, dotted(path_prefix), "expected a mapping")])
    try:
        return EnvironmentConfig.model_validate(document)
    except ValidationError as error:
        raise ConfigError(issues_from_validation(error, file, document, path_prefix)) from None


def load_environment_file(layout: Layout, stack: str) -> EnvironmentConfig:
    config = read_stack_config(layout, stack)
    return parse_environment(
        config.values.get(ENVIRONMENT_KEY),
        is_secret=ENVIRONMENT_KEY in config.secret_keys,
        file=layout.relative(layout.stack_file(stack)),
    )


# --- projects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFile:
    file: str
    base: dict[str, Any]
    overrides: dict[str, dict[str, Any]]

    @property
    def name(self) -> str:
        return str(self.base.get("name", ""))


def _read_project_file(
    layout: Layout, path: Path, stacks: list[str], lines: _Lines | None = None
) -> tuple[ProjectFile | None, list[ConfigIssue]]:
    file = layout.relative(path)
    parsed, issues = read_yaml(path, file)
    if issues or parsed is None:
        return None, issues or [ConfigIssue(file, "", "is empty; expected a mapping of project settings")]
    if lines is not None:
        lines.add(file, parsed)
    document = parsed.data
    if not isinstance(document, dict):
        return None, [ConfigIssue(file, "", "expected a mapping of project settings")]
    name = document.get("name")
    stem = path.name.rsplit(".", 1)[0]
    if isinstance(name, str) and name != stem:
        issues.append(
            ConfigIssue(
                file,
                "name",
                f"is {name!r} but the file is {path.name}: name the file after the project ({name}.yaml), "
                "so that one project has one file",
            )
        )
    environments = document.pop("environments", None)
    if not isinstance(environments, dict) or not environments:
        return None, [
            ConfigIssue(
                file,
                "environments",
                f"list the environments the project is in, as a mapping (known: {', '.join(stacks)})",
            )
        ]
    overrides: dict[str, dict[str, Any]] = {}
    for env, override in environments.items():
        if env not in stacks:
            issues.append(
                ConfigIssue(
                    file,
                    f"environments.{env}",
                    f"no such environment (no stacks/Pulumi.{env}.yaml); known: {', '.join(stacks)}",
                )
            )
            continue
        if override is None:
            override = {}
        if not isinstance(override, dict):
            issues.append(
                ConfigIssue(file, f"environments.{env}", "expected a mapping of overrides or nothing")
            )
            continue
        for key in sorted(set(override) - set(OVERRIDABLE)):
            issues.append(
                ConfigIssue(
                    file,
                    f"environments.{env}.{key}",
                    f"cannot be overridden per environment; overridable: {', '.join(OVERRIDABLE)}",
                )
            )
        overrides[str(env)] = override
    return ProjectFile(file, document, overrides), issues


def _merge(base: Any, override: Any) -> Any:
    """Deep merge; `null` in an override removes the key (e.g. a cluster not wanted in prod)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(base.get(key), value)
        return merged
    return override


def _in_override(override: dict[str, Any], location: tuple[int | str, ...]) -> bool:
    node: Any = override
    for part in location:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _settings_for(project: ProjectFile, env: str) -> tuple[ProjectSettings | None, list[ConfigIssue]]:
    override = project.overrides[env]
    merged = _merge(project.base, override)
    try:
        return ProjectSettings.model_validate(merged), []
    except ValidationError as error:
        issues = []
        for item in error.errors():
            # Where the user wrote the value: in the override when it has the path, else at the top.
            parts = tuple(user_location(item["loc"], merged))
            in_override = bool(parts) and _in_override(override, parts)
            prefix = ("environments", env) if in_override else ()
            issues.append(issue_from_error(item, project.file, merged, prefix))
        return None, issues


def _name_issues(
    env_name: str, environment: EnvironmentConfig, projects: list[tuple[ProjectFile, ProjectSettings]]
) -> list[ConfigIssue]:
    issues = []
    taken: dict[tuple[str, str], str] = {}
    for project, settings in projects:
        try:
            names = environment.names.project(settings.name).all()
        except naming.NamingError as error:
            issues.append(ConfigIssue(project.file, "name", f"in environment {env_name}: {error}"))
            continue
        for kind, name in names.items():
            other = taken.setdefault((kind, name.lower()), project.file)
            if other != project.file:
                for file in (project.file, other):
                    issues.append(
                        ConfigIssue(
                            file,
                            "name",
                            f"in environment {env_name}: {kind} name {name!r} is derived for both "
                            f"{other} and {project.file}; rename one project",
                        )
                    )
    return issues


def _duplicate_names(files: list[ProjectFile]) -> list[ConfigIssue]:
    by_name: dict[str, list[str]] = {}
    for project in files:
        if project.name:
            by_name.setdefault(project.name, []).append(project.file)
    return [
        ConfigIssue(file, "name", f"project name {name!r} is used by {' and '.join(owners)}")
        for name, owners in by_name.items()
        if len(owners) > 1
        for file in owners
    ]


def read_projects(
    layout: Layout, stacks: list[str], lines: _Lines | None = None
) -> tuple[list[ProjectFile], list[ConfigIssue]]:
    files, issues = [], []
    for path in layout.project_files():
        project, problems = _read_project_file(layout, path, stacks, lines)
        issues += problems
        if project is not None:
            files.append(project)
    issues += [
        ConfigIssue(
            layout.relative(path),
            "",
            f"project files live directly in {layout.relative(layout.projects_dir)}/; this one is in a "
            "subfolder and would never be read: move it up",
        )
        for path in layout.misplaced_project_files()
    ]
    return files, issues + _duplicate_names(files)


def resolve_projects(
    env_name: str, environment: EnvironmentConfig | None, files: Iterable[ProjectFile]
) -> tuple[list[tuple[ProjectFile, ProjectSettings]], list[ConfigIssue]]:
    """Each project of the environment with its overrides applied. Without a valid environment the
    projects are still checked, all but the names that environment would derive."""
    resolved, issues = [], []
    for project in files:
        if env_name not in project.overrides:
            continue
        settings, problems = _settings_for(project, env_name)
        issues += problems
        if settings is not None:
            resolved.append((project, settings))
    if environment is not None:
        issues += _name_issues(env_name, environment, resolved)
    return resolved, issues


def _environment_issues(
    stack: str,
    file: str,
    environment: EnvironmentConfig,
    resolved: list[tuple[ProjectFile, ProjectSettings]],
    as_of: date,
) -> list[ConfigIssue]:
    """Rules across the environment and all its projects, checked on the platform model they
    resolve to (infra/policy/checks.py). Ids in the model do not depend on the subscription or
    the tenant for these rules, so any subscription and tenant id serve."""
    from infra.model import resolve
    from infra.policy.checks import model_issues

    try:
        platform = _platform(stack, file, environment, resolved)
        return model_issues(resolve(platform, subscription=ANY_SUBSCRIPTION, tenant=ANY_TENANT, as_of=as_of))
    except naming.NamingError:
        return []  # a name that cannot be derived is reported by the name checks already


ANY_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
ANY_TENANT = "00000000-0000-0000-0000-000000000000"


def _today(as_of: date | None) -> date:
    """The date given, else the one the program assumes (infra/model/budget.py)."""
    from infra.model.budget import as_of_date

    return as_of if as_of is not None else as_of_date()


def _platform(
    stack: str, file: str, environment: EnvironmentConfig, resolved: list[tuple[ProjectFile, ProjectSettings]]
) -> Platform:
    ordered = sorted(resolved, key=lambda pair: pair[1].name)
    return Platform(
        stack=stack,
        environment=environment,
        environment_file=file,
        projects=tuple(settings for _, settings in ordered),
        project_files={settings.name: project.file for project, settings in ordered},
        project_overrides={settings.name: project.overrides.get(stack, {}) for project, settings in ordered},
    )


def _other_environments(layout: Layout, stack: str) -> Iterator[tuple[str, EnvironmentConfig]]:
    """Every other stack of the repository whose file is valid, for rules across stacks."""
    for other in layout.stacks():
        if other == stack:
            continue
        try:
            yield other, load_environment_file(layout, other)
        except ConfigError:
            continue  # that stack's own problems are reported when it is planned or validated


def _same_names(layout: Layout, stack: str, environment: EnvironmentConfig) -> list[ConfigIssue]:
    """Another stack file with the same prefix and short name would plan (and deploy over) the same
    resources: typically a stack file copied under a new name and not edited."""
    issues = []
    for other, theirs in _other_environments(layout, stack):
        if theirs.names.stem == environment.names.stem:
            issues.append(
                ConfigIssue(
                    layout.relative(layout.stack_file(stack)),
                    f"{ENVIRONMENT_FIELD}.short_name",
                    f"prefix and short_name {environment.names.stem!r} are also those of "
                    f"{layout.relative(layout.stack_file(other))}: both stacks would derive the same resource "
                    "names and manage the same resources; give this environment its own short_name",
                )
            )
    return issues


def _registry_owner_regions(layout: Layout, stack: str, environment: EnvironmentConfig) -> list[ConfigIssue]:
    """`registry.existing_regions` repeats what the stack that creates the registry declares: when
    that stack is in this repository, the two must agree, so that they cannot drift apart."""
    registry = environment.registry
    if registry.existing_id is None or registry.existing_regions is None:
        return []
    name = registry.existing_id.rsplit("/", 1)[-1].lower()
    issues = []
    for other, theirs in _other_environments(layout, stack):
        regions = theirs.registry_regions
        if theirs.registry.create is None or regions is None or theirs.names.ml_registry.lower() != name:
            continue
        if sorted(regions) != sorted(registry.existing_regions):
            other_file = layout.relative(layout.stack_file(other))
            issues.append(
                ConfigIssue(
                    layout.relative(layout.stack_file(stack)),
                    f"{ENVIRONMENT_FIELD}.registry.existing_regions",
                    f"lists {', '.join(registry.existing_regions)}, but {other_file} creates the registry "
                    f"{theirs.names.ml_registry} in {', '.join(regions)} (its location and "
                    "registry.create.replication_regions): record the same regions",
                )
            )
    return issues


def build_platform(
    layout: Layout,
    stack: str,
    environment: Callable[[], EnvironmentConfig],
    *,
    as_of: date | None = None,
    stack_document: YamlDocument | None = None,
) -> Platform:
    """Resolve every project of the stack against its environment; raise every problem at once,
    those of the environment and of every project file together, with their lines."""
    stacks = layout.stacks()
    env_file = layout.relative(layout.stack_file(stack))
    lines = _Lines()
    lines.add(env_file, stack_document)
    issues: list[ConfigIssue] = []
    env: EnvironmentConfig | None = None
    try:
        env = environment()
    except ConfigError as error:
        issues += error.issues
    files, problems = read_projects(layout, stacks if stack in stacks else [*stacks, stack], lines)
    issues += problems
    resolved, problems = resolve_projects(stack, env, files)
    issues += problems
    if env is not None:
        issues += _same_names(layout, stack, env)
        issues += _registry_owner_regions(layout, stack, env)
        issues += _environment_issues(stack, env_file, env, resolved, _today(as_of))
    if issues or env is None:
        raise ConfigError(lines.complete(issues))
    return _platform(stack, env_file, env, resolved)


def stack_document(layout: Layout, stack: str) -> YamlDocument | None:
    """The stack file as read, for the lines of problems in it (None if it cannot be read)."""
    document, _ = read_yaml(layout.stack_file(stack), layout.relative(layout.stack_file(stack)))
    return document


def load_platform(layout: Layout, stack: str, *, as_of: date | None = None) -> Platform:
    """The offline entry point: read the stack file like the CLI does, then the projects."""
    return build_platform(
        layout,
        stack,
        lambda: load_environment_file(layout, stack),
        as_of=as_of,
        stack_document=stack_document(layout, stack),
    )


def validate_all(layout: Layout, *, as_of: date | None = None) -> list[ConfigIssue]:
    """Every problem in every stack file and project file, for `python -m infra validate`."""
    stacks = layout.stacks()
    issues: list[ConfigIssue] = []
    if not stacks:
        return [ConfigIssue(layout.relative(layout.stacks_dir), "", "no stack files (Pulumi.<env>.yaml)")]
    lines = _Lines()
    files, problems = read_projects(layout, stacks, lines)
    issues += problems
    for stack in stacks:
        env_file = layout.relative(layout.stack_file(stack))
        lines.add(env_file, stack_document(layout, stack))
        environment: EnvironmentConfig | None = None
        try:
            environment = load_environment_file(layout, stack)
        except ConfigError as error:
            issues += error.issues
        resolved, problems = resolve_projects(stack, environment, files)
        issues += problems
        if environment is None:
            continue
        issues += _same_names(layout, stack, environment)
        issues += _registry_owner_regions(layout, stack, environment)
        issues += _environment_issues(stack, env_file, environment, resolved, _today(as_of))
    return sorted(set(lines.complete(issues)))
