"""Label values that satisfy the matchers the queries use, realistic where they are free.

One ``Pools`` object serves every metric of a run, so a free ``instance`` is the same
``10.0.0.1:9100`` on every metric and the joins of a query line up. Values a matcher names
(``job="node"``, ``code=~"5.."``) come first; free labels take well-known values
(``mode="idle"``, ``method="GET"``) or ``<label>-1``.
"""

from __future__ import annotations

import re
import warnings
from typing import Iterable

from stackctl.dashboards.variables import apply_regex, js_pattern
from stackctl.seeding.synth.exprs import VAR_SENTINEL, Matcher

with warnings.catch_warnings():  # the stdlib regex parser: the only one that reads re syntax exactly
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sc
    import sre_parse

KNOWN: dict[str, tuple[str, ...]] = {
    # Sort before the stack's own targets (127.0.0.1:PORT natively, alertmanager:9093 in
    # compose): a label_values(alertmanager_build_info, instance) variable picks the first
    # value, which must be a synthetic series, not the real, quiet Alertmanager.
    "instance": ("10.0.0.1:9100", "10.0.0.2:9100"),
    "mode": ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"),
    "method": ("GET", "POST", "PUT", "DELETE"),
    "code": ("200", "201", "404", "500"),
    "status": ("200", "404", "500"),
    "status_code": ("200", "404", "500"),
    "handler": ("/", "/api/v1/query", "/metrics"),
    "path": ("/", "/api/items", "/health"),
    "endpoint": ("/", "/api/items", "/health"),
    "device": ("sda", "sdb"),
    "mountpoint": ("/", "/home"),
    "fstype": ("ext4", "xfs"),
    "cpu": ("0", "1"),
    "namespace": ("default", "kube-system"),
    "pod": ("api-7d9f8-abcde", "worker-5c6b7-fghij"),
    "container": ("api", "worker"),
    "node": ("node-1", "node-2"),
    "nodename": ("host-1", "host-2"),
    "cluster": ("cluster-1",),
    "service": ("api", "worker"),
    "app": ("api",),
    "app_name": ("app",),
    "le": ("+Inf",),
    "quantile": ("0.5", "0.9", "0.99"),
    "version": ("1.0.0",),
    "resource": ("cpu", "memory"),
    "unit": ("core", "byte"),
    "phase": ("Running", "Pending", "Succeeded", "Failed", "Unknown"),
    "condition": ("true",),
    "severity": ("warning", "critical"),
    "integration": ("webhook",),
    "state": ("active",),
    "interface": ("eth0",),
    "db": ("db0",),
    "cmd": ("get", "set"),
    "role": ("master",),
}
# The job a family of metrics is scraped under when no query names it.
JOBS = (("node_", "node"), ("kube_", "kube-state-metrics"), ("container_", "kubelet"), ("kubelet_", "kubelet"),
        ("apiserver_", "apiserver"), ("prometheus_", "prometheus"), ("alertmanager_", "alertmanager"),
        ("redis_", "redis"), ("django_", "django"), ("fastapi_", "fastapi"), ("http_", "app"),
        ("process_", "app"), ("go_", "app"), ("coredns_", "coredns"), ("etcd_", "etcd"),
        ("pg_", "postgres"), ("mysql_", "mysql"), ("nginx_", "nginx"), ("probe_", "blackbox"))
_SPREAD = 2  # values of a label that panels split by (by(), repeats, instance)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def example(regex: str, avoid: Iterable[str] = ()) -> str | None:
    """A short string the (Prometheus-anchored) regex fully matches, or None."""
    try:
        parsed = sre_parse.parse(regex)
    except (re.error, RecursionError, ValueError):
        return None
    # `.*etcd.*` -> "etcd" (optional parts left out), else "xetcdx" (`.*` alone must not be "")
    for least in (0, 1):
        try:
            text = _gen(list(parsed), least)  # type: ignore[call-overload]
        except (ValueError, RecursionError, TypeError):
            return None
        try:
            if text and re.fullmatch(regex, text) and text not in set(avoid):
                return text
        except re.error:
            return None
    return None


