"""YAML loading that remembers where every value came from.

Config and scenario files are validated with pydantic; its errors name a field path such as
``("metrics", 2, "rate")``. ``LocatedYaml.line_of`` turns that path into the file's line, so
every message can say *file:line: field: problem*.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from stackctl.errors import ConfigError, StackctlError

PathKey = tuple[Any, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class LocatedYaml:
    """Parsed YAML data plus the 1-based line of every key/item path."""

    source: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[Any]) -> int | None:
        """The line of ``path``, or of its closest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


def _walk(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = path + (key,)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = path + (index,)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines)


def parse_yaml(text: str, source: str, error: type[StackctlError] = ConfigError) -> LocatedYaml:
    """Parse ``text``; a syntax error becomes ``error`` naming ``source`` and the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        ctx = exc.context_mark
        if ctx is not None and mark is not None and ctx.line != mark.line:
            # e.g. an unclosed [ or {: the parser notices at the end, the cause is where it opened
            problem += f" ({exc.context} on line {ctx.line + 1})"
        raise error(
            f"{where}: invalid YAML: {problem}",
            hint="check indentation and quoting on that line (tabs are not allowed in YAML)",
        ) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on bad bytes
        raise error(f"{source}: invalid YAML: {exc}", hint="is this a text YAML file?") from None
    lines: dict[PathKey, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return LocatedYaml(source=source, data=data, lines=lines)


def read_yaml(path: Path, error: type[StackctlError] = ConfigError) -> LocatedYaml:
    """Read and parse a YAML file with clear errors for unreadable files."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file", hint="check the path (relative paths start at the current directory)") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a YAML file") from None
    except PermissionError:
        raise error(f"{path}: permission denied", hint=f"make it readable: chmod u+r {path}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_yaml(text, str(path), error)


def _field_names(model: type[BaseModel]) -> list[str]:
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """Best effort: the nested model class at ``loc`` (for "did you mean" suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return None
        ann = info.annotation
        current = _unwrap(ann)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(ann: Any) -> Any:
    args = getattr(ann, "__args__", None)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    if args:
        for arg in args:
            found = _unwrap(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
    return ann


def describe_validation_error(
    exc: ValidationError, doc: LocatedYaml, model: type[BaseModel], *, limit: int = 5
) -> str:
    """One line per problem: ``file:line: field.path: message`` (+ did-you-mean)."""
    out: list[str] = []
    for err in exc.errors()[:limit]:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        line = doc.line_of(loc)
        where = f"{doc.source}:{line}" if line else doc.source
        msg = err["msg"]
        if err["type"] == "extra_forbidden" and loc:
            parent = _model_at(model, loc[:-1])
            known = _field_names(parent) if parent else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = f"unknown key {loc[-1]!r}"
            if close:
                msg += f" (did you mean {close[0]!r}?)"
            elif known:
                msg += f" (known keys: {', '.join(known)})"
        out.append(f"{where}: {dotted}: {msg}")
    more = len(exc.errors()) - limit
    if more > 0:
        out.append(f"... and {more} more problem(s)")
    return "\n".join(out)


def validate(doc: LocatedYaml, model: type[M], error: type[StackctlError] = ConfigError, hint: str | None = None) -> M:
    """Validate ``doc.data`` against ``model``; errors name file, line and field."""
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise error(f"{doc.source}:1: expected a mapping at the top level, found {type(data).__name__}", hint=hint)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(describe_validation_error(exc, doc, model), hint=hint) from None


def suggest(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
