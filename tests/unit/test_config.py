from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.config import default_images, load_config
from stackctl.errors import ConfigError, UsageError

BASE_ENV = {"HOME": "/home/u"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stackctl.yaml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    cfg = load_config(env=BASE_ENV, cwd=Path("/nonexistent-dir"))
    assert cfg.project == "stackctl"
    assert cfg.runtime == "auto"
    assert cfg.bind == "127.0.0.1"
    assert cfg.ports["prometheus"] == 9090 and cfg.ports["grafana"] == 3000 and cfg.ports["redis"] == 6379
    assert cfg.ports["alertmanager"] == 9093 and cfg.ports["loki"] == 3100 and cfg.ports["pushgateway"] == 9091
    assert cfg.images["prometheus"].startswith("prom/prometheus:v")
    assert cfg.state_dir == Path("/home/u/.local/state/stackctl/stackctl")
    assert cfg.sources["project"] == "default"


def test_pinned_images_are_exact_versions() -> None:
    for service, image in default_images().items():
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", (service, image)


def test_layering_file_then_env_then_flags(tmp_path: Path) -> None:
    write(tmp_path, "project: fromfile\nports:\n  prometheus: 19090\n  grafana: 13000\nruntime: docker\n")
    env = {**BASE_ENV, "STACKCTL_PORT_PROMETHEUS": "29090", "STACKCTL_PROJECT": "fromenv"}
    cfg = load_config(env=env, cwd=tmp_path, flags={"project": "fromflag"})
    assert cfg.project == "fromflag" and cfg.sources["project"] == "flag --project"
    assert cfg.ports["prometheus"] == 29090 and cfg.sources["ports.prometheus"] == "env STACKCTL_PORT_PROMETHEUS"
    assert cfg.ports["grafana"] == 13000 and cfg.sources["ports.grafana"] == "stackctl.yaml"
    assert cfg.runtime == "docker"


def test_env_services_and_images(tmp_path: Path) -> None:
    env = {**BASE_ENV, "STACKCTL_SERVICES": "redis, prometheus", "STACKCTL_IMAGE_PROMETHEUS": "registry.local:5000/prometheus:v3"}
    cfg = load_config(env=env, cwd=tmp_path)
    assert cfg.services == ("prometheus", "redis")  # catalog order
    assert cfg.images["prometheus"] == "registry.local:5000/prometheus:v3"


@pytest.mark.promise("B6")
def test_explicit_config_path(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.yaml"
    other.write_text("project: other\n")
    assert load_config(str(other), env=BASE_ENV, cwd=Path("/")).project == "other"
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "missing.yaml"), env=BASE_ENV, cwd=tmp_path)


@pytest.mark.promise("B1")
def test_unknown_key_names_file_line_and_suggests(tmp_path: Path) -> None:
    write(tmp_path, "project: x\n\nprots:\n  prometheus: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(env=BASE_ENV, cwd=tmp_path)
    text = str(err.value)
    assert "stackctl.yaml:3" in text and "unknown key 'prots'" in text and "did you mean 'ports'" in text


@pytest.mark.promise("B1")
def test_bad_yaml_names_line(tmp_path: Path) -> None:
    write(tmp_path, "project: x\nports:\n  prometheus: [1\n")
    with pytest.raises(ConfigError, match=r"stackctl.yaml:\d+: invalid YAML"):
        load_config(env=BASE_ENV, cwd=tmp_path)


def test_wrong_type_names_field(tmp_path: Path) -> None:
    write(tmp_path, "project: x\ntimeout: soon\n")
    with pytest.raises(ConfigError, match=r"stackctl.yaml:2: timeout"):
        load_config(env=BASE_ENV, cwd=tmp_path)


@pytest.mark.promise("B1")
@pytest.mark.parametrize("value", ["0", "70000", "abc"])
def test_port_out_of_range_or_not_a_number(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="STACKCTL_PORT_REDIS"):
        load_config(env={**BASE_ENV, "STACKCTL_PORT_REDIS": value}, cwd=tmp_path)


@pytest.mark.promise("B1")
def test_duplicate_ports(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both configured on port 9090") as err:
        load_config(env={**BASE_ENV, "STACKCTL_PORT_GRAFANA": "9090"}, cwd=tmp_path)
    assert err.value.hint and "STACKCTL_PORT_" in err.value.hint


@pytest.mark.promise("B2")
def test_unknown_service_suggests(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="did you mean 'prometheus'"):
        load_config(env={**BASE_ENV, "STACKCTL_SERVICES": "prometheos"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="unknown service 'GRAFNA'"):
        load_config(env={**BASE_ENV, "STACKCTL_IMAGE_GRAFNA": "x:1"}, cwd=tmp_path)


@pytest.mark.promise("B4")
@pytest.mark.parametrize("image", ["Prom/Prometheus", "prom/prometheus:", "prom//prometheus:v1", "a b"])
def test_invalid_image_reference(image: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a valid image reference"):
        load_config(env={**BASE_ENV, "STACKCTL_IMAGE_PROMETHEUS": image}, cwd=tmp_path)


def test_bad_project_and_bind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="project name"):
        load_config(env={**BASE_ENV, "STACKCTL_PROJECT": "Bad Name"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="not an IP address"):
        load_config(env={**BASE_ENV, "STACKCTL_BIND": "localhost"}, cwd=tmp_path)


@pytest.mark.promise("S4")
def test_secret_never_in_public_dict(tmp_path: Path) -> None:
    cfg = load_config(env={**BASE_ENV, "STACKCTL_REDIS_PASSWORD": "hunter2"}, cwd=tmp_path)
    assert cfg.redis_password == "hunter2"
    assert "hunter2" not in repr(cfg.public_dict()) and "hunter2" not in repr(cfg)


def test_user_paths_relative_to_file(tmp_path: Path) -> None:
    (tmp_path / "dash").mkdir()
    write(tmp_path, "dashboards: [dash]\n")
    cfg = load_config(env=BASE_ENV, cwd=Path("/"), config_path=str(tmp_path / "stackctl.yaml"))
    assert cfg.dashboards == ((tmp_path / "dash").resolve(),)
    write(tmp_path, "rules: [nope]\n")
    with pytest.raises(ConfigError, match="rules path 'nope' does not exist"):
        load_config(env=BASE_ENV, cwd=tmp_path)


def test_bad_scrape_target(tmp_path: Path) -> None:
    write(tmp_path, "scrape:\n  - target: localhost\n")
    with pytest.raises(ConfigError, match=r"stackctl.yaml:2: scrape.0.target.*not host:port"):
        load_config(env=BASE_ENV, cwd=tmp_path)


def test_overrides_never_leak_into_the_defaults(tmp_path: Path) -> None:
    load_config(env={**BASE_ENV, "STACKCTL_IMAGE_PROMETHEUS": "mirror.local/prometheus:v3"}, cwd=tmp_path)
    assert default_images()["prometheus"].startswith("prom/prometheus:v")
    assert load_config(env=BASE_ENV, cwd=tmp_path).images["prometheus"].startswith("prom/prometheus:v")
