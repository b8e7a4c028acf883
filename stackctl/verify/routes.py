"""Alertmanager's route tree, read from its config: matchers, label synthesis and routing.

``fire-alerts`` needs, for each route, a label set that reaches it. We build one from the
route's own matchers plus its parents' (a child only sees what its parent matched), then run
Alertmanager's routing algorithm on it to know which receiver(s) it should reach: depth-first,
first matching child wins unless it has ``continue: true``, no matching child -> the node's
receiver. Both the modern ``matchers`` and the legacy ``match``/``match_re`` forms are read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from stackctl.errors import VerifyError
from stackctl.verify.time_intervals import named_intervals

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*|"(?:[^"\\]|\\.)*")\s*(=~|!~|!=|=)\s*(.*?)\s*$')
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
ROOT_GROUP_WAIT, ROOT_GROUP_INTERVAL = 30.0, 300.0  # Alertmanager's defaults


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")  # a missing label matches as the empty string
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None  # Alertmanager anchors regexes
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.label}{self.op}{json.dumps(self.value)}"


@dataclass(frozen=True)
class Route:
    path: str  # "root", "root.0", "root.0.1": where it sits in the tree
    receiver: str
    matchers: tuple[Matcher, ...]  # its own
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    continue_: bool = False
    children: tuple[Route, ...] = field(default=())
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


_ONE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*|"(?:[^"\\]|\\.)*")\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^,]*?)\s*(?:,|$)')


def parse_matcher(text: str) -> Matcher:
    """``severity=~"page|critical"`` (quotes optional) -> Matcher."""
    found = parse_matchers(text)
    if len(found) != 1:
        raise VerifyError(f"expected one Alertmanager matcher in {text!r}, found {len(found)}")
    return found[0]


def parse_matchers(text: str) -> list[Matcher]:
    """One ``matchers:`` entry, as Alertmanager's labels.ParseMatchers reads it: one matcher or
    several separated by commas, optionally in braces (``{severity="critical", team="x"}``)."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    out: list[Matcher] = []
    pos = 0
    while pos < len(body) and body[pos:].strip():
        m = _ONE.match(body, pos)
        if not m or m.end() == pos:
            raise VerifyError(f"cannot read Alertmanager matcher {text!r}", hint='matchers look like severity=~"page|critical"')
        label, op, value = m.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = json.loads(value)
        out.append(_checked(Matcher(json.loads(label) if label.startswith('"') else label, op, value)))
        pos = m.end()
    if not out:
        raise VerifyError(f"cannot read Alertmanager matcher {text!r}", hint='matchers look like severity=~"page|critical"')
    return out


def _checked(m: Matcher) -> Matcher:
    if m.op in ("=~", "!~"):
        try:
            re.compile(m.value)
        except re.error as exc:
            raise VerifyError(f"Alertmanager matcher {m}: invalid regex: {exc}") from None
    return m


def parse_duration(text: Any, default: float) -> float:
    if text is None:
        return default
    found = _DURATION.findall(str(text))
    return sum(int(n) * _UNITS[u] for n, u in found) if found else default


def _matchers(node: Mapping[str, Any]) -> tuple[Matcher, ...]:
    out = [m for t in node.get("matchers") or [] for m in parse_matchers(str(t))]
    out += [Matcher(str(k), "=", str(v)) for k, v in (node.get("match") or {}).items()]
    out += [_checked(Matcher(str(k), "=~", str(v))) for k, v in (node.get("match_re") or {}).items()]
    return tuple(out)


def build_route(node: Mapping[str, Any], parent: Route | None = None, path: str = "root") -> Route:
    """A route node with what it inherits from its parent (receiver, grouping, timers)."""
    group_by = node.get("group_by")
    base = Route(
        path=path,
        receiver=str(node.get("receiver") or (parent.receiver if parent else "")),
        matchers=_matchers(node) if parent else (),  # the root matches every alert
        group_by=tuple(group_by) if group_by is not None else (parent.group_by if parent else ()),
        group_wait=parse_duration(node.get("group_wait"), parent.group_wait if parent else ROOT_GROUP_WAIT),
        group_interval=parse_duration(node.get("group_interval"), parent.group_interval if parent else ROOT_GROUP_INTERVAL),
        continue_=bool(node.get("continue", False)),
        # a route's own, never its parent's (dispatch/route.go sets them from the route alone)
        mute_time_intervals=tuple(map(str, node.get("mute_time_intervals") or ())),
        active_time_intervals=tuple(map(str, node.get("active_time_intervals") or ())),
    )
    kids = tuple(build_route(child, base, f"{path}.{i}") for i, child in enumerate(node.get("routes") or []))
    return replace(base, children=kids)


