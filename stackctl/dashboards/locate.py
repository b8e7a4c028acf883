"""Lines of a JSON document's values, so a dashboard problem can say ``file:line``.

The standard ``json`` module keeps no positions. JSON is (near enough) a subset of YAML, and
PyYAML's composer (libyaml when present, so a large dashboard takes milliseconds) records the
start of every node; a document YAML does not read the same way (tabs in odd places) simply
has no lines, and messages fall back to the file and the JSON path.
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[Any, ...]
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 200  # far deeper than any dashboard; a pathological file gets no lines, not a RecursionError


class Lines:
    """The 1-based line of every JSON path (keys and list indexes) of one document."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        try:
            node = yaml.compose(text, Loader=_Loader)
        except (yaml.YAMLError, RecursionError, ValueError):
            return
        if node is not None:
            self._walk(node, (), 0)

    def _walk(self, node: yaml.Node, path: Path, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        self._lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = path + (str(key.value),)
                self._lines[child] = key.start_mark.line + 1
                self._walk(value, child, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, path + (index,), depth + 1)

    def of(self, path: Path) -> int | None:
        """The line of ``path``, or of its closest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return self._lines.get(())


def dotted(path: Path) -> str:
    """``("panels", 2, "gridPos", "w")`` -> ``panels[2].gridPos.w``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