def _gen(items: list[tuple[object, object]], least: int = 1) -> str | None:
    out = []
    for op, av in items:
        part = _gen_one(op, av, least)
        if part is None:
            return None
        out.append(part)
    return "".join(out)


def _gen_one(op: object, av: object, least: int = 1) -> str | None:
    if op == sc.LITERAL:
        return chr(av)  # type: ignore[arg-type]
    if op == sc.ANY:
        return "x"
    if op == sc.NOT_LITERAL:  # [^-]
        return next((c for c in _ALPHABET if c != chr(av)), None)  # type: ignore[arg-type]
    if op == sc.IN:
        return _gen_in(av)  # type: ignore[arg-type]
    if op == sc.BRANCH:
        return _gen(list(av[1][0]), least)  # type: ignore[index]
    if op == sc.SUBPATTERN:
        return _gen(list(av[-1]), least)  # type: ignore[index]
    if op in (sc.MAX_REPEAT, sc.MIN_REPEAT):
        low, _high, body = av  # type: ignore[misc]
        one = _gen(list(body), least)  # type: ignore[has-type]
        return None if one is None else one * max(int(low), least)  # type: ignore[has-type]
    if op in (sc.AT, sc.ASSERT, sc.ASSERT_NOT):
        return ""
    return None


def _gen_in(items: list[tuple[object, object]]) -> str | None:
    negate = any(op == sc.NEGATE for op, _ in items)
    if negate:
        banned = {chr(av) for op, av in items if op == sc.LITERAL}  # type: ignore[arg-type]
        return next((c for c in _ALPHABET if c not in banned), None)
    for op, av in items:
        if op == sc.LITERAL:
            return chr(av)  # type: ignore[arg-type]
        if op == sc.RANGE:
            return chr(av[0])  # type: ignore[index]
        if op == sc.CATEGORY:
            return {sc.CATEGORY_DIGIT: "0", sc.CATEGORY_SPACE: " "}.get(av, "a")  # type: ignore[call-overload]
    return None


def alternatives(regex: str) -> list[str]:
    """``a|b|c`` (literal alternatives, maybe grouped) -> [a, b, c]; else []."""
    body = regex[3:-2] if regex.startswith("^(?:") and regex.endswith(")$") else regex
    body = body[1:-1] if body.startswith("(") and body.endswith(")") else body
    parts = body.split("|")
    if all(re.fullmatch(r"(?:[\w\-:/ ]|\\\.)+", p) for p in parts):
        return [p.replace("\\.", ".") for p in parts]
    return []


def _sentinel(var: str) -> str:
    return VAR_SENTINEL.format(var)


