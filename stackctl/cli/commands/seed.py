from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer
from typer.core import TyperGroup

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from
from stackctl.errors import UsageError

if TYPE_CHECKING:
    from stackctl.seeding.engine import SeedReport
    from stackctl.seeding.scenario import Scenario

ScenarioOpt = Annotated[Optional[str], typer.Option("--scenario", "-s", help="Scenario name (stackctl scenarios) or a YAML path.")]
HistoryOpt = Annotated[str, typer.Option("--history", help="Past to write at once, e.g. 30m, 2h (up to the stack's 24h window).")]
DurationOpt = Annotated[Optional[str], typer.Option("--duration", help="Keep seeding live this long, e.g. 10m (default: until Ctrl-C; 0: history only).")]
UrlOpt = Optional[str]
FromOpt = Annotated[Optional[List[Path]], typer.Option("--from", metavar="PATH", help="Synthesize the traffic these dashboards (JSON) and rule files (YAML), or folders of them, ask for; more paths may follow (--from a.json b/ rules.yml).")]
AlertOpt = Annotated[Optional[str], typer.Option("--alert", help="With --from: the alert the synthesized traffic fires (others stay quiet).")]
StateOpt = Annotated[Optional[str], typer.Option("--state", help="With --from: firing or quiet (default: quiet, or firing with --alert).")]


