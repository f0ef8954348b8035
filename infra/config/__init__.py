"""Configuration: typed models, loading and validation of stack and project files."""

from infra.config.errors import ConfigError, ConfigIssue
from infra.config.loader import Layout, Platform, build_platform, load_platform, validate_all
from infra.config.models import ClusterConfig, EnvironmentConfig, Principal, ProjectSettings

__all__ = [
    "ClusterConfig",
    "ConfigError",
    "ConfigIssue",
    "EnvironmentConfig",
    "Layout",
    "Platform",
    "Principal",
    "ProjectSettings",
    "build_platform",
    "load_platform",
    "validate_all",
]
