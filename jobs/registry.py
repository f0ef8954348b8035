"""Registry-backed checks: run when the `azureml` registry can be read, skipped with a note otherwise."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobs.checks import Placement, check_against_registry
from jobs.errors import JobsError
from jobs.recipes import CustomRecipe, LoadedRecipe, Problem, ServerlessRecipe, raise_problems
from jobs.serverless import unchecked_note

RegistryConnector = Callable[[str], Any]  # registry name -> MLClient scoped to that registry


class MissingFromRegistry(Exception):
    """The registry answered 404 for an asset the recipe names in `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SdkRegistryFacts:
    def __init__(self, connect: RegistryConnector) -> None:
        self._connect = connect

    def model_tags(self, name: str, version: str, registry: str = "azureml") -> Mapping[str, str]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return dict(self._connect(registry).models.get(name=name, version=version).tags or {})
        except ResourceNotFoundError as error:
            message = f"{name} {version} not in registry {registry}: {_brief(error)}"
            raise MissingFromRegistry("model", message) from error

    def component_inputs(self, name: str, version: str) -> Mapping[str, str]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            inputs = self._connect("azureml").components.get(name=name, version=version).inputs
            return {key: str(getattr(spec, "type", "")) for key, spec in inputs.items()}
        except ResourceNotFoundError as error:
            message = f"{name} {version} not in registry azureml: {_brief(error)}"
            raise MissingFromRegistry("component.version", message) from error


def check_registry(loaded: LoadedRecipe, placement: Placement, connect: RegistryConnector) -> list[str]:
    """Run the registry checks; return notes for checks that could not run."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    recipe = loaded.recipe
    if isinstance(recipe, CustomRecipe):
        return []
    facts = SdkRegistryFacts(connect)
    try:
        if isinstance(recipe, ServerlessRecipe):
            # The catalog model must exist in its registry (e.g. azureml-meta) at that version.
            facts.model_tags(recipe.model.name, recipe.model.version, recipe.model.registry)
            note = unchecked_note(recipe.model.name)
            return [note] if note else []
        check_against_registry(loaded, placement, facts)
    except MissingFromRegistry as error:
        raise_problems(loaded.source, [Problem(error.field, f"not found in the registry: {error}")])
        raise JobsError(str(error)) from error  # unreachable: raise_problems raised
    except (ClientAuthenticationError, HttpResponseError, ServiceRequestError) as error:
        skipped = (
            "model not checked"
            if isinstance(recipe, ServerlessRecipe)
            else "compute allow-list and component inputs not checked"
        )
        return [f"registry not readable ({_brief(error)}): {skipped}"]
    return []


def dry_run_note(loaded: LoadedRecipe) -> str:
    """What a dry run leaves unchecked: it reads neither the registries nor the workspace."""
    recipe = loaded.recipe
    if not isinstance(recipe, ServerlessRecipe):
        return "dry run: the registry was not read; compute allow-list and component inputs not checked"
    from jobs.maas import needs_subscription

    if needs_subscription(recipe.model.registry):
        return (
            "dry run: the registry and the workspace were not read; model and the workspace's marketplace "
            "subscription not checked"
        )
    return "dry run: the registry was not read; model not checked"


def _brief(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
