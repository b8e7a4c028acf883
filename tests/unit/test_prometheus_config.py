"""`prometheus: {config: prometheus.yml}`: the user's own Prometheus configuration, read and
checked (stackctl/promfile.py), merged into the stack's (render/prometheus_user.py) and
promtool-checked with errors at the user's file and line (render/prometheus_check.py)."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.config import Config, load_config
from stackctl.errors import ConfigError
from stackctl.render.configs import build_files, render
from stackctl.render.prometheus_user import Merged, merge_user_prometheus

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed here")


def _setup(tmp_path: Path, prom: str, extra: str = "", files: dict[str, str] | None = None) -> Config:
    (tmp_path / "prom").mkdir(exist_ok=True)
    (tmp_path / "prom" / "prometheus.yml").write_text(textwrap.dedent(prom))
    for rel, text in (files or {}).items():
        (tmp_path / "prom" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "prom" / rel).write_text(textwrap.dedent(text))
    # no Grafana: its checks have their own tests
    (tmp_path / "stackctl.yaml").write_text("services: [prometheus, alertmanager, pushgateway]\nprometheus:\n  config: prom/prometheus.yml\n"
                                            + textwrap.dedent(extra))
    return load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)


def _rendered(cfg: Config, runtime: str) -> tuple[dict[str, Any], Merged, dict[str, bytes | Path]]:
    merged: list[Merged] = []
    files = build_files(cfg, runtime, merged=merged)
    content = files["prometheus/prometheus.yml"]
    assert isinstance(content, bytes)
    return yaml.safe_load(content), merged[0], files


def _job(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(j for j in doc["scrape_configs"] if j["job_name"] == name)


RULE = """\
groups:
  - name: g
    rules:
      - alert: AppDown
        expr: up{job="app"} == 0
