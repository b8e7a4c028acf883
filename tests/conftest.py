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
