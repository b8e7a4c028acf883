"""YAML as the export writes it: key order kept, multi-line strings (dashboards) as literal blocks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A literal block keeps a dashboard readable in `kubectl get -o yaml` and in review; PyYAML
    # falls back to a quoted scalar by itself when a string cannot be a block (trailing spaces).
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any, header: str = "") -> bytes:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    return (header + text).encode("utf-8")


def dump_all(docs: Iterable[Any], header: str = "") -> bytes:
    text = yaml.dump_all(list(docs), Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    return (header + text).encode("utf-8")


def comment(lines: Iterable[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
