"""Evaluating one Azure Policy rule on one planned resource, as Azure does at deployment.

Semantics follow "Azure Policy definition structure: policy rule"
(learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule):
string comparisons ignore case; a field that is not there fails `equals`, `in`, `like`, `match`,
`contains` and passes their negations; an alias with `[*]` outside `count` holds when every element
holds; `count` counts the elements of an array alias that satisfy `where`. Booleans compare as
the strings `true`/`false` (built-ins write `"equals": "false"`).

What this evaluator does not know (an unsupported operator or template function, a value the
plan does not know yet) raises NotEvaluated: the definition is reported as not evaluated for that
resource, never as passed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.azure_policy.aliases import ARM_TYPES, NAME_INPUTS, TOP_LEVEL_FIELDS, lookup
from infra.guardrails.core import PlannedResource, get, is_unknown


class NotEvaluated(Exception):
    """The rule cannot be decided offline for this resource; the message says why."""


class UnknownAlias(NotEvaluated):
    def __init__(self, alias: str) -> None:
        super().__init__(
            f"unknown alias {alias!r}: not in infra/azure_policy/aliases.py (add it with the property "
            "path it names, from `az provider show --expand resourceTypes/aliases`)"
        )
        self.alias = alias


_MISSING = object()


@dataclass(frozen=True)
class Scope:
    """What a condition evaluates against: the resource, the parameters, and within `count`, the
    current array element of the counted alias."""

    resource: PlannedResource
    parameters: Mapping[str, Any]
    element_alias: str = ""  # the counted alias (ends in `[*]`), lower case
    element_input: str = ""  # its input path
    element: Any = _MISSING


# --- values ---------------------------------------------------------------------------------------

_TAG = re.compile(r"^tags(?:\['(?P<a>[^']+)'\]|\.(?P<b>.+)|\[(?P<c>[^\]]+)\])$", re.IGNORECASE)


def _walk(node: Any, parts: Sequence[str]) -> Any:
    """Values at `parts` of `node`; a `[*]` part makes a list of every element's value. An unknown
    value on the way cannot be looked into: NotEvaluated, never "missing"."""
    for index, part in enumerate(parts):
        if is_unknown(node):
            raise NotEvaluated(f"a value is not known before deployment ({node})")
        if part.endswith("[*]"):
            key = part[:-3]
            items = node.get(key, _MISSING) if isinstance(node, Mapping) and key else node
            if items is _MISSING or items is None:
                return _MISSING
            if is_unknown(items):
                raise NotEvaluated(f"a value is not known before deployment ({items})")
            values = list(items.values()) if isinstance(items, Mapping) else items
            if not isinstance(values, list):
                return _MISSING
            return [_walk(item, parts[index + 1 :]) for item in values]
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _flatten(value: Any, levels: int) -> Any:
    """A walk through n `[*]` gives lists nested n deep; Azure sees one list of every element."""
    for _ in range(levels):
        if not isinstance(value, list):
            break
        value = [
            item
            for part in value
            if part is not _MISSING
            for item in (part if isinstance(part, list) else [part])
        ]
    return value


def _split(path: str) -> list[str]:
    return [part for part in re.split(r"\.(?![^\[]*\])", path) if part]


def field_value(field: str, scope: Scope) -> Any:
    """The value of a `field` (alias or top-level field) for the resource; _MISSING if absent."""
    resource = scope.resource
    lowered = field.lower()
    if scope.element is not _MISSING and lowered.startswith(scope.element_alias):
        alias = lookup(field)
        if alias is None:
            raise UnknownAlias(field)
        relative = alias.input_path[len(scope.element_input) :].lstrip(".")
        return _walk(scope.element, _split(relative)) if relative else scope.element
    if lowered == "type":
        return ARM_TYPES.get(resource.type, resource.type)
    if lowered == "name":
        key = NAME_INPUTS.get(resource.type)
        value = resource.get(key) if key else None
        return value if value is not None else resource.name
    if lowered == "id":
        if not resource.id or is_unknown(resource.id):
            raise NotEvaluated("the resource id is not known before deployment")
        return resource.id
    tag = _TAG.match(field)
    if tag:
        name = (tag.group("a") or tag.group("b") or tag.group("c") or "").lower()
        tags = resource.get("tags") or {}
        matches = [v for k, v in tags.items() if str(k).lower() == name] if isinstance(tags, Mapping) else []
        return matches[0] if matches else _MISSING
    if lowered in TOP_LEVEL_FIELDS:
        value = get(resource.props, field)
        return _MISSING if value is None else value
    alias = lookup(field)
    if alias is None:
        raise UnknownAlias(field)
    value = _flatten(_walk(resource.props, _split(alias.input_path)), alias.input_path.count("[*]") - 1)
    return _MISSING if value is None else value


# --- template expressions -----------------------------------------------------------------------

_CALL = re.compile(r"^\s*(?P<name>[A-Za-z]+)\s*\((?P<args>.*)\)\s*(?P<rest>.*)$", re.DOTALL)


def _split_args(text: str) -> list[str]:
    args, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == "'" and depth >= 0:
            quoted = not quoted
        if not quoted and char == "(":
            depth += 1
        if not quoted and char == ")":
            depth -= 1
        if not quoted and depth == 0 and char == ",":
            args.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        args.append(current.strip())
    return args


def _expression(text: str, scope: Scope) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    match = _CALL.match(text)
    if not match:
        raise NotEvaluated(f"expression {text!r} is not supported")
    name, rest = match.group("name"), match.group("rest").strip()
    args = [_expression(arg, scope) for arg in _split_args(match.group("args"))]
    value = _function(name, args, scope)
    if rest:  # property access such as `.apiVersion`
        raise NotEvaluated(f"expression {text!r} is not supported")
    return value


def _function(written: str, args: list[Any], scope: Scope) -> Any:
    name = written.lower()
    if name == "parameters":
        if args[0] not in scope.parameters:
            raise NotEvaluated(f"parameter {args[0]!r} has no value")
        return scope.parameters[args[0]]
    if name == "field":
        value = field_value(str(args[0]), scope)
        if is_unknown(value):
            raise NotEvaluated(f"{args[0]} is not known before deployment")
        return None if value is _MISSING else value
    functions: dict[str, Callable[[list[Any]], Any]] = {
        "empty": lambda a: a[0] in (None, "", [], {}),
        "tolower": lambda a: str(a[0]).lower(),
        "toupper": lambda a: str(a[0]).upper(),
        "concat": lambda a: (
            "".join(str(x) for x in a)
            if not any(isinstance(x, list) for x in a)
            else [y for x in a for y in x]
        ),
        "length": lambda a: len(a[0]) if a[0] is not None else 0,
        "not": lambda a: not a[0],
        "equals": lambda a: _equal(a[0], a[1]),
        "if": lambda a: a[1] if a[0] else a[2],
    }
    if name not in functions:
        raise NotEvaluated(f"template function {written}() is not supported")
    return functions[name](args)


def resolve(value: Any, scope: Scope) -> Any:
    """A literal, or the value of a `[...]` template expression (`[[` escapes a literal `[`)."""
    if (
        isinstance(value, str)
        and value.startswith("[")
        and value.endswith("]")
        and not value.startswith("[[")
    ):
        return _expression(value[1:-1], scope)
    if isinstance(value, str) and value.startswith("[["):
        return value[1:]
    return value


# --- operators -------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return bool(a == b)
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return bool(a == b)
    return _text(a) == _text(b)


def _like(value: Any, pattern: Any) -> bool:
    # One `*` wildcard at most in Azure; fnmatch treats `?` and `[` specially, so escape them.
    escaped = re.sub(r"([?\[\]])", r"[\1]", _text(pattern))
    return fnmatch.fnmatchcase(_text(value), escaped)


def _match(value: Any, pattern: Any, insensitive: bool) -> bool:
    # `#` a digit, `?` a letter, `.` any character; everything else itself.
    parts = {"#": r"\d", "?": "[A-Za-z]", ".": "."}
    regex = "".join(parts.get(c, re.escape(c)) for c in str(pattern))
    return re.fullmatch(regex, str(value), re.IGNORECASE if insensitive else 0) is not None


def _number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else _text(value)


def _compare(operator: str, value: Any, operand: Any) -> bool:
    """One operator on a present value."""
    op = operator.lower()
    if op == "equals":
        return _equal(value, operand)
    if op == "notequals":
        return not _equal(value, operand)
    if op in ("in", "notin"):
        if not isinstance(operand, list):
            raise NotEvaluated(f"{operator} needs an array, got {operand!r}")
        found = any(_equal(value, item) for item in operand)
        return found if op == "in" else not found
    if op in ("contains", "notcontains"):
        if isinstance(value, list):
            found = any(_equal(item, operand) for item in value)
        else:
            found = _text(operand) in _text(value)
        return found if op == "contains" else not found
    if op in ("containskey", "notcontainskey"):
        found = isinstance(value, Mapping) and _text(operand) in {_text(k) for k in value}
        return found if op == "containskey" else not found
    if op in ("like", "notlike"):
        return _like(value, operand) if op == "like" else not _like(value, operand)
    if op in ("match", "notmatch", "matchinsensitively", "notmatchinsensitively"):
        found = _match(value, operand, "insensitively" in op)
        return found if not op.startswith("not") else not found
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "greater": lambda a, b: a > b,
        "greaterorequals": lambda a, b: a >= b,
        "less": lambda a, b: a < b,
        "lessorequals": lambda a, b: a <= b,
    }
    if op in comparisons:
        try:
            return comparisons[op](_number(value), _number(operand))
        except TypeError:
            raise NotEvaluated(f"cannot compare {value!r} with {operand!r}") from None
    raise NotEvaluated(f"operator {operator!r} is not supported")


_POSITIVE = frozenset({"equals", "in", "contains", "containskey", "like", "match", "matchinsensitively"})
OPERATORS = frozenset(
    {
        "equals", "notequals", "in", "notin", "contains", "notcontains", "containskey", "notcontainskey",
        "like", "notlike", "match", "notmatch", "matchinsensitively", "notmatchinsensitively",
        "greater", "greaterorequals", "less", "lessorequals", "exists",
    }
)  # fmt: skip


def _operator(condition: Mapping[str, Any]) -> tuple[str, Any]:
    found = [(key, value) for key, value in condition.items() if key.lower() in OPERATORS]
    if len(found) != 1:
        others = sorted(set(condition) - {"field", "value", "count", "where", "name"})
        raise NotEvaluated(
            f"condition {dict(condition)!r} has no operator this evaluator supports ({others})"
        )
    return found[0]


def _apply(operator: str, operand: Any, value: Any) -> bool:
    op = operator.lower()
    if op == "exists":
        wanted = _text(operand) == "true"
        return (value is not _MISSING) == wanted
    if value is _MISSING:
        return op not in _POSITIVE and not op.startswith(("greater", "less"))
    if is_unknown(value):
        raise NotEvaluated(f"a value is not known before deployment ({value})")
    return _compare(operator, value, operand)


# --- conditions -----------------------------------------------------------------------------------


def holds(condition: Any, scope: Scope) -> bool:
    """Whether the `if` condition (or a part of it) holds for the scope's resource."""
    if not isinstance(condition, Mapping):
        raise NotEvaluated(f"condition {condition!r} is not an object")
    if "allOf" in condition:
        return all(holds(part, scope) for part in condition["allOf"])
    if "anyOf" in condition:
        return any(holds(part, scope) for part in condition["anyOf"])
    if "not" in condition:
        return not holds(condition["not"], scope)
    operator, operand = _operator(condition)
    operand = resolve(operand, scope)
    if "count" in condition:
        return _apply(operator, operand, _count(condition["count"], scope))
    if "field" in condition:
        field = str(resolve(condition["field"], scope))
        value = field_value(field, scope)
        if isinstance(value, list) and "[*]" in field and scope.element is _MISSING:
            return all(_apply(operator, operand, item) for item in value)
        return _apply(operator, operand, value)
    if "value" in condition:
        value = resolve(condition["value"], scope)
        return _apply(operator, operand, _MISSING if value is None else value)
    raise NotEvaluated(f"condition {dict(condition)!r} has neither field, value nor count")


def _count(count: Any, scope: Scope) -> int:
    if not isinstance(count, Mapping) or "field" not in count:
        raise NotEvaluated("only field count is supported (value count is not)")
    field = str(count["field"])
    alias = lookup(field)
    if alias is None:
        raise UnknownAlias(field)
    if not field.endswith("[*]") or not alias.input_path.endswith("[*]"):
        raise NotEvaluated(f"count field {field!r} must be an array alias ending in [*]")
    elements = _flatten(
        _walk(scope.resource.props, _split(alias.input_path)), alias.input_path.count("[*]") - 1
    )
    if elements is _MISSING or not isinstance(elements, list):
        return 0
    where = count.get("where")
    if where is None:
        return len(elements)
    return sum(
        1
        for element in elements
        if holds(where, Scope(scope.resource, scope.parameters, field.lower(), alias.input_path, element))
    )