class Pools:
    """Label name -> ordered candidate values, shared by every metric of a run."""

    def __init__(self) -> None:
        self.required: dict[str, list[str]] = {}
        self.var_jobs: dict[tuple[str, str], str] = {}  # (file, variable) -> the job it resolves to
        self.var_labels: dict[str, str] = {}  # variable -> the label its label_values lists

    def around_variables(self, label: str, matchers: list[Matcher]) -> list[str]:
        """Values for a label filtered by a variable inside a regex (``pod=~"$deployment.*"``,
        ``instance=~"$node:.*"``) or by a variable listing another label
        (``exported_namespace="$namespace"``): one per value the variable may take (its label's
        spread values), so whichever Grafana selects first, the label has a value built on it."""
        out: list[str] = []
        for m in matchers:
            var = m.var
            if var is None or m.op not in ("=", "=~") or var not in self.var_labels:
                continue
            listed = self.free(self.var_labels[var], True)
            if m.value == _sentinel(var):  # `$var` itself: on another label than the one it lists
                found_all = listed if self.var_labels[var] != label else []
            else:
                found_all = [example(m.value.replace(_sentinel(var), re.escape(v))) or "" for v in listed]
            out += [f for f in found_all if f and f not in out]
        return out

    def keep_regex(self, label: str, regex: str) -> None:
        """A variable listing ``label`` keeps only the values its Grafana regex matches
        (``/([^-]+-[^-]+).*/``): when none of the label's first values pass, ones built to match
        come first, so the variable has options and panels filtered by it find series."""
        if any(apply_regex([c], regex) for c in self.candidates(label)[:_SPREAD]):
            return
        pattern = js_pattern(regex)
        if pattern is None:
            return
        made: list[str] = []
        for base in self.candidates(label)[:_SPREAD]:
            # a known value made to match (api -> api-1 for a dash-separated pattern), else an example
            for value in (f"{base}-1", f"{base}-{base}", f"{base}_1", f"{base}.1", example(f"(?:{pattern}).*", made)):
                if value and value not in made and apply_regex([value], regex):
                    made.append(value)
                    break
        for value in reversed(made):
            values = self.required.setdefault(label, [])
            if value in values:
                values.remove(value)
            values.insert(0, value)

    def require(self, label: str, value: str) -> None:
        values = self.required.setdefault(label, [])
        if value not in values:
            values.append(value)

    def candidates(self, label: str) -> list[str]:
        known = list(KNOWN.get(label, ()))
        if not known:
            known = [f"{label.replace('_', '-')}-{i}" for i in (1, 2)]
        return list(dict.fromkeys(self.required.get(label, []) + known))

    def free(self, label: str, spread: bool, job: str | None = None) -> list[str]:
        """Values of a label no matcher pins: the first required/known ones."""
        if label == "job":
            return [job or self.candidates("job")[0]]
        cands = self.candidates(label)
        return cands[:_SPREAD] if spread else cands[:1]

    def job_for(self, metrics: Iterable[str], pinned: Iterable[str]) -> str:
        """The scrape job of a family of metrics: the one its queries name, else its exporter's."""
        for value in pinned:
            return value
        for name in metrics:
            for prefix, job in JOBS:
                if name.startswith(prefix):
                    return job
        # the one job the inputs name (a single app's files), else a neutral one: with files of
        # several apps together (celery's job=~"celery|celery-exporter", a rule's
        # job="spring-boot-apps"), another family's job on these series would mislead
        named = self.required.get("job", [])
        return named[0] if len(named) == 1 else "app"

    def satisfying(self, label: str, matchers: list[Matcher]) -> str | None:
        """One value for ``label`` that every matcher on it accepts."""
        for m in matchers:
            if m.op == "=" and m.var is None:
                return m.value if all(x.matches(m.value) for x in matchers) else None
        extra: list[str] = []
        examples: list[str] = []
        for m in matchers:
            if m.op == "=~" and m.var is None:
                extra += alternatives(m.value)
                ex = example(m.value, [x.value for x in matchers if x.op == "!="])
                if ex is not None:
                    examples.append(ex)
        for value in extra + self.candidates(label) + examples + [f"{label}-x", "other"]:
            if all(m.matches(value) for m in matchers):
                return value
        return None

    def choices(self, label: str, matchers: list[Matcher], limit: int = 3) -> list[str]:
        """Values for ``label``: each alternative of an ``=~"a|b|c"`` the other matchers allow
        (a panel of ``phase=~"Pending|Running"`` shows both), else the one ``satisfying`` value."""
        alts = [a for m in matchers if m.op == "=~" and m.var is None for a in alternatives(m.value)]
        ok = [a for a in dict.fromkeys(alts) if all(m.matches(a) for m in matchers)][:limit]
        if ok:
            return ok
        one = self.satisfying(label, matchers)
        return [one] if one is not None else []

    def note_matchers(self, matchers: Iterable[Matcher]) -> None:
        """Values queries pin become the preferred values of their label everywhere."""
        for m in matchers:
            if m.var is not None:
                continue
            if m.op == "=" and m.value:
                self.require(m.name, m.value)
            elif m.op == "=~":
                for alt in alternatives(m.value):
                    self.require(m.name, alt)
