"""grafana.provisioning: real public provisioning folders (tests/fixtures/provisioning/SOURCES.md)
merged into the stack's provisioning, and the bad inputs Grafana would refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.config import load_config
from stackctl.dashboards.datasources import Datasources
from stackctl.errors import ConfigError
from stackctl.render.configs import build_files, render
from stackctl.render.user_provisioning import user_provisioning

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "provisioning"


def _cfg(tmp_path: Path, provisioning: str, services: str = "prometheus,grafana,loki,alertmanager", copy: str | None = None) -> Any:
    if copy:
        shutil.copytree(FIXTURES / copy, tmp_path / "grafana" / "provisioning")
    (tmp_path / "stackctl.yaml").write_text(f"project: h43\ngrafana:\n  provisioning: {provisioning}\n")
    env = {"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state"), "STACKCTL_SERVICES": services}
    return load_config(env=env, cwd=tmp_path)


def _text(files: dict[str, bytes | Path], rel: str) -> str:
    content = files[rel]
    return content.read_text() if isinstance(content, Path) else content.decode()


def _datasources(files: dict[str, bytes | Path]) -> dict[str, Any]:
    return yaml.safe_load(_text(files, "grafana/provisioning/datasources/datasources.yml"))


def _by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in doc["datasources"]}


def test_dockprom_datasource_points_at_the_stack_and_takes_the_default(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "grafana/provisioning", copy="dockprom")
    user = user_provisioning(cfg)
    assert user is not None and any("left out" in w and "secureJsonData" in w and "tlsAuth" in w for w in user.warnings)
    doc = _datasources(build_files(cfg, "docker"))
    ds = _by_name(doc)
    assert ds["Prometheus"]["url"] == "http://prometheus:9090" and ds["Prometheus"]["isDefault"] is True
    assert "secureJsonData" not in ds["Prometheus"] and "tlsAuth" not in ds["Prometheus"]["jsonData"]
    assert ds["Prometheus"]["jsonData"]["timeInterval"] == "15s"  # the stack's scrape interval
    # the stack's own Prometheus (uid prometheus, the packs' dashboards use it) keeps working, renamed
    assert ds["Prometheus (stackctl)"]["uid"] == "prometheus" and ds["Prometheus (stackctl)"]["isDefault"] is False
    assert doc["deleteDatasources"] == [{"name": "Prometheus", "orgId": 1}]
    assert sum(bool(d.get("isDefault")) for d in doc["datasources"]) == 1


def test_native_runtime_points_them_at_the_host_ports(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "grafana/provisioning", copy="vegasbrianc")
    ds = _by_name(_datasources(build_files(cfg, "native")))
    assert ds["Prometheus"]["url"] == f"http://127.0.0.1:{cfg.port('prometheus')}"
    assert "basicAuth" not in ds["Prometheus"] and "basicAuthPassword" not in ds["Prometheus"]
    assert ds["Prometheus (stackctl)"]["isDefault"] is True  # theirs has `isDefault:` empty


def test_grafana_devenv_other_types_are_provisioned_as_written(tmp_path: Path) -> None:
    (tmp_path / "grafana").mkdir()
    shutil.copytree(FIXTURES / "grafana-devenv" / "datasources", tmp_path / "grafana" / "datasources")
    cfg = _cfg(tmp_path, "grafana/datasources/default.yaml")
    user = user_provisioning(cfg)
    assert user is not None
    ds = _by_name(_datasources(build_files(cfg, "docker")))
    assert ds["Postgres"]["url"] == "localhost:5432" and ds["Postgres"]["password"] == "password"
    assert ds["Prometheus"]["url"] == "http://prometheus:9090"  # localhost:9090 was their Prometheus: now the stack's
    written = [w for w in user.warnings if "provisioned as written" in w]
    assert len(written) == 1 and "'Elastic' (elasticsearch, " in written[0] and "default.yaml:35)" in written[0], user.warnings
    assert not any("no uid" in w for w in user.warnings)
    seen = Datasources.from_provisioning([_datasources(build_files(cfg, "docker"))])
    assert seen.by_name("MySQL") is not None and seen.default() == seen.by_name("Prometheus")


def test_grafana_devenv_provider_folder_missing_names_file_and_line(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "grafana-devenv" / "dashboards.yaml", tmp_path / "dashboards.yaml")
    cfg = _cfg(tmp_path, "dashboards.yaml")
    with pytest.raises(ConfigError) as info:
        build_files(cfg, "docker")
    assert f"{tmp_path / 'dashboards.yaml'}:11: options.path 'devenv/dev-dashboards' is not a folder" in info.value.message
    assert info.value.hint and "nothing was started" in info.value.hint
    (tmp_path / "devenv" / "dev-dashboards").mkdir(parents=True)
    (tmp_path / "devenv" / "dev-dashboards" / "d.json").write_text(json.dumps({"title": "D", "uid": "d1", "panels": []}))
    files = build_files(cfg, "docker")
    providers = yaml.safe_load(_text(files, "grafana/provisioning/dashboards/packs.yml"))["providers"]
    gdev = next(p for p in providers if p["name"] == "gdev dashboards")
    assert gdev["folder"] == "gdev dashboards" and "folderUid" not in gdev  # '' = Grafana generates one
    assert gdev["options"]["path"] == "/var/lib/grafana/dashboards/prov-gdev-dashboards" and gdev["updateIntervalSeconds"] == 3600
    assert "grafana/dashboards/prov-gdev-dashboards/d.json" in files


def test_homelab_container_path_is_found_beside_and_uids_stay_theirs(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "grafana/provisioning", copy="homelab-alerosmo")
    user = user_provisioning(cfg)
    assert user is not None and any("path inside the Grafana container" in w for w in user.warnings)
    tree = render(cfg, "native")  # the preflight's dashboard checks pass: the uid is provisioned
    assert not any("not provisioned" in w for w in tree.warnings), tree.warnings
    rendered = json.loads((tree.root / "grafana/dashboards/prov-Default/node.json").read_text())
    assert rendered["panels"][0]["datasource"] == {"type": "prometheus", "uid": "PBFA97CFB590B2093"}
    providers = yaml.safe_load((tree.root / "grafana/provisioning/dashboards/packs.yml").read_text())["providers"]
    own = next(p for p in providers if p["name"] == "Default")
    assert own["options"]["path"] == str(tree.root / "grafana/dashboards/prov-Default")
    from stackctl.verify.dashboard_files import check, provisioned_datasources

    assert provisioned_datasources(cfg).by_uid("PBFA97CFB590B2093") is not None
    assert not [r for r in check(cfg) if r.status == "error"]


def test_loki_of_the_stack_uid_replaces_the_stacks_and_takes_the_default(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "grafana/provisioning", copy="bpp-loki-postgres")
    doc = _datasources(build_files(cfg, "docker"))
    lokis = [d for d in doc["datasources"] if d["type"] == "loki"]
    assert len(lokis) == 1 and lokis[0]["url"] == "http://loki:3100" and lokis[0]["isDefault"] is True
    ds = _by_name(doc)
    assert ds["Prometheus"]["isDefault"] is False
    assert ds["PostgreSQL"]["secureJsonData"] == {"password": "${DJANGO_BPP_PG_MONITOR_PASSWORD}"}  # Grafana expands it


def test_string_name_references_become_uid_references(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "grafana/provisioning", copy="homelab-alerosmo")
    dash = tmp_path / "grafana/provisioning/dashboards/node.json"
    data = json.loads(dash.read_text())
    data["panels"][0]["datasource"] = "Prometheus-Homelab"
    dash.write_text(json.dumps(data))
    files = build_files(cfg, "docker")
    rendered = json.loads(_text(files, "grafana/dashboards/prov-Default/node.json"))
    assert rendered["panels"][0]["datasource"] == {"type": "prometheus", "uid": "PBFA97CFB590B2093"}


def _write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("rel, text, expected", [
    ("datasources/ds.yml", "apiVersion: 1\ndatasources:\n  - name: P\n    type: prometheus\n   url: x\n", "ds.yml:5"),
    ("datasources/ds.yml", "apiVersion: 2\ndatasources:\n  - {name: P, type: prometheus, uid: p1}\n", "ds.yml:1: apiVersion: apiVersion 2"),
    ("dashboards/d.yml", "apiVersion: 1\nproviders:\n  - name: a\n    type: file\n", "d.yml:3: providers[0].options: a file provider needs options.path"),
    ("datasources/ds.yml", "- name: P\n", "ds.yml:1: neither a datasources nor a dashboards provisioning file"),
])
def test_bad_files_name_file_and_line(tmp_path: Path, rel: str, text: str, expected: str) -> None:
    _write(tmp_path / "prov", rel, text)
    cfg = _cfg(tmp_path, "prov")
    with pytest.raises(ConfigError) as info:
        build_files(cfg, "docker")
    assert expected in info.value.message, info.value.message


def test_clashes_across_files_name_both(tmp_path: Path) -> None:
    prov = tmp_path / "prov"
    _write(prov, "datasources/a.yml", "apiVersion: 1\ndatasources:\n  - {name: A, type: prometheus, uid: same, isDefault: true}\n")
    _write(prov, "datasources/b.yml", "apiVersion: 1\ndatasources:\n  - {name: A, type: loki, uid: same, isDefault: true}\n")
    with pytest.raises(ConfigError) as info:
        build_files(_cfg(tmp_path, "prov"), "docker")
    message = info.value.message
    assert "b.yml:3: datasource uid 'same' is also provisioned at" in message and "a.yml:3" in message
    assert "datasource name 'A' is also provisioned" in message
    assert "a second default datasource" in message and "Grafana refuses to start" in message


def test_a_stack_uid_of_another_type_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "prov", "datasources/a.yml", "apiVersion: 1\ndatasources:\n  - {name: L, type: loki, uid: prometheus}\n")
    with pytest.raises(ConfigError, match="uid 'prometheus' is the stack's prometheus datasource's"):
        build_files(_cfg(tmp_path, "prov"), "docker")


def test_missing_path_names_stackctl_yaml_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _cfg(tmp_path, "nowhere/provisioning")
    assert f"{tmp_path / 'stackctl.yaml'}:3: grafana.provisioning 'nowhere/provisioning' does not exist" in info.value.message


def test_foldersFromFilesStructure_keeps_subfolders(tmp_path: Path) -> None:
    prov = tmp_path / "prov"
    _write(prov, "dashboards/p.yml", "apiVersion: 1\nproviders:\n  - name: all\n    type: file\n"
                                     "    options:\n      path: /var/lib/grafana/dashboards\n      foldersFromFilesStructure: true\n")
    _write(tmp_path, "dashboards/team-a/x.json", json.dumps({"title": "X", "uid": "x1", "panels": []}))
    files = build_files(_cfg(tmp_path, "prov"), "docker")
    assert "grafana/dashboards/prov-all/team-a/x.json" in files
    provider = next(p for p in yaml.safe_load(_text(files, "grafana/provisioning/dashboards/packs.yml"))["providers"]
                    if p["name"] == "all")
    assert provider["options"] == {"path": "/var/lib/grafana/dashboards/prov-all", "foldersFromFilesStructure": True}


def test_dockprom_dashboards_beside_their_provider_refer_to_it_by_name(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "grafana/provisioning", copy="dockprom")
    tree = render(cfg, "native")
    rendered = json.loads((tree.root / "grafana/dashboards/prov-Prometheus/monitor_services.json").read_text())
    assert rendered["rows"][0]["panels"][0]["datasource"] == "Prometheus"  # no uid: Grafana resolves the name
    from stackctl.verify.dashboard_files import check, provisioned_datasources

    seen = provisioned_datasources(cfg)
    assert seen.default() == seen.by_name("Prometheus") and seen.by_uid("prometheus") is not None
    assert not [r for r in check(cfg) if r.status == "error"]
    from stackctl.verify.run import load_dashboards

    dashboards = [d for d in load_dashboards(cfg, (), 0.0) if d.title == "Monitor Services"]
    assert dashboards and all(t.datasource.in_stack for p in dashboards[0].panels for t in p.targets)


def test_subfolders_without_foldersFromFilesStructure_load_into_one_folder(tmp_path: Path) -> None:
    prov = tmp_path / "prov"
    _write(prov, "dashboards/p.yml", "apiVersion: 1\nproviders:\n  - name: flat\n    folder: Flat\n    options:\n"
                                     "      path: /var/lib/grafana/dashboards\n")
    for team in ("a", "b"):
        _write(tmp_path, f"dashboards/{team}/overview.json", json.dumps({"title": f"O {team}", "uid": f"o-{team}", "panels": []}))
    files = build_files(_cfg(tmp_path, "prov"), "docker")
    assert {"grafana/dashboards/prov-flat/a-overview.json", "grafana/dashboards/prov-flat/b-overview.json"} <= set(files)


def test_the_grafana_folder_above_provisioning_is_accepted(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "grafana", copy="homelab-alerosmo")
    assert "grafana/dashboards/prov-Default/node.json" in build_files(cfg, "docker")


def test_a_folder_without_provisioning_files_says_which_folder_to_name(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as info:
        build_files(_cfg(tmp_path, "empty"), "docker")
    assert "no Grafana provisioning file found" in info.value.message and "/etc/grafana/provisioning" in str(info.value.hint)