"""


def test_rule_files_globs_relative_to_the_users_file_join_rules(tmp_path: Path) -> None:
    (tmp_path / "own.yml").write_text(RULE)
    cfg = _setup(tmp_path, 'rule_files: ["rules/*.yml", "extra.rules"]\n',
                 extra="rules: [own.yml]\n", files={"rules/a.yml": RULE, "rules/b.yml": RULE, "extra.rules": RULE})
    prom = tmp_path / "prom"
    assert cfg.rules == (tmp_path / "own.yml", prom / "rules" / "a.yml", prom / "rules" / "b.yml", prom / "extra.rules")
    assert cfg.prometheus_config == prom / "prometheus.yml"


def test_missing_prometheus_config_names_the_stackctl_yaml_line(tmp_path: Path) -> None:
    (tmp_path / "stackctl.yaml").write_text("project: x\nprometheus:\n  config: nope.yml\n")
    with pytest.raises(ConfigError) as err:
        load_config(env={"HOME": str(tmp_path)}, cwd=tmp_path)
    assert f"{tmp_path / 'stackctl.yaml'}:3: prometheus.config 'nope.yml' does not exist" in err.value.message
    assert "relative to stackctl.yaml" in (err.value.hint or "")


@pytest.mark.parametrize(("prom", "expected"), [
    ("global: [1\n", "prometheus.yml:2: invalid YAML"),
    ("- job_name: x\n", "prometheus.yml:1: a Prometheus configuration is a mapping"),
    ("global: {}\nscrape_confgs: []\n", "prometheus.yml:2: 'scrape_confgs' is not a Prometheus configuration key (did you mean 'scrape_configs'?)"),
    ("scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n",
     "prometheus.yml:4: job_name 'a' is already the name of the job at"),
    ("scrape_configs:\n  - static_configs: []\n", "prometheus.yml:2: scrape_configs[0] has no job_name"),
    ("scrape_configs: {job_name: a}\n", "prometheus.yml:1: scrape_configs must be a list"),
    ("rule_files: [missing.yml]\n", "prometheus.yml:1: 'missing.yml' does not exist"),
    ("global: 15s\n", "prometheus.yml:1: global must be a mapping"),
    # shapes promtool refuses, which the merge must carry to it intact (found by fuzzing)
    ("global: {external_labels: [1]}\n", "prometheus.yml:1: "),
    ("scrape_configs: [{job_name: prometheus, static_configs: [{targets: 5}]}]\n", "prometheus.yml:1: "),
    ("scrape_configs: [{job_name: a, docker_sd_configs: [5]}]\n", "prometheus.yml:1: "),
    ("scrape_configs: [{job_name: a, file_sd_configs: {files: x}}]\n", "prometheus.yml:1: cannot unmarshal !!map"),
])
def test_bad_input_is_refused_with_file_line_and_hint(tmp_path: Path, prom: str, expected: str) -> None:
    cfg = _setup(tmp_path, prom)  # the config loads (`down` and `status` must work meanwhile)...
    with pytest.raises(ConfigError) as err:
        render(cfg, "native")  # ...and every `up` refuses it before anything is written
    with pytest.raises(ConfigError):
        render(cfg, "docker")
    assert expected in err.value.message
    assert err.value.hint
    assert not (tmp_path / "state" / "rendered").exists()


def test_jobs_are_kept_as_written_with_paths_resolved_native(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, """\
        global: {scrape_interval: 30s, scrape_timeout: 20s, evaluation_interval: 1m, external_labels: {region: laptop}}
        scrape_configs:
          - job_name: app
            scheme: https
            honor_labels: true
            params: {module: [http_2xx]}
            scrape_interval: 10s
            basic_auth: {username: u, password_file: secrets/pw}
            tls_config: {ca_file: ca.pem, insecure_skip_verify: true}
            static_configs: [{targets: ["localhost:8000"], labels: {team: a}}]
            relabel_configs: [{source_labels: [__address__], target_label: __param_target}]
            metric_relabel_configs: [{source_labels: [__name__], regex: "go_.*", action: drop}]
          - job_name: sd
            file_sd_configs: [{files: ["sd/*.json"], refresh_interval: 1m}]
        """, files={"secrets/pw": "x\n", "ca.pem": "", "sd/a.json": '[{"targets": ["localhost:8001"]}]'})
    doc, merged, _ = _rendered(cfg, "native")
    prom = tmp_path / "prom"
    app = _job(doc, "app")
    assert app["basic_auth"]["password_file"] == str(prom / "secrets" / "pw")
    assert app["tls_config"] == {"ca_file": str(prom / "ca.pem"), "insecure_skip_verify": True}
    assert app["static_configs"] == [{"targets": ["localhost:8000"], "labels": {"team": "a"}}]
    assert app["relabel_configs"] == [{"source_labels": ["__address__"], "target_label": "__param_target"}]
    assert (app["scheme"], app["honor_labels"], app["params"], app["scrape_interval"]) == ("https", True, {"module": ["http_2xx"]}, "10s")
    assert _job(doc, "sd")["file_sd_configs"][0]["files"] == [str(prom / "sd" / "*.json")]
    # global: theirs, but the stack's evaluation interval; external labels merged
    assert doc["global"]["scrape_interval"] == "30s" and doc["global"]["scrape_timeout"] == "20s"
    assert doc["global"]["evaluation_interval"] == "1s"
    assert doc["global"]["external_labels"] == {"stack": "stackctl", "region": "laptop"}
    assert any("global.evaluation_interval 1m -> 1s" in n for n in merged.notices)
    # the stack's own jobs stay, first; the user's follow
    names = [j["job_name"] for j in doc["scrape_configs"]]
    assert names[:3] == ["prometheus", "alertmanager", "pushgateway"] and names[-2:] == ["app", "sd"]


def test_docker_copies_files_in_and_sends_localhost_to_the_host(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, """\
        scrape_configs:
          - job_name: app
            authorization: {credentials_file: token}
            static_configs: [{targets: ["localhost:8000", "db.example:5432"]}]
            relabel_configs: [{target_label: team, replacement: a}]
          - job_name: sd
            file_sd_configs: [{files: ["sd/*.json"]}]
            http_sd_configs: [{url: "http://localhost:8080/sd"}]
        """, files={"token": "t\n", "sd/a.json": "[]", "sd/b.json": "[]"})
    (tmp_path / "prom" / "token").chmod(0o600)
    doc, merged, files = _rendered(cfg, "docker")
    app = _job(doc, "app")
    copied = app["authorization"]["credentials_file"]
    assert copied.startswith("/etc/prometheus/user-files/") and copied.endswith("-token")
    rel = "prometheus/" + copied.removeprefix("/etc/prometheus/")
    assert files[rel] == tmp_path / "prom" / "token"
    # the user's relabelling first, then: instance as written, address to the host
    assert app["relabel_configs"][0] == {"target_label": "team", "replacement": "a"}
    assert app["relabel_configs"][-1]["replacement"] == "host.docker.internal$2"
    assert app["static_configs"][0]["targets"] == ["localhost:8000", "db.example:5432"]
    sd = _job(doc, "sd")
    pattern = sd["file_sd_configs"][0]["files"][0]
    assert pattern.startswith("/etc/prometheus/user-files/") and pattern.endswith("/*.json")
    assert sorted(p.name for r, p in files.items() if isinstance(p, Path) and r.startswith("prometheus/user-files/") and r.endswith(".json")) == ["a.json", "b.json"]
    assert sd["http_sd_configs"][0]["url"] == "http://host.docker.internal:8080/sd"
    assert not merged.notices


def test_laptop_unreachable_discovery_is_left_out_naming_the_job(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, """\
        scrape_configs:
          - job_name: pods
            kubernetes_sd_configs: [{role: pod}]
          - job_name: mixed
            static_configs: [{targets: ["localhost:9100"]}]
            ec2_sd_configs: [{region: eu-west-1}]
          - job_name: containers
            docker_sd_configs: [{host: "unix:///var/run/docker.sock"}]
          - job_name: dns
            dns_sd_configs: [{names: [_prometheus._tcp.example.com]}]
        """)
    doc, merged, _ = _rendered(cfg, "docker")
    names = [j["job_name"] for j in doc["scrape_configs"]]
    assert "pods" not in names and "containers" not in names and "mixed" in names and "dns" in names
    assert "ec2_sd_configs" not in _job(doc, "mixed")
    text = "\n".join(merged.notices)
    assert "prometheus.yml:2: job 'pods' left out: kubernetes_sd_configs" in text
    assert "prometheus.yml:6: job 'mixed': ec2_sd_configs left out" in text
    assert "job 'containers' left out: docker_sd_configs: the stack's Prometheus container has no Docker socket" in text
    native, _, _ = _rendered(cfg, "native")
    assert "containers" in [j["job_name"] for j in native["scrape_configs"]]  # the host's Docker daemon is reachable


def test_sections_that_leave_the_machine_are_dropped_with_a_notice(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, """\
        alerting:
          alertmanagers: [{static_configs: [{targets: ["am.example:9093"]}]}]
        remote_write: [{url: "https://remote.example/api/v1/write"}]
        remote_read: [{url: "https://remote.example/api/v1/read"}]
        storage: {tsdb: {out_of_order_time_window: 1h}, exemplars: {max_exemplars: 10}}
        """)
    doc, merged, _ = _rendered(cfg, "native")
    assert "remote_write" not in doc and "remote_read" not in doc
    assert "am.example:9093" not in str(doc["alerting"])
    assert doc["storage"] == {"tsdb": {"out_of_order_time_window": "25h"}, "exemplars": {"max_exemplars": 10}}
    text = "\n".join(merged.notices)
    assert "prometheus.yml:1: alerting: dropped, alerts go to the stack's Alertmanager" in text
    assert "prometheus.yml:3: remote_write: dropped, nothing leaves the machine" in text
    assert "prometheus.yml:4: remote_read: dropped" in text


def test_a_job_named_like_the_stacks_own(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, """\
        scrape_configs:
          - job_name: prometheus
            static_configs: [{targets: ["localhost:9090"]}]
          - job_name: alertmanager
            static_configs: [{targets: ["am.internal:9093"]}]
        """)
    doc, merged, _ = _rendered(cfg, "native")
    names = [j["job_name"] for j in doc["scrape_configs"]]
    assert names.count("prometheus") == 1 and "user-prometheus" not in names  # the stack's job covers it
    assert _job(doc, "user-alertmanager")["static_configs"] == [{"targets": ["am.internal:9093"]}]
    text = "\n".join(merged.notices)
    assert "prometheus.yml:2: job 'prometheus' scrapes the stack's own prometheus: left out" in text
    assert "prometheus.yml:4: job 'alertmanager' is also one of stackctl's own jobs: scraped as job 'user-alertmanager'" in text


def test_a_job_also_under_scrape_is_an_error(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, "scrape_configs:\n  - job_name: app\n    static_configs: [{targets: [\"localhost:8000\"]}]\n",
                 extra="scrape:\n  - {target: localhost:8000, job: app}\n")
    with pytest.raises(ConfigError) as err:
        build_files(cfg, "native")
    assert "prometheus.yml:2: job_name 'app' is also the job of scrape[0]" in err.value.message


def test_scrape_config_files_are_inlined(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, 'scrape_config_files: ["jobs/*.yml"]\nscrape_configs:\n  - job_name: a\n',
                 files={"jobs/b.yml": "scrape_configs:\n  - job_name: b\n    static_configs: [{targets: [\"localhost:1234\"]}]\n"})
    doc, _, _ = _rendered(cfg, "native")
    assert "scrape_config_files" not in doc
    assert [j["job_name"] for j in doc["scrape_configs"]][-2:] == ["a", "b"]


@needs_promtool
def test_promtool_errors_point_at_the_users_file_and_line(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, """\
        global:
          scrape_interval: 30s
          scrape_timeot: 5s
        scrape_configs:
          - job_name: app
            static_configs: [{targets: ["localhost:8000"]}]
            bogus_field: 1
        """)
    with pytest.raises(ConfigError) as err:
        render(cfg, "native")
    src = tmp_path / "prom" / "prometheus.yml"
    assert f"{src}:3: field scrape_timeot not found" in err.value.message
    assert f"{src}:7: field bogus_field not found in type config.ScrapeConfig" in err.value.message
    assert not (tmp_path / "state" / "rendered" / "prometheus" / "prometheus.yml").exists()  # nothing written


@needs_promtool
@pytest.mark.parametrize("runtime", ["native", "docker"])
def test_promtool_semantic_errors_name_the_job(tmp_path: Path, runtime: str) -> None:
    cfg = _setup(tmp_path, """\
        scrape_configs:
          - job_name: ok
            static_configs: [{targets: ["localhost:8000"]}]
          - job_name: slow
            scrape_interval: 5s
            scrape_timeout: 10s
            static_configs: [{targets: ["localhost:8000"]}]
          - job_name: rx
            static_configs: [{targets: ["localhost:8000"]}]
        """)
    with pytest.raises(ConfigError) as err:
        render(cfg, runtime)
    assert f"{tmp_path / 'prom' / 'prometheus.yml'}:4: scrape timeout greater than scrape interval" in err.value.message


@needs_promtool
def test_a_valid_file_with_docker_copies_passes_promtool(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, """\
        scrape_configs:
          - job_name: app
            basic_auth: {username: u, password_file: pw}
            file_sd_configs: [{files: ["sd/*.json"]}]
        """, files={"pw": "secret\n", "sd/a.json": '[{"targets": ["localhost:8001"]}]'})
    (tmp_path / "prom" / "pw").chmod(0o600)
    tree = render(cfg, "docker")
    assert not tree.warnings
    copies = sorted((tmp_path / "state" / "rendered" / "prometheus" / "user-files").rglob("*"))
    pw = next(p for p in copies if p.name.endswith("-pw"))
    assert pw.stat().st_mode & 0o777 == 0o600  # a secret never wider than the user's own file
    assert any(p.name.endswith("a.json") for p in copies)


@needs_promtool
def test_a_broken_file_sd_file_is_named(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, 'scrape_configs:\n  - job_name: sd\n    file_sd_configs: [{files: ["t.json"]}]\n',
                 files={"t.json": '[{"targets": ["localhost:8001"], "labels": {"0bad": "x"}}]'})
    with pytest.raises(ConfigError) as err:
        render(cfg, "native")
    assert str(tmp_path / "prom" / "t.json") in err.value.message


# -- public prometheus.yml files (tests/fixtures/prometheus-config/public, see its SOURCES.md) --------

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "prometheus-config" / "public"
EXPECTED = {  # name -> (notices every runtime gives, jobs the user's file adds)
    "prometheus-example": (["global.evaluation_interval 15s -> 1s", "alerting: dropped",
                            "job 'prometheus' scrapes the stack's own prometheus: left out"], []),
    "dockprom": (["alerting: dropped", "job 'prometheus' scrapes the stack's own prometheus",
                  "job 'pushgateway' scrapes the stack's own pushgateway"], ["nodeexporter", "cadvisor"]),
    "vegasbrianc": (["job 'prometheus' is also one of stackctl's own jobs: scraped as job 'user-prometheus'"], ["user-prometheus"]),
    "awesome-compose": (["alerting: dropped", "job 'prometheus' scrapes the stack's own prometheus"], []),
    "prometheus-docker": (["job 'prometheus' scrapes the stack's own prometheus"], ["docker"]),
    "prometheus-consul": ([], ["consul-services", "services-with-metrics-tag"]),
    "prometheus-agent": (["remote_write: dropped, nothing leaves the machine"], ["prometheus-agent"]),
    "prometheus-kubernetes": ([f"job 'kubernetes-{k}' left out: kubernetes_sd_configs" for k in ("apiservers", "nodes", "services", "pods")], []),
}


@needs_promtool
@pytest.mark.parametrize("runtime", ["native", "docker"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_public_prometheus_yml_renders_cleanly_with_the_right_warnings(tmp_path: Path, name: str, runtime: str) -> None:
    (tmp_path / "stackctl.yaml").write_text(f"services: [prometheus, alertmanager, pushgateway]\nprometheus:\n  config: {PUBLIC / name / 'prometheus.yml'}\n")
    cfg = load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    assert [p.name for p in cfg.rules] == (["alert.rules"] if (PUBLIC / name / "alert.rules").exists() else [])
    tree = render(cfg, runtime)
    notices, jobs = EXPECTED[name]
    for text in notices:
        assert any(text in w for w in tree.warnings), (text, tree.warnings)
    assert all(str(PUBLIC / name / "prometheus.yml") in w for w in tree.warnings), tree.warnings  # each names the file and line
    doc = yaml.safe_load((tmp_path / "state" / "rendered" / "prometheus" / "prometheus.yml").read_text())
    names = [j["job_name"] for j in doc["scrape_configs"]]
    assert names[:3] == ["prometheus", "alertmanager", "pushgateway"]
    assert set(jobs) <= set(names[3:]), names
    if name == "prometheus-docker":
        assert ("docker-containers" in names) == (runtime == "native"), names


def test_rule_files_of_one_name_in_two_folders_both_load(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, 'rule_files: ["alerts/*.yml", "recording/*.yml"]\n',
                 files={"alerts/node.yml": RULE, "recording/node.yml": RULE.replace("AppDown", "Other")})
    rules = sorted(rel for rel in build_files(cfg, "native") if rel.startswith("prometheus/rules/user-node"))
    assert len(rules) == 2 and rules[1] == "prometheus/rules/user-node.yml"
    assert re.fullmatch(r"prometheus/rules/user-node-[0-9a-f]{8}\.yml", rules[0]), rules


def test_init_detects_the_repos_prometheus_yml(tmp_path: Path) -> None:
    from stackctl.byo.init import init_config

    repo = tmp_path / "dockprom"
    (repo / "prometheus").mkdir(parents=True)
    for name in ("prometheus.yml", "alert.rules"):
        (repo / "prometheus" / name).write_text((PUBLIC / "dockprom" / name).read_text())
    (repo / "docker-compose.yml").write_text("services:\n  prometheus: {image: prom/prometheus}\n")  # a look-alike
    (repo / "charts").mkdir()
    (repo / "charts" / "prometheus.yaml").write_text("server: {global: {scrape_interval: 1m}}\n")  # not one either
    result = init_config(repo, probe=False)
    assert result.detected.prometheus == "prometheus/prometheus.yml"
    assert "prometheus:  # found in this repo\n  config: prometheus/prometheus.yml\n" in result.path.read_text()
    cfg = load_config(env={"HOME": str(tmp_path)}, cwd=repo)
    assert cfg.prometheus_config == repo / "prometheus" / "prometheus.yml"
    assert cfg.rules == (repo / "prometheus" / "alert.rules",)


@needs_promtool
def test_a_private_prometheus_yml_renders_private_on_native(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: inline-secret}\n"
                           "    static_configs: [{targets: ['localhost:1']}]\n")
    (tmp_path / "prom" / "prometheus.yml").chmod(0o600)
    render(cfg, "native")
    assert (tmp_path / "state" / "rendered" / "prometheus" / "prometheus.yml").stat().st_mode & 0o777 == 0o600


def test_container_paths_of_the_original_setup_are_found_beside_the_file(tmp_path: Path) -> None:
    """A file written for `./prometheus:/etc/prometheus` in compose names container paths."""
    root = "/nonexistent-h35/etc/prometheus"
    cfg = _setup(tmp_path, f"""\
        rule_files: ["{root}/alert.rules", "{root}/rules/*.yml"]
        scrape_configs:
          - job_name: app
            basic_auth: {{username: u, password_file: {root}/pw}}
            file_sd_configs: [{{files: ["{root}/targets/*.json"]}}]
        """, files={"alert.rules": RULE, "rules/a.yml": RULE, "pw": "x\n", "targets/t.json": "[]"})
    prom = tmp_path / "prom"
    assert cfg.rules == (prom / "alert.rules", prom / "rules" / "a.yml")
    doc, merged, _ = _rendered(cfg, "native")
    app = _job(doc, "app")
    assert app["basic_auth"]["password_file"] == str(prom / "pw")
    assert app["file_sd_configs"][0]["files"] == [str(prom / "targets" / "*.json")]
    text = "\n".join(merged.notices)
    assert f"prometheus.yml:1: {root}/alert.rules does not exist here: using {prom / 'alert.rules'}" in text
    assert f"job 'app': {root}/pw does not exist here: using {prom / 'pw'}" in text


# -- hostile shapes: a clean ConfigError naming the file, never a traceback ------------------------

PROM_KEYS = ["global", "scrape_configs", "rule_files", "scrape_config_files", "alerting", "remote_write", "storage",
             "job_name", "static_configs", "targets", "relabel_configs", "file_sd_configs", "files", "password_file",
             "kubernetes_sd_configs", "external_labels", "evaluation_interval", "tsdb", "basic_auth"]


def test_hostile_shapes_never_crash(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=6))
    values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=3),
                                                       st.dictionaries(st.sampled_from(PROM_KEYS), c, max_size=3)), max_leaves=12)
    job_keys = st.sampled_from(["static_configs", "file_sd_configs", "docker_sd_configs", "consul_sd_configs",
                                "http_sd_configs", "kubernetes_sd_configs", "relabel_configs", "basic_auth", "tls_config"])
    jobs = st.tuples(st.sampled_from(["prometheus", "app", "alertmanager"]), st.dictionaries(job_keys, values, max_size=3)).map(
        lambda pair: {"job_name": pair[0], **pair[1]})
    docs = st.one_of(st.dictionaries(st.sampled_from(PROM_KEYS[:7]), values, max_size=4),
                     st.fixed_dictionaries({"scrape_configs": st.lists(jobs, max_size=3),
                                            "global": st.dictionaries(st.sampled_from(PROM_KEYS[14:17]), values, max_size=2)}))

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(docs)
    def run(doc: dict[str, Any]) -> None:
        cfg = _setup(tmp_path, yaml.safe_dump(doc))
        for runtime in ("native", "docker"):
            try:  # the merge alone: build_files would also render every shipped dashboard each time
                merge_user_prometheus(cfg, runtime, {"global": {"evaluation_interval": "1s"}, "scrape_configs": [{"job_name": "prometheus"}]})
            except ConfigError as exc:
                assert "prometheus.yml" in exc.message or "stackctl.yaml" in exc.message, exc.message

    run()