@dataclass(frozen=True)
class RouteConfig:
    tree: Route
    observable: frozenset[str]  # receivers that post to the local notification sink
    source: str
    silent: frozenset[str] = frozenset()  # receivers with no integration at all (kube-prometheus' "null")
    inhibit_equal: tuple[tuple[str, ...], ...] = ()  # each inhibit rule's `equal:` labels
    intervals: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)  # named time intervals


def _sink_receivers(doc: Mapping[str, Any]) -> frozenset[str]:
    names = set()
    for rec in doc.get("receivers") or []:
        urls = [str(w.get("url", "")) for w in rec.get("webhook_configs") or [] if isinstance(w, dict)]
        if any(u.rstrip("/").endswith("/cgi-bin/notify") for u in urls):
            names.add(str(rec.get("name")))
    return frozenset(names)


def _silent_receivers(doc: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(rec.get("name")) for rec in doc.get("receivers") or []
                     if isinstance(rec, dict) and not any(k.endswith("_configs") and v for k, v in rec.items() if isinstance(k, str)))


def load_route_config(path: Path) -> RouteConfig:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise VerifyError(f"cannot read the Alertmanager config {path}: {exc}", hint="run `stackctl up` to render it, or fix the file") from None
    if not isinstance(doc.get("route"), dict):
        raise VerifyError(f"{path} has no `route:` section", hint="see alertmanager/alertmanager.yml for the shipped one")
    inhibit = tuple(tuple(map(str, rule.get("equal") or ())) for rule in doc.get("inhibit_rules") or [] if isinstance(rule, dict))
    return RouteConfig(build_route(doc["route"]), _sink_receivers(doc), str(path), _silent_receivers(doc), inhibit, named_intervals(doc))


def config_path(state_dir: Path) -> Path:
    """The rendered alertmanager.yml (what Alertmanager runs), else the shipped one."""
    from stackctl.assets import asset_path

    rendered = state_dir / "rendered" / "alertmanager" / "alertmanager.yml"
    return rendered if rendered.is_file() else asset_path("alertmanager", "alertmanager.yml")


def walk(route: Route, ancestors: tuple[Matcher, ...] = ()) -> list[tuple[Route, tuple[Matcher, ...]]]:
    """Every route with the matchers an alert needs to reach it (its own and its parents')."""
    needed = ancestors + route.matchers
    out = [(route, needed)]
    for child in route.children:
        out += walk(child, needed)
    return out


def receivers_for(route: Route, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """Alertmanager's routing: (route path, receiver) pairs the alert is delivered to."""
    out: list[tuple[str, str]] = []
    for child in route.children:
        if child.matches(labels):
            out += receivers_for(child, labels)
            if not child.continue_:
                break
    return out or [(route.path, route.receiver)]


def _candidates(m: Matcher) -> list[str]:
    if m.op in ("=", "!="):
        return [m.value] if m.op == "=" else []
    body = m.value[1:-1] if m.value.startswith("(") and m.value.endswith(")") else m.value
    return re.split(r"(?<!\\)\|", body) + [re.sub(r"\\(.)", r"\1", body), body.replace(".+", "x").replace(".*", "")]


def satisfy(matchers: tuple[Matcher, ...], base: Mapping[str, str]) -> dict[str, str]:
    """Labels (``base`` plus what the matchers need) that every matcher accepts."""
    labels = dict(base)
    for label in dict.fromkeys(m.label for m in matchers):
        own = [m for m in matchers if m.label == label]
        options = [labels.get(label, "")] + [c for m in own for c in _candidates(m)] + ["stackctl", "x"]
        for value in options:
            trial = {**labels, label: value}
            if all(m.matches(trial) for m in own):
                labels = trial if value != "" else {k: v for k, v in trial.items() if k != label}
                break
        else:
            raise VerifyError(f"cannot build a label value for {label} that satisfies {', '.join(map(str, own))}",
                              hint="fire a hand-written alert with amtool for this route")
    return labels


def literal_alternatives(m: Matcher) -> list[str]:
    """``severity=~"page|critical"`` -> [page, critical]; [] for anything less plain."""
    if m.op != "=~":
        return []
    body = m.value[1:-1] if m.value.startswith("(") and m.value.endswith(")") else m.value
    alternatives = body.split("|")
    return alternatives if all(re.fullmatch(r"[\w-]+", a) for a in alternatives) else []


def variants(matchers: tuple[Matcher, ...], limit: int = 8) -> list[dict[str, str]]:
    """Label values to try, one per literal alternative of each ``=~`` matcher: a route for
    ``severity=~"page|critical"`` is checked with page and with critical."""
    out: list[dict[str, str]] = [{}]
    for m in matchers:
        alts = literal_alternatives(m)
        if alts:
            out = [{**v, m.label: a} for v in out for a in alts][:limit]
    return out
