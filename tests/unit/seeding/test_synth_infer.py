"""Inference from parsed queries: types, label sets, values by unit, joins that line up."""

from __future__ import annotations

import math

import pytest

from stackctl.seeding.synth import exprs as E
from stackctl.seeding.synth import model as M
from stackctl.seeding.synth.evaluate import as_vec, evaluate
from stackctl.seeding.synth.functions import make_env
from stackctl.seeding.synth.labels import Pools, alternatives, example


def build(*queries: str, spread: frozenset[str] = frozenset()) -> M.SynthModel:
    return M.build([(M.Query(q, "test", spread), E.walk(E.substitute(q))) for q in queries])


def value(model: M.SynthModel, expr: str) -> list[tuple[dict[str, str], float]]:
    return as_vec(evaluate(E.parse(expr), make_env(model)))


def test_types_from_functions_and_suffixes() -> None:
    m = build('rate(node_vmstat_pgfault[5m])', "process_open_fds", "app_events_total",
              'histogram_quantile(0.95, sum by (le) (rate(api_latency_seconds_bucket[5m])))',
              "rate(rpc_size_bytes_sum[5m]) / rate(rpc_size_bytes_count[5m])",
              "x * on(instance) group_left(version) app_build_info", "kube_pod_owner")
    kinds = {k: v.kind for k, v in m.metrics.items()}
    assert kinds["node_vmstat_pgfault"] == "counter"  # rate() over a name without _total
    assert kinds["app_events_total"] == "counter"
    assert kinds["process_open_fds"] == "gauge"
    assert kinds["api_latency_seconds"] == "histogram"
    assert kinds["rpc_size_bytes"] == "histogram"  # a _sum/_count family
    assert kinds["app_build_info"] == "info" and kinds["kube_pod_owner"] == "gauge"
    assert m.metrics["rpc_size_bytes"].buckets[0] >= 100  # bytes buckets, not seconds


def test_labels_from_matchers_by_and_variables() -> None:
    q = E.substitute('sum by (mode) (rate(node_cpu_seconds_total{instance=~"$node", mode!="idle", cpu=~"0|1"}[$__rate_interval]))')
    assert "[5m]" in q and "__stackctl_var_node__" in q
    m = M.build([(M.Query(q, "t"), E.walk(q))])
    series = m.metrics["node_cpu_seconds_total"].series
    assert all({"instance", "job", "mode", "cpu"} <= set(s.labels) for s in series)
    assert {s.labels["mode"] for s in series} >= {"user"} and "idle" not in {s.labels["mode"] for s in series}
    assert {s.labels["cpu"] for s in series} <= {"0", "1"}
    assert series[0].labels["instance"] == "10.0.0.1:9100" and series[0].labels["job"] == "node"
    assert len(value(m, q)) >= 1


def test_regex_and_negative_matchers_are_satisfied() -> None:
    assert alternatives("GET|POST") == ["GET", "POST"] and alternatives("5..") == []
    assert example("5..") and example("nvme[0-9]+n[0-9]+") == "nvme0n0"
    pools = Pools()
    ms = E.walk('x{code=~"5..", path!~"/health|/metrics", env!=""}').uses[0].matchers
    got = {m.name: pools.satisfying(m.name, [x for x in ms if x.name == m.name]) for m in ms}
    assert got["code"] == "500" and got["path"] not in ("/health", "/metrics") and got["env"]


def test_a_division_finds_its_partner_series() -> None:
    m = build('node_filesystem_avail_bytes{mountpoint="/", fstype!="tmpfs"} / node_filesystem_size_bytes',
              "sum by (device) (node_filesystem_size_bytes)")
    ratio = value(m, 'node_filesystem_avail_bytes{mountpoint="/", fstype!="tmpfs"} / node_filesystem_size_bytes')
    assert ratio and all(0 < v < 1 for _l, v in ratio)  # a part stays below its whole


def test_without_keeps_the_other_side_free_of_the_removed_labels() -> None:
    m = build('node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})',
              "sum by (cpu) (rate(node_cpu_seconds_total[5m]))")
    assert "cpu" not in m.metrics["node_load1"].series[0].labels
    assert value(m, 'node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})')


def test_info_join_lends_one_value_per_instance() -> None:
    q = 'sum by (nodename) (rate(node_network_receive_bytes_total[5m]) * on(instance) group_left(nodename) node_uname_info)'
    m = build(q)
    info = m.metrics["node_uname_info"].series
    assert len({s.labels["instance"] for s in info}) == len(info)  # many-to-one stays one
    assert all(s.level == 1 for s in info)
    assert len(value(m, q)) == 2


@pytest.mark.parametrize(("name", "low", "high"), [
    ("node_memory_MemAvailable_bytes", 1.0, 16 * 1024**3), ("process_cpu_usage_ratio", 0.0, 1.0),
    ("disk_used_percent", 0.0, 100.0), ("node_hwmon_temp_celsius", 20.0, 90.0), ("up", 1.0, 1.0),
])
def test_values_by_unit(name: str, low: float, high: float) -> None:
    m = build(name, "node_memory_MemTotal_bytes")
    assert all(low <= s.level <= high for s in m.metrics[name].series)


def test_memory_ratio_makes_sense() -> None:
    m = build("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes")
    (_l, v), *_ = value(m, "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes")
    assert 0.2 < v < 0.8


def test_histogram_quantile_follows_prometheus_interpolation() -> None:
    m = build('histogram_quantile(0.5, sum by (le) (rate(req_duration_seconds_bucket{le=~"0.1|0.3"}[5m])))')
    assert {0.1, 0.3} <= set(m.metrics["req_duration_seconds"].buckets)
    (_l, p50), = value(m, "histogram_quantile(0.5, sum by (le) (rate(req_duration_seconds_bucket[5m])))")
    assert 0.05 < p50 < 0.12  # the lognormal's median is 80 ms
    assert math.isclose(value(m, "sum(rate(req_duration_seconds_count[5m]))")[0][1], 10.5, rel_tol=0.01)


def test_unparseable_text_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        E.walk('{app="x"} |= "error"')


def test_static_variables_keep_their_values_by_operator() -> None:
    out = E.substitute('up{job=~"$job", env="$job", x="$q"}[$w] > $t', {"job": "api|worker", "w": "10m", "t": "0.5"})
    assert out == 'up{job=~"api|worker", env="api", x="__stackctl_var_q__"}[10m] > 0.5'


def test_a_self_join_ignoring_a_label_keeps_it_single_valued() -> None:
    q = 'kube_resourcequota{type="used"} / ignoring(instance, type) kube_resourcequota{type="hard"}'
    m = build(q)
    assert len({s.labels["instance"] for s in m.metrics["kube_resourcequota"].series}) == 1
    assert value(m, q)  # not many-to-many


def test_many_to_many_is_an_empty_result_as_in_prometheus() -> None:
    m = build("a_level", "b_level")
    assert value(m, "a_level / on() b_level") == []  # two series each side, nothing to tell them apart
