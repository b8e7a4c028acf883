"""The Redis password: one quoted config value, kept out of compose files, URLs quoted."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from stackctl.config import load_config
from stackctl.runtime.compose import REDIS_AUTH_ENV, DockerRuntime, render_compose
from stackctl.runtime.redis_auth import redact, requirepass_line
from stackctl.seeding.targets import _with_password

HOSTILE = 'a b"c\\d\nprotected-mode no\tport 1 @/#é'


def test_requirepass_is_one_line_whatever_the_password() -> None:
    line = requirepass_line(HOSTILE)
    assert line.count("\n") == 1 and line.endswith('"\n') and line.startswith('requirepass "')
    assert "\t" not in line and '\\"' in line and "\\\\" in line and "\\xc3\\xa9" in line
    assert requirepass_line("plain") == 'requirepass "plain"\n'


def test_redact_covers_every_form_written() -> None:
    url = _with_password("redis://127.0.0.1:6379/0", HOSTILE)
    text = f"{HOSTILE} | {requirepass_line(HOSTILE)} | {url}"
    out = redact(text, HOSTILE)
    assert "a b" not in out and "protected-mode" not in out and out.count("***") == 3
    assert redact("nothing", None) == "nothing"


def test_the_seeders_url_carries_the_password_intact() -> None:
    url = _with_password("redis://127.0.0.1:6379/0", HOSTILE)
    kwargs = redis.connection.parse_url(url)
    assert kwargs["password"] == HOSTILE and kwargs["host"] == "127.0.0.1" and kwargs["port"] == 6379


@pytest.fixture
def cfg(tmp_path: Path):
    env = {"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state"), "STACKCTL_REDIS_PASSWORD": HOSTILE}
    return load_config(env=env, cwd=tmp_path)


def test_compose_passes_it_by_secret_file_not_environment(cfg) -> None:
    doc = render_compose(cfg, ("redis",))
    svc = doc["services"]["redis"]
    assert "environment" not in svc
    assert svc["command"][:2] == ["redis-server", "/run/secrets/redis-auth.conf"]
    assert svc["secrets"][0]["target"] == "/run/secrets/redis-auth.conf" and svc["secrets"][0]["mode"] == 0o400
    assert doc["secrets"]["redis_auth"] == {"environment": REDIS_AUTH_ENV}
    assert "a b" not in str(doc)
    env = DockerRuntime()._env(cfg)
    assert env[REDIS_AUTH_ENV] == requirepass_line(HOSTILE) and "REDISCLI_AUTH" not in env
