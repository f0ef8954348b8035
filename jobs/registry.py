"""Registry-backed checks: run when the `azureml` registry can be read, skipped with a note otherwise."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobs.checks import Placement, check_against_registry
from jobs.errors import JobsError
from jobs.recipes import CatalogRecipe, LoadedRecipe, Problem, raise_problems

RegistryConnector = Callable[[str], Any]  # registry name -> MLClient scoped to that registry


class SdkRegistryFacts:
    def __init__(self, connect: RegistryConnector) -> None:
        self._connect = connect

    def model_tags(self, name: str, version: str, registry: str = "azureml") -> Mapping[str, str]:
        return dict(self._connect(registry).models.get(name=name, version=version).tags or {})

    def component_inputs(self, name: str, version: str) -> set[str]:
        return set(self._connect("azureml").components.get(name=name, version=version).inputs)


def check_registry(loaded: LoadedRecipe, placement: Placement, connect: RegistryConnector) -> list[str]:
    """Run the registry checks; return notes for checks that could not run."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    recipe = loaded.recipe
    if not isinstance(recipe, CatalogRecipe):
        return []
    try:
        check_against_registry(loaded, placement, SdkRegistryFacts(connect))
    except ResourceNotFoundError as error:
        raise_problems(loaded.source, [Problem("model", f"not found in the registry: {_brief(error)}")])
        raise JobsError(str(error)) from error  # unreachable: raise_problems raised
    except (ClientAuthenticationError, HttpResponseError, ServiceRequestError) as error:
        return [
            f"registry not readable ({_brief(error)}): compute allow-list and component inputs not checked"
        ]
    return []


def _brief(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
