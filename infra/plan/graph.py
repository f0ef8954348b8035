"""The resource graph of a plan as DOT, the way `pulumi stack graph` writes a stack's
(pulumi/pulumi `pkg/cmd/pulumi/stack/stack_graph.go` and `pkg/graph/dotconv`): a `strict digraph`,
one `ResourceN` node per resource labelled with its URN, dependency edges from the resource
depended on to the dependent in #246C60 labelled with the properties that carry the dependency,
parent edges from child to parent in #AA6639.

Beyond Pulumi's: resources are grouped in one cluster per top-level component (a project, the
shared services, ...), and protected resources are drawn bold with "protected" in their label.
"""

from __future__ import annotations

import shutil
import subprocess

from infra.plan.runtime import Plan

DEPENDENCY_COLOR = "#246C60"
PARENT_COLOR = "#AA6639"


def _quote(text: str) -> str:
    """A DOT string: backslashes and quotes escaped, newlines as DOT's line break."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(plan: Plan, short_names: bool = False) -> str:
    """`short_names`: label nodes with type and name instead of the URN (`--short-node-name`)."""
    resources = sorted(plan.resources, key=lambda r: r.urn)
    ids = {resource.urn: f"Resource{index}" for index, resource in enumerate(resources)}
    by_urn = {resource.urn: resource for resource in resources}

    def top(urn: str) -> str:
        while by_urn[urn].parent in by_urn:
            urn = by_urn[urn].parent
        return urn

    clusters: dict[str, list[str]] = {}
    for resource in resources:
        clusters.setdefault(top(resource.urn), []).append(resource.urn)
    lines = ["strict digraph {", "    rankdir = LR;", "    node [shape = box, fontsize = 10];"]
    for index, (root, members) in enumerate(sorted(clusters.items())):
        root_resource = by_urn[root]
        lines.append(f"    subgraph cluster_{index} {{")
        lines.append(
            f"        label = {_quote(root_resource.type.rsplit(':', 1)[-1] + ' ' + root_resource.name)};"
        )
        for urn in members:
            resource = by_urn[urn]
            label = f"{resource.type.rsplit(':', 1)[-1]}\n{resource.name}" if short_names else urn
            label += " (protected)" if resource.options.get("protect") else ""
            attributes = [f"label = {_quote(label)}"]
            if resource.options.get("protect"):
                attributes += ["style = bold", 'color = "#B22222"']
            lines.append(f"        {ids[urn]} [{', '.join(attributes)}];")
        lines.append("    }")
    for resource in resources:
        blame: dict[str, list[str]] = {}
        for key, dependencies in sorted(resource.property_dependencies.items()):
            for dependency in dependencies:
                blame.setdefault(dependency, []).append(key)
        for dependency in resource.dependencies:
            if dependency not in ids:
                continue
            label = f", label = {_quote(', '.join(blame[dependency]))}" if dependency in blame else ""
            lines.append(
                f"    {ids[dependency]} -> {ids[resource.urn]} [color = {_quote(DEPENDENCY_COLOR)}{label}];"
            )
        if resource.parent in ids:
            lines.append(
                f"    {ids[resource.urn]} -> {ids[resource.parent]} [color = {_quote(PARENT_COLOR)}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizMissingError(Exception):
    pass


def to_svg(dot: str) -> bytes:
    """SVG from Graphviz's `dot` (a system package: `make graph` installs it)."""
    binary = shutil.which("dot")
    if binary is None:
        raise GraphvizMissingError(
            "Graphviz's `dot` is not installed: `make graph` installs it (apt-get install graphviz), "
            "or write DOT only (--output)"
        )
    run = subprocess.run([binary, "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    if run.returncode != 0:
        raise GraphvizMissingError(f"dot -Tsvg failed: {run.stderr.decode(errors='replace').strip()}")
    return run.stdout
