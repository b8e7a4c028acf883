from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

README = Path(__file__).resolve().parent.parent / "README.md"


def _promises() -> dict[str, str]:
    """The README's Reliability section: ``- **R1** text`` lines, by id."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Reliability", 1)[-1].split("\n## ", 1)[0]
    return dict(re.findall(r"^- \*\*([A-Z]\d+)\*\* (.+)$", section, re.M))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    known = _promises()
    covered: dict[str, int] = {}
    for item in items:
        for mark in item.iter_markers("promise"):
            for pid in mark.args:
                if pid not in known:
                    raise pytest.UsageError(f"{item.nodeid}: promise {pid!r} is not in the README's Reliability section")
                covered[pid] = covered.get(pid, 0) + 1
    config.stash[_KEY] = (known, covered)
    unmarked = [item.nodeid for item in items if _starts_a_server(item) and not SERVER_MARKS & {m.name for m in item.iter_markers()}]
    if unmarked:
        raise pytest.UsageError("tests that start a server need a native/docker/grafana/loki marker:\n  " + "\n  ".join(unmarked))


SERVER_MARKS = {"native", "docker", "grafana", "loki"}
# What starts a server, in a test or in a fixture it uses: the CLI's `up`, a TestStack, the plugin's fixture.
_STARTS = re.compile(r"""stackctl\(\s*["']up["']|_cli\(\s*["']up["']|TestStack\.start\(|observability_stack|orchestrator\.up\(|stack\.up\(""")


def _starts_a_server(item: pytest.Item) -> bool:
    """Static look at the test and the fixtures it requests (their source), for integration tests."""
    if "integration" not in Path(str(item.fspath)).parts:
        return False
    import inspect

    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(info, "names_closure", ()):
        for fixdef in (info.name2fixturedefs.get(name) or ()) if info else ():
            funcs.append(fixdef.func)
    for func in funcs:
        try:
            if func is not None and _STARTS.search(inspect.getsource(func)):
                return True
        except (OSError, TypeError):
            continue
    return False


_KEY = pytest.StashKey[tuple[dict[str, str], dict[str, int]]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    known, covered = config.stash.get(_KEY, ({}, {}))
    if not known or not covered:
        return
    missing = [pid for pid in known if pid not in covered]
    terminalreporter.write_sep("-", "reliability promises (README)")
    terminalreporter.write_line(f"{len(known) - len(missing)} of {len(known)} promises covered by {sum(covered.values())} collected tests")
    for pid in missing:
        terminalreporter.write_line(f"  not covered: {pid} {known[pid]}")