class _SeedGroup(TyperGroup):
    """`seed --from a.json b/ rules.yml --history 1h`: the words after --from's first path are more
    paths, not subcommand names (status, stop). Click has no option taking a variable number of
    values, and seed is a group (whose leftover words name a subcommand), so the words are
    rewritten to repeated --from before click parses them."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        out: list[str] = []
        paths = False  # inside a run of words that follow --from PATH
        for i, word in enumerate(args):
            if word == "--" or (word in self.commands and not (out and out[-1] == "--from")):
                out += args[i:]  # a subcommand's own arguments are left alone
                break
            if paths and not word.startswith("-"):
                out += ["--from", word]
                continue
            paths = bool(out) and out[-1] == "--from" or word.startswith("--from=")
            out.append(word)
        return super().parse_args(ctx, out)


def _synthesized(paths: list[Path], alert: str | None, state: str | None,
                 stack: tuple[str | None, str | None] | None) -> tuple[str, Scenario]:
    """`seed --from` (or a stackctl.yaml listing dashboards:/rules:): synthesize, write the scenario
    where seed, verify and `seed status` find it, and return its path."""
    cfg = config_from(stack[0], project=stack[1]) if stack is not None else None
    if not paths and cfg:
        from stackctl.render.user_provisioning import dashboard_sources

        paths = list(cfg.dashboards) + dashboard_sources(cfg) + list(cfg.rules)  # grafana.provisioning's folders too
    if not paths:
        raise UsageError("--scenario is required", hint="list them with `stackctl scenarios`, or synthesize "
                         "traffic from dashboards and rules with --from PATH")
    return _synthesize(paths, alert, state, cfg.state_dir if cfg else None)


def _synthesize(paths: list[Path], alert: str | None, state: str | None, state_dir: Path | None) -> tuple[str, Scenario]:
    from stackctl.seeding.synth import record
    from stackctl.seeding.synth.pipeline import generate, scenario_of

    wanted = state or ("firing" if alert else "quiet")
    if wanted not in ("firing", "quiet"):
        raise UsageError(f"--state {state}: use firing or quiet")
    generated = generate(paths, wanted, alert)  # type: ignore[arg-type]
    path = record.write(generated, state_dir)
    summary = generated.summary
    console.info(f"synthesized {summary['scenario']} from {len(summary['files'])} file(s): {summary['metrics']} metrics, "  # type: ignore[arg-type]
                 f"{summary['series']} series ({path})")
    for name, outcome in summary["alerts"].items():  # type: ignore[attr-defined]
        if outcome != "ok":
            console.warn(f"alert {name}: {outcome}")
    for line in summary["skipped"]:  # type: ignore[attr-defined]
        console.warn(f"not read: {line}")
    return str(path), scenario_of(generated)


def _seconds(flag: str, value: str) -> float:
    from stackctl.seeding.scenario import parse_duration

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
                           invoke_without_command=True, no_args_is_help=False, cls=_SeedGroup)

    @seed_app.callback()
    def seed_cmd(ctx: typer.Context, scenario: ScenarioOpt = None, history: HistoryOpt = "30m",
                 duration: DurationOpt = None, detach: Annotated[bool, typer.Option("--detach", help="Run in the background (seed status / seed stop).")] = False,
                 random_seed: Annotated[Optional[int], typer.Option("--random-seed", help="Same seed, same data.")] = None,
                 prometheus_url: Annotated[UrlOpt, typer.Option("--prometheus-url", help="Seed this Prometheus instead of the stack's.")] = None,
                 loki_url: Annotated[UrlOpt, typer.Option("--loki-url", help="Seed this Loki instead of the stack's.")] = None,
                 redis_url: Annotated[UrlOpt, typer.Option("--redis-url", help="Seed this Redis (redis://host:port) instead of the stack's.")] = None,
                 from_: FromOpt = None, alert: AlertOpt = None, state: StateOpt = None,
                 config: ConfigOpt = None, project: ProjectOpt = None) -> None:
        """Seed a scenario (stackctl seed --scenario preview-failures), or synthesize one (--from)."""
        if ctx.invoked_subcommand:
            return
        from stackctl.seeding import daemon
        from stackctl.seeding.background import SeedRequest, run_foreground, start_detached, targets_for
        from stackctl.seeding.catalog import load_scenario
        from stackctl.seeding.scenario import format_duration

        synthesized: Scenario | None = None
        if not scenario:
            explicit = bool(prometheus_url and loki_url and redis_url)
            scenario, synthesized = _synthesized(list(from_ or ()), alert, state, None if explicit and from_ else (config, project))
        elif from_ or alert or state:
            raise UsageError("--from, --alert and --state synthesize a scenario: not with --scenario",
                             hint="seed a catalog scenario, or synthesize one")
        dur = _seconds("--duration", duration) if duration is not None else None
        req = SeedRequest(scenario, _seconds("--history", history), dur, random_seed, prometheus_url, loki_url, redis_url)
        req.check()
        sc = synthesized or load_scenario(scenario)
        cfg = None if req.explicit and not detach else config_from(config, project=project)
        targets = targets_for(None if req.explicit else cfg, req)
        if detach:
            assert cfg is not None
            pid = start_detached(cfg.state_dir, req, targets, None if req.explicit else cfg)
            console.success(f"seeding {sc.name} in the background (pid {pid}); log: {daemon.log_path(cfg.state_dir)}")
            console.info("check it with `stackctl seed status`, stop it with `stackctl seed stop`")
            return
        console.info(f"seeding {sc.name}: {format_duration(req.history_s)} of history, then live"
                     + (f" for {format_duration(dur)}" if dur else " until Ctrl-C" if dur is None else ""))
        with ExitStack() as spinner:
            spinner.enter_context(console.status(f"writing {format_duration(req.history_s)} of history"))
            # The first tick report arrives when the history is written: stop the spinner there.
            report = run_foreground(cfg.state_dir if cfg else None, sc, req, targets, _progress,
                                    on_tick=lambda _r: spinner.close(), cfg=cfg)
        _show(report)

    @seed_app.command("status")
    def status(json: JsonOpt = False, config: ConfigOpt = None, project: ProjectOpt = None) -> None:
        """Is a detached seeder running? Scenario, since, samples written, last error; what was synthesized."""
        from stackctl.seeding.synth.record import summary_for
        from stackctl.state import seeder as daemon

        state_dir = config_from(config, project=project).state_dir
        data = daemon.read_status(state_dir)
        synthesized = summary_for(state_dir, data.get("scenario"))
        if synthesized:
            data["synthesized"] = synthesized
        if json:
            console.json_out(data)
            return
        if synthesized:
            console.info(f"synthesized: {synthesized.get('metrics')} metrics, {synthesized.get('series')} series from "
                         + ", ".join(synthesized.get("files") or []))
        state = "running" if data["running"] else data.get("state", "stopped")
        pending = sum(int(data.get(k) or 0) for k in ("pending_samples", "pending_entries", "pending_log_lines"))
        console.table(["state", "scenario", "pid", "samples", "log lines", "pending", "dropped", "last error"],
                      [(state, data.get("scenario", ""), data.get("pid", ""), data.get("samples", ""),
                        data.get("log_lines", ""), pending, data.get("dropped", 0), data.get("last_error") or "")],
                      state_column="state")
        for line in data.get("alert_state") or []:  # what the `for:` restore did after the history
            console.info(line)

    @seed_app.command("stop")
    def stop(config: ConfigOpt = None, project: ProjectOpt = None) -> None:
        """Stop the detached seeder (SIGTERM, only if the pid still is our seeder)."""
        from stackctl.state import seeder as daemon

        data = daemon.stop(config_from(config, project=project).state_dir)
        console.info(f"seeder stopped (scenario {data.get('scenario', '?')})" if data["stopped"] else "no detached seeder running")

    app.add_typer(seed_app, name="seed")
