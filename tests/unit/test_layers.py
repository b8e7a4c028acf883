"""The package's folders are layers: a module imports only its own layer or lower ones.

Lazy imports (inside functions) count. The order is the one drawn in docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "stackctl"

# Lowest first. Foundation modules are ordered among themselves too.
FOUNDATION = ["errors", "yamlfile", "assets", "proc", "services", "packs", "configfile", "promfile", "config"]
LAYERS = ["state", "query", "dashboards", "render", "install", "runtime", "byo", "stack", "seeding",
          "verify", "report", "export", "testing", "cli"]
RANK = {name: i for i, name in enumerate(FOUNDATION + LAYERS)}


def _unit(module: str) -> str | None:
    """'stackctl.render.configs' -> 'render'; the package itself and __main__ have no rank."""
    parts = module.split(".")
    if parts[0] != "stackctl" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # "from stackctl import render" names a layer too
            if node.module == "stackctl":
                found += [(node.lineno, f"stackctl.{a.name}") for a in node.names]
    return found


def test_no_module_imports_a_higher_layer() -> None:
    violations = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        me = _unit(".".join(rel.parts))
        if me is None:
            continue
        for line, target in _imports(path):
            other = _unit(target)
            if other is not None and RANK[other] > RANK[me]:
                violations.append(f"{rel}.py:{line} ({me}) imports {target} ({other})")
    assert not violations, "upward imports:\n" + "\n".join(violations)


def test_every_folder_is_a_known_layer_with_a_docstring() -> None:
    for init in sorted(PKG.glob("*/__init__.py")):
        name = init.parent.name
        if name.startswith("_"):
            continue
        assert name in RANK, f"stackctl/{name}/ is not in the layer order (tests/unit/test_layers.py, docs/architecture.md)"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"stackctl/{name}/__init__.py needs a one-paragraph docstring"
