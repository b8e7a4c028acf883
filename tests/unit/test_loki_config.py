"""loki/loki.yml and Grafana's environment, checked statically: Loki refuses to start on a key it
does not know, and neither Loki nor Grafana can run on the project's machines.

ALLOWED lists, for each block loki.yml uses, the keys the Loki 3.5 configuration reference
(docs/sources/shared/configuration.md, "Supported contents and default values of loki.yaml")
documents for it. A key outside them is a typo Loki would stop on ("field x not found in type").
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from stackctl.assets import asset_path
from stackctl.render.definition import load_definition

_RING = {"kvstore", "heartbeat_period", "heartbeat_timeout", "tokens_file_path", "zone_awareness_enabled", "instance_id",
         "instance_interface_names", "instance_port", "instance_addr", "instance_availability_zone", "instance_enable_ipv6"}
_LIFECYCLER = {"ring", "num_tokens", "heartbeat_period", "heartbeat_timeout", "observe_period", "join_after", "min_ready_duration",
               "interface_names", "enable_inet6", "final_sleep", "tokens_file_path", "availability_zone", "unregister_on_shutdown",
               "readiness_check_ring_health", "address", "port", "id"}
ALLOWED: dict[tuple[str, ...], set[str]] = {
    (): {"target", "auth_enabled", "ballast_bytes", "server", "distributor", "querier", "query_scheduler", "frontend",
         "query_range", "ruler", "ingester_client", "ingester", "pattern_ingester", "index_gateway", "bloom_build",
         "bloom_gateway", "storage_config", "chunk_store_config", "schema_config", "compactor", "limits_config",
         "frontend_worker", "table_manager", "memberlist", "kafka_config", "runtime_config", "operational_config",
         "tracing", "analytics", "common", "shutdown_delay", "metrics_namespace", "block_builder", "block_scheduler",
         "dataobj", "ui", "compactor_grpc_client", "ruler_storage", "query_engine"},
    ("server",): {"http_listen_network", "http_listen_address", "http_listen_port", "http_listen_conn_limit",
                  "grpc_listen_network", "grpc_listen_address", "grpc_listen_port", "grpc_listen_conn_limit",
                  "log_level", "log_format", "log_source_ips_enabled", "graceful_shutdown_timeout",
                  "http_server_read_timeout", "http_server_write_timeout", "http_server_idle_timeout",
                  "grpc_server_max_recv_msg_size", "grpc_server_max_send_msg_size", "grpc_server_max_concurrent_streams",
                  "register_instrumentation", "http_path_prefix"},
    ("common",): {"path_prefix", "storage", "persist_tokens", "replication_factor", "ring", "instance_interface_names",
                  "instance_enable_ipv6", "instance_addr", "compactor_address", "compactor_grpc_address"},
    ("common", "storage"): {"s3", "gcs", "azure", "alibabacloud", "bos", "swift", "filesystem", "hedging",
                            "congestion_control", "object_store"},
    ("common", "storage", "filesystem"): {"chunks_directory", "rules_directory"},
    ("common", "ring"): _RING,
    ("common", "ring", "kvstore"): {"store", "prefix", "consul", "etcd", "multi"},
    ("schema_config",): {"configs"},
    ("ingester",): {"lifecycler", "concurrent_flushes", "flush_check_period", "flush_op_backoff", "flush_op_timeout",
                    "chunk_retain_period", "chunk_idle_period", "chunk_block_size", "chunk_target_size", "chunk_encoding",
                    "max_chunk_age", "autoforget_unhealthy", "sync_period", "sync_min_utilization",
                    "max_returned_stream_errors", "query_store_max_look_back_period", "wal", "index_shards",
                    "max_dropped_streams", "shutdown_marker_path", "owned_streams_check_interval", "kafka_ingestion"},
    ("ingester", "lifecycler"): _LIFECYCLER,
    ("limits_config",): {"ingestion_rate_strategy", "ingestion_rate_mb", "ingestion_burst_size_mb", "max_label_name_length",
                         "max_label_value_length", "max_label_names_per_series", "reject_old_samples",
                         "reject_old_samples_max_age", "creation_grace_period", "max_line_size", "max_line_size_truncate",
                         "increment_duplicate_timestamp", "discover_service_name", "discover_log_levels",
                         "use_owned_stream_count", "max_streams_per_user", "max_global_streams_per_user",
                         "unordered_writes", "per_stream_rate_limit", "per_stream_rate_limit_burst", "max_chunks_per_query",
                         "max_query_series", "max_query_lookback", "max_query_length", "max_query_range",
                         "max_query_parallelism", "tsdb_max_query_parallelism", "cardinality_limit",
                         "max_streams_matchers_per_query", "max_concurrent_tail_requests", "max_entries_limit_per_query",
                         "max_cache_freshness_per_query", "split_queries_by_interval", "query_timeout",
                         "volume_enabled", "volume_max_series", "retention_period", "retention_stream",
                         "allow_structured_metadata", "max_structured_metadata_size",
                         "max_structured_metadata_entries_count", "otlp_config", "shard_streams", "query_ready_index_num_days"},
    ("frontend",): {"log_queries_longer_than", "max_body_size", "query_stats_enabled", "max_outstanding_per_tenant",
                    "querier_forget_delay", "scheduler_address", "scheduler_dns_lookup_period",
                    "scheduler_worker_concurrency", "grpc_client_config", "graceful_shutdown_timeout",
                    "instance_interface_names", "instance_enable_ipv6", "instance_addr", "instance_port",
                    "compress_responses", "downstream_url", "tail_proxy_url", "tail_tls_config", "encoding",
                    "required_query_response_format", "fail_on_discarded_series"},
    ("frontend_worker",): {"frontend_address", "scheduler_address", "dns_lookup_duration", "id", "grpc_client_config",
                           "query_frontend_grpc_client", "query_scheduler_grpc_client"},
    ("query_range",): {"align_queries_with_step", "results_cache", "cache_results", "max_retries",
                       "parallelise_shardable_queries", "shard_aggregations", "cache_index_stats_results",
                       "index_stats_results_cache", "cache_volume_results", "volume_results_cache",
                       "cache_instant_metric_results", "instant_metric_results_cache", "instant_metric_query_split_align",
                       "cache_series_results", "series_results_cache", "cache_label_results", "label_results_cache"},
    ("query_range", "results_cache"): {"cache", "compression"},
    ("query_range", "results_cache", "cache"): {"default_validity", "background", "memcached", "memcached_client", "redis",
                                                "embedded_cache"},
    ("query_range", "results_cache", "cache", "embedded_cache"): {"enabled", "max_size_mb", "max_size_items", "ttl"},
    ("analytics",): {"reporting_enabled", "leader_election_enabled", "usage_stats_url", "proxy_url"},
    ("tracing",): {"enabled", "profiling_enabled"},
}
SCHEMA_ENTRY = {"from", "store", "object_store", "schema", "index", "chunks", "row_shards"}


@pytest.fixture(scope="module")
def loki() -> dict[str, Any]:
    return yaml.safe_load(asset_path("loki", "loki.yml").read_text())


def _blocks(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    if not isinstance(node, dict):
        return []
    out = [(path, node)]
    for key, value in node.items():
        out += _blocks(value, path + (str(key),))
    return out


def test_every_key_of_loki_yml_is_one_loki_3_5_documents(loki: dict[str, Any]) -> None:
    for path, block in _blocks(loki):
        if path in ALLOWED:
            unknown = set(block) - ALLOWED[path]
            assert not unknown, f"loki.yml {'.'.join(path) or '(top level)'}: {sorted(unknown)} not in the Loki 3.5 reference"
        else:
            assert any(path[: len(p)] == p for p in ALLOWED if p) or path == (), f"block {'.'.join(path)} has no allowed-key list"
    for entry in loki["schema_config"]["configs"]:
        assert set(entry) <= SCHEMA_ENTRY


def test_loki_readiness_is_not_held_back(loki: dict[str, Any]) -> None:
    lifecycler = loki["ingester"]["lifecycler"]
    assert lifecycler["min_ready_duration"] == "0s" and lifecycler["join_after"] == "0s"
    assert lifecycler["observe_period"] == "0s" and lifecycler["final_sleep"] == "0s"
    assert lifecycler["heartbeat_period"] == "1s" and loki["common"]["ring"]["heartbeat_period"] == "1s"
    assert loki["frontend"]["scheduler_dns_lookup_period"] == "1s"
    assert loki["frontend_worker"]["dns_lookup_duration"] == "1s"
    assert loki["common"]["ring"]["kvstore"]["store"] == "inmemory"


def test_loki_sends_nothing_off_the_machine(loki: dict[str, Any]) -> None:
    assert loki["analytics"]["reporting_enabled"] is False
    assert loki["tracing"]["enabled"] is False
    assert "memberlist" not in loki and "ruler" not in loki, "no gossip peers, no remote Alertmanager"
    assert loki["common"]["instance_addr"] == "127.0.0.1"
    text = asset_path("loki", "loki.yml").read_text()
    assert "http://" not in text.split("# Never phone home")[0].replace("cmd/loki", ""), "no URL to anywhere"


def test_each_loki_setting_says_why(loki: dict[str, Any]) -> None:
    lines = asset_path("loki", "loki.yml").read_text().splitlines()
    for key in ("join_after", "observe_period", "min_ready_duration", "heartbeat_period", "final_sleep",
                "scheduler_dns_lookup_period", "dns_lookup_duration", "reporting_enabled", "enabled: false"):
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(key))
        assert _commented(lines, index), f"{key}: a comment above it states the reason"


def _commented(lines: list[str], index: int) -> bool:
    """A comment right above the setting, or above the run of settings it belongs to (at most 2)."""
    for above in lines[max(0, index - 3):index][::-1]:
        if above.strip().startswith("#"):
            return True
        if not above.strip() or above.strip().endswith(":"):
            return False
    return False


GRAFANA_QUIET = {
    "GF_ANALYTICS_REPORTING_ENABLED": "false", "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false", "GF_ANALYTICS_FEEDBACK_LINKS_ENABLED": "false",
    "GF_PLUGINS_PREINSTALL_DISABLED": "true", "GF_PLUGINS_PLUGIN_ADMIN_ENABLED": "false",
    "GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED": "true", "GF_NEWS_NEWS_FEED_ENABLED": "false",
    "GF_SECURITY_DISABLE_GRAVATAR": "true", "GF_SNAPSHOTS_EXTERNAL_ENABLED": "false",
}


def test_grafana_phones_nowhere_and_preinstalls_nothing() -> None:
    env = load_definition()["grafana"].environment  # the native runtime passes the same environment
    for key, value in GRAFANA_QUIET.items():
        assert env.get(key) == value, key
    text = asset_path("compose", "docker-compose.yml").read_text().splitlines()
    for key in GRAFANA_QUIET:
        index = next(i for i, line in enumerate(text) if line.strip().startswith(f"{key}:"))
        assert _commented(text, index), f"{key}: a comment above it states the reason"


def test_grafana_provisions_only_what_the_stack_needs() -> None:
    root = asset_path("grafana", "provisioning")
    assert sorted(p.name for p in root.iterdir()) == ["dashboards", "datasources"]
    sources = yaml.safe_load((root / "datasources" / "datasources.yml").read_text())["datasources"]
    hosts = {s["url"].split("//")[1].split(":")[0] for s in sources}
    assert hosts <= {"prometheus", "loki", "alertmanager"}, "datasources point at the stack's own services only"
