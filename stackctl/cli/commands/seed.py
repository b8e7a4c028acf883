from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Optional

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from
from stackctl.errors import UsageError
from stackctl.seeding import daemon
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import DEFAULT_WINDOW, SeedReport, check_history, seed
from stackctl.seeding.scenario import format_duration, parse_duration
from stackctl.seeding.targets import resolve_targets

ScenarioOpt = Annotated[Optional[str], typer.Option("--scenario", "-s", help="Scenario name (stackctl scenarios) or a YAML path.")]
HistoryOpt = Annotated[str, typer.Option("--history", help="Past to write at once, e.g. 30m, 2h (up to the stack's 24h window).")]
DurationOpt = Annotated[Optional[str], typer.Option("--duration", help="Keep seeding live this long, e.g. 10m (default: until Ctrl-C; 0: history only).")]
UrlOpt = Optional[str]


def _seconds(flag: str, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _progress(message: str) -> None:
    if message.startswith("warning: "):
        console.warn(message.removeprefix("warning: "))
    else:
        console.info(message)


def _show(report: SeedReport) -> None:
    console.success(f"seeded {report.scenario}: {report.samples:,} samples, {report.log_lines:,} log lines, "
                    f"{report.stream_entries:,} stream entries, {report.live_ticks} live ticks "
                    f"(random seed {report.random_seed}; stopped by {report.stopped_by})")
    for line in report.outages:
        console.info(f"outage: {line}")
    if report.dropped:
        console.warn(f"{report.dropped:,} samples/entries could not be delivered: {report.last_error}")


def register(app: typer.Typer) -> None:
    seed_app = typer.Typer(help="Seed the stack with a scenario's synthetic traffic: history at once, then live.",
                           invoke_without_command=True, no_args_is_help=False)

    @seed_app.callback()
    def seed_cmd(ctx: typer.Context, scenario: ScenarioOpt = None, history: HistoryOpt = "30m",
                 duration: DurationOpt = None, detach: Annotated[bool, typer.Option("--detach", help="Run in the background (seed status / seed stop).")] = False,
                 random_seed: Annotated[Optional[int], typer.Option("--random-seed", help="Same seed, same data.")] = None,
                 prometheus_url: Annotated[UrlOpt, typer.Option("--prometheus-url", help="Seed this Prometheus instead of the stack's.")] = None,
                 loki_url: Annotated[UrlOpt, typer.Option("--loki-url", help="Seed this Loki instead of the stack's.")] = None,
                 redis_url: Annotated[UrlOpt, typer.Option("--redis-url", help="Seed this Redis (redis://host:port) instead of the stack's.")] = None,
                 config: ConfigOpt = None, project: ProjectOpt = None) -> None:
        """Seed a scenario (stackctl seed --scenario preview-failures)."""
        if ctx.invoked_subcommand:
            return
        if not scenario:
            raise UsageError("--scenario is required", hint="list them with `stackctl scenarios`")
        hist = timedelta(seconds=_seconds("--history", history))
        check_history(hist, DEFAULT_WINDOW)
        dur = _seconds("--duration", duration) if duration is not None else None
        sc = load_scenario(scenario)
        explicit = prometheus_url and loki_url and redis_url
        cfg = None if explicit else config_from(config, project=project)
        targets = resolve_targets(cfg, prometheus_url, loki_url, redis_url)
        if detach:
            state_dir = config_from(config, project=project).state_dir if cfg is None else cfg.state_dir
            name = str(Path(scenario).resolve()) if scenario.endswith((".yaml", ".yml")) else scenario
            pid = daemon.start(state_dir, {"scenario": name, "targets": targets.__dict__, "history": hist.total_seconds(),
                                           "duration": dur, "random_seed": random_seed})
            console.success(f"seeding {sc.name} in the background (pid {pid}); log: {daemon.log_path(state_dir)}")
            console.info("check it with `stackctl seed status`, stop it with `stackctl seed stop`")
            return
        console.info(f"seeding {sc.name}: {format_duration(hist.total_seconds())} of history, then live"
                     + (f" for {format_duration(dur)}" if dur else " until Ctrl-C" if dur is None else ""))
        if cfg is not None:
            daemon.record_foreground(cfg.state_dir, sc.name)
        spinner = ExitStack()
        spinner.enter_context(console.status(f"writing {format_duration(hist.total_seconds())} of history"))
        try:
            # The first tick report arrives when the history is written: stop the spinner there.
            report = seed(sc, targets, hist, dur, random_seed, _progress, on_tick=lambda _r: spinner.close())
        finally:
            spinner.close()
            if cfg is not None:
                daemon.record_foreground(cfg.state_dir, sc.name, "finished")
        _show(report)

    @seed_app.command("status")
    def status(json: JsonOpt = False, config: ConfigOpt = None, project: ProjectOpt = None) -> None:
        """Is a detached seeder running? Scenario, since, samples written, last error."""
        data = daemon.read_status(config_from(config, project=project).state_dir)
        if json:
            console.json_out(data)
            return
        state = "running" if data["running"] else data.get("state", "stopped")
        pending = sum(int(data.get(k) or 0) for k in ("pending_samples", "pending_entries", "pending_log_lines"))
        console.table(["state", "scenario", "pid", "samples", "log lines", "pending", "dropped", "last error"],
                      [(state, data.get("scenario", ""), data.get("pid", ""), data.get("samples", ""),
                        data.get("log_lines", ""), pending, data.get("dropped", 0), data.get("last_error") or "")],
                      state_column="state")

    @seed_app.command("stop")
    def stop(config: ConfigOpt = None, project: ProjectOpt = None) -> None:
        """Stop the detached seeder (SIGTERM, only if the pid still is our seeder)."""
        data = daemon.stop(config_from(config, project=project).state_dir)
        console.info(f"seeder stopped (scenario {data.get('scenario', '?')})" if data.get("pid") else "no seeder running")

    app.add_typer(seed_app, name="seed")
