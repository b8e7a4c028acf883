"""YAML loading that remembers where every value came from.

Config and scenario files are validated with pydantic; its errors name a field path such as
``("metrics", 2, "rate")``. ``LocatedYaml.line_of`` turns that path into the file's line, so
every message can say *file:line: field: problem*.
"""

from __future__ import annotations

import difflib
import stat
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


# Bounds for every YAML a user hands us (config, scenarios): a config is a few KB, a big
# scenario a few hundred. Past these the input is hostile or a mistake, and must fail fast
# instead of eating memory (billion laughs) or the stack (deep nesting).
MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000  # after alias expansion


def _walk(root: yaml.Node, source: str, error: type[StackctlError]) -> dict[PathKey, int]:
    """Lines of every path; duplicate keys, recursive aliases, depth and expanded size checked.

    Iterative on purpose: the input's depth must not become Python's recursion depth.
    """
    lines: dict[PathKey, int] = {}
    expanded = 0
    stack: list[tuple[yaml.Node, PathKey, tuple[int, ...]]] = [(root, (), ())]
    while stack:
        node, path, ancestors = stack.pop()
        expanded += 1
        if expanded > MAX_NODES:
            raise error(f"{source}: the document expands to more than {MAX_NODES:,} values (aliases repeated too often?)",
                        hint="write the values out, or use fewer nested aliases")
        if id(node) in ancestors:
            raise error(f"{source}:{node.start_mark.line + 1}: an alias refers to the value that contains it (recursive alias)",
                        hint="an anchor (&name) cannot be used (*name) inside its own value")
        if len(path) > MAX_DEPTH:
            raise error(f"{source}:{node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep",
                        hint="flatten the structure; no stackctl file needs this depth")
        lines.setdefault(path, node.start_mark.line + 1)
        inner = ancestors + (id(node),)
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                line = key_node.start_mark.line + 1
                if isinstance(key_node, yaml.ScalarNode) and key != "<<" and key in seen:
                    raise error(f"{source}:{line}: duplicate key {key!r} (first on line {seen[key]})",
                                hint="YAML keeps only the last one: remove or merge one of them")
                seen[key] = line
                child = path + (key,)
                lines[child] = line
                stack.append((value_node, child, inner))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = path + (index,)
                lines[child] = item.start_mark.line + 1
                stack.append((item, child, inner))
    return lines


_OPEN = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken, yaml.BlockSequenceStartToken, yaml.BlockMappingStartToken)
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _check_depth(text: str, source: str, error: type[StackctlError]) -> None:
    """Refuse deep nesting from the token stream, before PyYAML's recursive composer sees it.

    The scanner is iterative, so this costs one linear pass and never a deep Python stack.
    """
    depth = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise error(f"{source}:{token.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep",
                            hint="flatten the structure; no stackctl file needs this depth")
        elif isinstance(token, _CLOSE):
            depth -= 1


def parse_yaml(text: str, source: str, error: type[StackctlError] = ConfigError) -> LocatedYaml:
    """Parse ``text``; a syntax error becomes ``error`` naming ``source`` and the line.

    The node tree is composed once, checked (duplicate keys, aliases, depth, size) and only then
    constructed, so a hostile document never gets expanded.
    """
    if len(text) > MAX_BYTES:
        raise error(f"{source}: {len(text):,} characters is more than a stackctl YAML file may hold ({MAX_BYTES:,})",
                    hint="is this the right file?")
    loader: yaml.SafeLoader | None = None
    try:
        _check_depth(text, source, error)
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        lines = _walk(node, source, error) if node is not None else {}
        data = loader.construct_document(node) if node is not None else None
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
    except RecursionError:  # PyYAML's composer recurses per nesting level
        raise error(f"{source}: nested too deeply to read", hint=f"no stackctl file needs more than {MAX_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()
    return LocatedYaml(source=source, data=data, lines=lines)


def read_text_file(path: Path, error: type[StackctlError], limit: int = MAX_BYTES, what: str = "file") -> str:
    """A regular, readable UTF-8 file of at most ``limit`` bytes, or ``error`` saying why not.

    Devices (/dev/zero), FIFOs and sockets are refused before they are opened: reading them
    could block forever or never end.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: no such file", hint="check the path (relative paths start at the current directory)") from None
    except PermissionError:
        raise error(f"{path}: permission denied", hint=f"make it readable: chmod u+r {path}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a directory, expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: is not a regular file (a device, FIFO or socket)", hint=f"point at a {what} on disk")
    if info.st_size > limit:
        raise error(f"{path}: {info.st_size:,} bytes is more than a {what} may hold ({limit:,})", hint="is this the right file?")
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
    except PermissionError:
        raise error(f"{path}: permission denied", hint=f"make it readable: chmod u+r {path}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > limit:
        raise error(f"{path}: more than {limit:,} bytes", hint="is this the right file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_yaml(path: Path, error: type[StackctlError] = ConfigError) -> LocatedYaml:
    """Read and parse a YAML file with clear errors for unreadable, special or oversized files."""
    return parse_yaml(read_text_file(path, error, what="YAML file"), str(path), error)


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
        msg = _plain_message(err, model, loc)
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


_EXPECTED = {
    "string_type": "expected text", "int_type": "expected a whole number", "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number", "float_type": "expected a number", "float_parsing": "expected a number",
    "bool_type": "expected true or false", "bool_parsing": "expected true or false", "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value lines)", "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)", "missing": "this key is required",
}


def _field_at(model: type[BaseModel], loc: Sequence[Any]) -> Any:
    """The pydantic FieldInfo of the last named key in ``loc`` (None if not found)."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return None
    parent = _model_at(model, loc[: max(i for i, p in enumerate(loc) if isinstance(p, str))])
    return parent.model_fields.get(names[-1]) if parent else None


def _plain_message(err: Any, model: type[BaseModel], loc: Sequence[Any]) -> str:
    """pydantic's message as what was expected, what was found, and an example of the right form."""
    kind = err["type"]
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        msg = f"expected one of {err.get('ctx', {}).get('expected', '')}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        msg = str(err["msg"]).replace("Input should be", "must be")
    else:
        msg = _EXPECTED.get(kind, str(err["msg"]))
    if kind != "missing" and "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f", got {err['input']!r}"
    info = _field_at(model, loc)
    examples = getattr(info, "examples", None)
    key = next((p for p in reversed(loc) if isinstance(p, str)), None)
    if examples and key:
        shown = yaml.safe_dump({key: examples[0]}, default_flow_style=True, width=200).strip().strip("{}")
        msg += f" (e.g. {shown})"
    return msg


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
