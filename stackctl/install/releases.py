"""The pinned official releases `stackctl install` downloads: versions, URLs, sha256 per platform.

Data only (install.py does the work). Update a version here together with its hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

PlatformKey = tuple[str, str]


@dataclass(frozen=True)
class Release:
    """One pinned upstream release. Templates take ``{version}``, ``{os}`` and ``{arch}``."""

    service: str
    version: str
    url_template: str
    # Where the executable sits inside the archive; the first that exists wins (Grafana's
    # top directory has been both ``grafana-X`` and ``grafana-vX``).
    binary_paths: tuple[str, ...]
    sha256: Mapping[PlatformKey, str] = field(default_factory=dict)

    def _fmt(self, template: str, key: PlatformKey) -> str:
        return template.format(version=self.version, os=key[0], arch=key[1])

    def url(self, key: PlatformKey) -> str:
        return self._fmt(self.url_template, key)

    def binaries(self, key: PlatformKey) -> list[str]:
        return [self._fmt(p, key) for p in self.binary_paths]

    def dirname(self, key: PlatformKey) -> str:
        return f"{self.service}-{self.version}-{key[0]}-{key[1]}"


# Pinned sha256 of the official archives. Only hashes found published in public repositories
# are listed (each quoted as the publisher's own checksum, and where possible seen in more
# than one unrelated repository); a platform without a published hash is simply absent and
# install() refuses it with a hint. Sources:
#   prometheus 3.5.0  linux-amd64: many repos pin it, e.g. an "orishu-worker" README quoting
#                     the release's sha256sums.txt, an Ansible role default
#                     (prometheus_archive_checksum) and a Kubernetes tooling versions file.
#                     linux-arm64: an OpenStack-style sources table (sha256 amd64/arm64) and a
#                     "seismic prometheus-agent" installer (CHECKSUMS dict).
#                     darwin-arm64: one author's verify-then-extract scripts (SIGNATURE per
#                     arch, whose linux values match the above); single source.
#   alertmanager 0.28.1 linux-amd64/-arm64: the boxcutter Chef cookbook attributes, the
#                     boxcutter/oci docker-bake.hcl and the OpenStack-style table agree.
#                     darwin-arm64: the same verify script plus an unrelated test log quoting
#                     "the official archive checksum".
#   pushgateway 1.11.1 linux-amd64/-arm64: boxcutter Chef cookbook attributes and a second
#                     Chef attributes file (sha256 amd64/aarch64).
#   grafana 12.1.0    linux-amd64: an installer quoting
#                     dl.grafana.com/oss/release/grafana-12.1.0.linux-amd64.tar.gz.sha256.
# Not found anywhere (so absent): every darwin-amd64 archive, pushgateway darwin-*, grafana
# linux-arm64/darwin-*, and every Loki 3.5.x archive.
RELEASES: dict[str, Release] = {
    "prometheus": Release(
        service="prometheus",
        version="3.5.0",
        url_template="https://github.com/prometheus/prometheus/releases/download/v{version}/prometheus-{version}.{os}-{arch}.tar.gz",
        binary_paths=("prometheus-{version}.{os}-{arch}/prometheus",),
        sha256={
            ("linux", "amd64"): "e811827af26d822afb09a4f28314f61b618b12cff5369835a67f674d8b46f39a",
            ("linux", "arm64"): "173389cc42bf09c4e6e54cb53fa07a5a835d7c261e14775d2183181d6e385d1c",
            ("darwin", "arm64"): "c17bc2c992f0b5515eebe2b4ccd626214f8e309a0fe6ec40ed13c42ec13d05fb",
        },
    ),
    "alertmanager": Release(
        service="alertmanager",
        version="0.28.1",
        url_template="https://github.com/prometheus/alertmanager/releases/download/v{version}/alertmanager-{version}.{os}-{arch}.tar.gz",
        binary_paths=("alertmanager-{version}.{os}-{arch}/alertmanager",),
        sha256={
            ("linux", "amd64"): "5ac7ab5e4b8ee5ce4d8fb0988f9cb275efcc3f181b4b408179fafee121693311",
            ("linux", "arm64"): "d8832540e5b9f613d2fd759e31d603173b9c61cc7bb5e3bc7ae2f12038b1ce4f",
            ("darwin", "arm64"): "6ad077f9de99fe96843a68313f19dd2dbc1e8929135293e48bb10824bd6b4df4",
        },
    ),
    "pushgateway": Release(
        service="pushgateway",
        version="1.11.1",
        url_template="https://github.com/prometheus/pushgateway/releases/download/v{version}/pushgateway-{version}.{os}-{arch}.tar.gz",
        binary_paths=("pushgateway-{version}.{os}-{arch}/pushgateway",),
        sha256={
            ("linux", "amd64"): "6ce6ffab84d0d71195036326640295c02165462abd12b8092b0fa93188f5ee37",
            ("linux", "arm64"): "b6dc1c1c46d1137e5eda253f6291247e39330d3065a839857b947e59b4f3e64b",
        },
    ),
    "loki": Release(
        service="loki",
        version="3.5.0",  # the compose stack's grafana/loki:3.5.0
        url_template="https://github.com/grafana/loki/releases/download/v{version}/loki-{os}-{arch}.zip",
        binary_paths=("loki-{os}-{arch}",),
        sha256={},
    ),
    "grafana": Release(
        service="grafana",
        version="12.1.0",
        url_template="https://dl.grafana.com/oss/release/grafana-{version}.{os}-{arch}.tar.gz",
        binary_paths=("grafana-v{version}/bin/grafana", "grafana-{version}/bin/grafana"),
        sha256={
            ("linux", "amd64"): "69923cf95824008a6a7529f242295ecc2bc6b1dc4e5142c889971e88407d8712",
        },
    ),
}

# Services the stack runs whose upstream publishes no binary archive.
NOT_DISTRIBUTED: dict[str, str] = {
    "redis": "Redis publishes source only, no binary release; on Debian/Ubuntu `stackctl install redis --debian` "
    "(or just `stackctl up`) unpacks the distribution's package into the cache, without root; elsewhere install "
    "the OS package (apt-get install redis-server, dnf install redis, brew install redis)",
}

OS_NAMES = {"linux": "linux", "darwin": "darwin"}
ARCH_NAMES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
