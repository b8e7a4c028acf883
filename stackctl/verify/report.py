"""Verification results as JSON (``--json``) and JUnit XML (``--junit FILE``) for CI systems.

JUnit layout: one ``<testsuite>`` per dashboard (a ``<testcase>`` per panel copy and annotation
query) and one per other
kind of check (rules, metrics, alerts). ``empty`` and ``error`` are ``<failure>``s whose text
holds the query and the server's message; ``skipped`` is ``<skipped>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from stackctl.state.dirs import write_atomic
from stackctl.verify.checks import CheckResult

SUITE_NAMES = {"rules": "rules", "metric": "metrics", "alert": "alerts"}


def summary(results: Iterable[CheckResult]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {s: counts.get(s, 0) for s in ("populated", "empty", "error", "skipped", "ok")}


def as_json(results: list[CheckResult], **meta: Any) -> dict[str, Any]:
    failed = [r for r in results if r.failed]
    return {**meta, "passed": not failed, "summary": summary(results), "results": [r.as_dict() for r in results]}


def _suite_key(r: CheckResult) -> str:
    return f"dashboard: {r.dashboard}" if r.kind in ("panel", "annotation", "dashboard") else SUITE_NAMES.get(r.kind, r.kind)


def _testcase(suite: ET.Element, r: CheckResult) -> None:
    # Panels are grouped by dashboard already; other checks name what they belong to.
    name = r.panel if r.kind in ("panel", "annotation", "dashboard") else f"{r.dashboard}: {r.panel}"
    case = ET.SubElement(suite, "testcase", {"classname": suite.get("name", ""), "name": name or "(untitled)"})
    if r.failed:
        failure = ET.SubElement(case, "failure", {"type": r.status, "message": f"{r.status}: {r.detail}"})
        failure.text = f"query: {r.query}\n{r.detail}" if r.query else r.detail
    elif r.status == "skipped":
        ET.SubElement(case, "skipped", {"message": r.detail})


def junit_xml(results: list[CheckResult]) -> bytes:
    root = ET.Element("testsuites", {"name": "stackctl verify"})
    suites: dict[str, list[CheckResult]] = {}
    for r in results:
        suites.setdefault(_suite_key(r), []).append(r)
    for name, items in suites.items():
        suite = ET.SubElement(root, "testsuite", {
            "name": name, "tests": str(len(items)), "failures": str(sum(r.failed for r in items)),
            "errors": "0", "skipped": str(sum(r.status == "skipped" for r in items)),
        })
        for r in items:
            _testcase(suite, r)
    root.set("tests", str(len(results)))
    root.set("failures", str(sum(r.failed for r in results)))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(results: list[CheckResult], path: Path) -> None:
    write_atomic(path, junit_xml(results))
