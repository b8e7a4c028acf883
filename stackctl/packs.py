"""The built-in packs: monitoring for the five applications in the seeds (``shared/seeds/``).

A pack is a set of assets: one Prometheus rule file (``prometheus/rules/<pack>.yml``) with its
``promtool`` tests, one Grafana folder of dashboards (``grafana/dashboards/<pack>/``) and, for
apps whose seeds describe logs, Loki logs panels. This module is the registry other code reads
(``stackctl packs``, the renderer choosing which packs load, seeding, verification).

Import stays cheap: the registry is plain data. Functions that need files read them on call.
Unit tests check that ``alerts`` matches the rule files and that the dashboards exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from stackctl.assets import asset_path
from stackctl.errors import UsageError
from stackctl.yamlfile import suggest


@dataclass(frozen=True)
class Pack:
    name: str
    title: str  # also the Grafana folder title (grafana/provisioning/dashboards/packs.yml)
    seed: str  # the seed write-up's number, e.g. "001"
    description: str
    rule_file: str  # relative to prometheus/
    dashboards_dir: str  # relative to grafana/dashboards/
    alerts: tuple[str, ...]
    metrics: tuple[str, ...]  # series the rules and dashboards read (what seeding must write)
    has_logs: bool
    log_selector: str = ""  # LogQL stream selector of the pack's logs panels, if any

    def rule_path(self) -> Path:
        return asset_path("prometheus", self.rule_file)

    def test_path(self) -> Path:
        return asset_path("prometheus", "tests", f"{Path(self.rule_file).stem}.test.yml")

    def dashboard_paths(self) -> list[Path]:
        return sorted(asset_path("grafana", "dashboards", self.dashboards_dir).glob("*.json"))


PACKS: tuple[Pack, ...] = (
    Pack(
        name="preview",
        title="Preview Generation",
        seed="000",
        description="Developer preview jobs: throughput, outcomes, queue depth, p95 latency, finance privacy denials.",
        rule_file="rules/preview.yml",
        dashboards_dir="preview",
        alerts=("PreviewGenerationHighFailureRate", "PreviewGenerationSlow", "PreviewQueueStalled", "FinancePrivacyDenialsSpike"),
        metrics=(
            "preview_generation_jobs_total",
            "preview_generation_jobs_completed_total",
            "preview_generation_job_duration_ms",
            "preview_generation_queue_depth",
            "finance_privacy_denials_total",
        ),
        has_logs=True,
        log_selector='{service="preview-jobs"}',
    ),
    Pack(
        name="media-clustering",
        title="Media Clustering",
        seed="001",
        description="Redis Streams clustering pipeline: job outcomes, latency, merge/split feedback, stream backlog.",
        rule_file="rules/media-clustering.yml",
        dashboards_dir="media-clustering",
        alerts=(
            "ClusterJobFailuresWarning",
            "ClusterJobFailuresCritical",
            "ClusterJobsStalled",
            "ClusterJobLatencyWarning",
            "ClusterJobLatencyCritical",
            "ClusterFeedbackFailures",
            "ClusterNoiseCountHigh",
            "MediaClusterPendingJobsWarning",
            "MediaClusterPendingJobsCritical",
            "MediaClusterStreamLagWarning",
            "MediaClusterStreamLagCritical",
        ),
        metrics=(
            "cluster_jobs_total",
            "cluster_job_duration_seconds",
            "cluster_feedback_operations_total",
            "cluster_last_noise_count",
            "media_cluster_pending_jobs",
            "media_cluster_stream_lag_seconds",
        ),
        has_logs=True,
        log_selector='{service="sploot-cluster"}',
    ),
    Pack(
        name="ik-engine",
        title="IK Engine",
        seed="002",
        description="Image engine API: readiness latency, 5xx ratio, image backlog, rate-limit denials.",
        rule_file="rules/ik-engine.yml",
        dashboards_dir="ik-engine",
        alerts=("APIReadyHighLatency95p", "IkEngineHigh5xx", "IkEngineHighLatency", "IkEngineImageBacklog"),
        metrics=(
            "api_ready_ms",
            "ik_image_processing_backlog",
            "rate_limit_denied_total",
            "metrics_exposed_total",
            "http_requests_total",
        ),
        has_logs=False,
    ),
    Pack(
        name="luneo",
        title="Luneo",
        seed="003",
        description="AI and render workers: queue wait, OpenAI/render/AR durations, embed failures, AI cost vs baseline.",
        rule_file="rules/luneo.yml",
        dashboards_dir="luneo",
        alerts=("QueueWaitTimeHigh", "ErrorRateHigh", "CostSpikeDetected"),
        metrics=(
            "luneo_worker_queue_wait_time_seconds",
            "luneo_worker_queue_wait_time_current_seconds",
            "luneo_openai_request_duration_seconds",
            "luneo_openai_errors_total",
            "luneo_render_duration_seconds",
            "luneo_embed_handshake_failures_total",
            "luneo_ar_conversion_duration_seconds",
            "luneo_ai_cost_current_cents",
            "luneo_ai_cost_baseline_cents",
            "luneo_requests_total",
        ),
        has_logs=True,
        log_selector='{service="luneo-backend"}',
    ),
    Pack(
        name="http-service",
        title="HTTP Service",
        seed="004",
        description="Generated HTTP services: RED metrics, database, business logic and process metrics.",
        rule_file="rules/http-service.yml",
        dashboards_dir="http-service",
        alerts=("HighErrorRate", "CriticalErrorRate", "HighLatency"),
        metrics=(
            "up",
            "http_requests_total",
            "http_request_duration_seconds",
            "http_errors_total",
            "db_query_count_total",
            "db_query_duration_seconds",
            "db_connection_pool_size",
            "db_connection_wait_seconds",
            "validation_failures_total",
            "business_rule_violations_total",
            "workflow_transitions_total",
            "python_process_resident_memory_bytes",
            "python_process_cpu_seconds_total",
            "python_gc_collections_total",
        ),
        has_logs=False,
    ),
)


def pack_names() -> tuple[str, ...]:
    return tuple(pack.name for pack in PACKS)


def get_pack(name: str) -> Pack:
    """The pack called ``name``; a UsageError with a did-you-mean otherwise."""
    for pack in PACKS:
        if pack.name == name:
            return pack
    raise UsageError(
        f"unknown pack {name!r}{suggest(name, pack_names())}",
        hint=f"known packs: {', '.join(pack_names())} (see `stackctl packs`)",
    )


def select_packs(names: Iterable[str] | None = None) -> tuple[Pack, ...]:
    """The packs to load, in registry order; ``None`` means all (the default)."""
    if names is None:
        return PACKS
    wanted = {get_pack(name).name for name in names}
    return tuple(pack for pack in PACKS if pack.name in wanted)


def pack_summary(pack: Pack) -> dict[str, Any]:
    """One row of ``stackctl packs``: plain data, also its ``--json`` form."""
    return {
        "name": pack.name,
        "title": pack.title,
        "seed": pack.seed,
        "alerts": len(pack.alerts),
        "dashboards": [path.stem for path in pack.dashboard_paths()],
        "logs": pack.has_logs,
        "description": pack.description,
    }
