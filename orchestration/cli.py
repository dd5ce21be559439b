"""`genius-wh`: a thin click layer; each command calls one library function and prints.

Results go to stdout; progress bars and messages go to stderr. Every failure the user can
do something about is one line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
import tomllib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import duckdb
import rich

from genius_wh.errors import GeniusWhError
from genius_wh.layout import DataLayout
from genius_wh.settings import Settings, load_settings
from ingest.replay import replay_files
from orchestration.batch import run_batch
from orchestration.nightly import export_date
from orchestration.output import (
    print_counts,
    print_result,
    print_status,
    show_progress,
    with_progress,
)
from orchestration.rebuild import rebuild as run_rebuild
from orchestration.runtime import run_scheduler
from orchestration.runtime import serve as run_serve
from orchestration.simulator import model_events
from orchestration.simulator.centre import FIRST_DAY
from orchestration.simulator.send import post_all, write_lines
from wallboard import feed_status
from warehouse import connect
from warehouse.dispositions import COLUMNS as DISPOSITION_COLUMNS
from warehouse.dispositions import current_dispositions, load_dispositions
from warehouse.forget import forget as run_forget
from warehouse.forgetmatch import make_target
from warehouse.lakehouse import duckdb_cli, lake_config, reader_script
from warehouse.maintain import maintain as run_maintain
from warehouse.status import collect_status

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _settings(ctx: click.Context, data_dir: Path | None, config: Path | None) -> Settings:
    """Build the Settings of a command; a bad config file or value is one clear line."""
    parent = ctx.find_object(dict) or {}
    config = config or parent.get("config")
    try:
        return load_settings(config, data_dir=data_dir or parent.get("data_dir"))
    except GeniusWhError as exc:
        raise click.ClickException(str(exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise click.ClickException(f"config file {config or '$GENIUS_WH_CONFIG'} is not "
                                   f"valid TOML: {exc}") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read config file: {exc}") from exc


def settings_options(func: F) -> F:
    """Add --data-dir and --config and hand the command a built Settings as `settings`."""

    @click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Data directory (default: setting data_dir).")
    @click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="TOML settings file (default: $GENIUS_WH_CONFIG).")
    @click.pass_context  # type: ignore[arg-type]
    @functools.wraps(func)
    def wrapper(ctx: click.Context, data_dir: Path | None, config: Path | None,
                **kwargs: Any) -> Any:
        settings = _settings(ctx, data_dir, config)
        try:
            return func(settings=settings, **kwargs)
        except GeniusWhError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@click.group(context_settings=CONTEXT)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory for every command (default: setting data_dir).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML settings file (default: $GENIUS_WH_CONFIG).")
@click.version_option(package_name="genius-wh")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, config: Path | None) -> None:
    """Genius webhooks into a DuckDB analytics warehouse.

    Example: genius-wh --data-dir ./data status
    """
    ctx.obj = {"data_dir": data_dir, "config": config}
    # progress bars the stages draw on rich's default console go to stderr, not stdout
    rich.reconfigure(stderr=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--no-scheduler", is_flag=True, help="Serve HTTP only; run no scheduled jobs.")
@settings_options
def serve(settings: Settings, host: str, port: int, no_scheduler: bool) -> None:
    """Run the receiver (production WSGI server) with the scheduler.

    The scheduler runs each batch and export in a child process.

    Example: genius-wh --data-dir /srv/genius serve --host 127.0.0.1 --port 8080
    """
    run_serve(settings, host=host, port=port, with_scheduler=not no_scheduler)


@cli.command()
@settings_options
def scheduler(settings: Settings) -> None:
    """Run the scheduled jobs (batch, nightly export) alone, in the foreground.

    Example: genius-wh --data-dir /srv/genius scheduler
    """
    run_scheduler(settings)


@cli.command()
@settings_options
def batch(settings: Settings) -> None:
    """Run one batch now: spool to Parquet to DuckDB; prints rows loaded per table.

    Exits 1 without loading anything when another batch is running.

    Example: genius-wh batch
    """
    report = run_batch(settings)
    if report.skipped:
        lock = DataLayout(root=settings.data_dir).batch_lock
        raise click.ClickException(f"batch skipped: {report.skipped} (it holds {lock}); "
                                   "nothing was loaded: run it again once that one ends")
    print_counts(report.rows_loaded)


@cli.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Local date to export (default: yesterday in `timezone`).")
@settings_options
def export(settings: Settings, day: Any) -> None:
    """Write the nightly Parquet export of one date (rows received on that local date).

    Example: genius-wh export --date 2026-11-23
    """
    report = export_date(settings, day.date() if day is not None else None)
    print_counts(report.rows)


@cli.command()
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("-p", "--param", "params", multiple=True,
              help="A value for the next `?` in the query (repeat for several).")
@settings_options
def sql(settings: Settings, query: str, fmt: str, params: tuple[str, ...]) -> None:
    """Run SQL on the warehouse and print the result; QUERY `-` reads it from stdin.

    Example: genius-wh sql "SELECT campaign, count(*) FROM session_ended GROUP BY 1" --format csv
    """
    text = sys.stdin.read() if query == "-" else query
    if not text.strip():
        raise click.BadParameter("the query is empty", param_hint="QUERY")
    with connect(settings=settings) as con:
        try:
            cursor = con.execute(text, list(params))
            description = cursor.description or []
            rows = cursor.fetchall()
        except duckdb.Error as exc:  # the user's SQL: DuckDB's own message says what is wrong
            raise click.ClickException(str(exc)) from exc
    print_result([d[0] for d in description], rows, fmt, [str(d[1]) for d in description])


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@settings_options
def status(settings: Settings, fmt: str) -> None:
    """Show spool backlog, last batch and its outcome, rows per table, last export.

    Example: genius-wh status --format json
    """
    report = collect_status(settings)
    report["feeds"] = feed_status(settings)
    print_status(report, fmt)


@cli.command()
@click.option("--url", default=None, help="Receiver to POST to, e.g. http://127.0.0.1:8080/.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write webhook bodies as JSON lines instead of sending them.")
@click.option("--token", default=None, help="Genius-Webhook-Token header to send.")
@click.option("--rate", type=float, default=0, show_default=True,
              help="Events per second (0: as fast as possible).")
@click.option("--count", type=int, default=1000, show_default=True, help="Events to generate.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--first-day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The simulated centre's first day (default: today with --url, so the "
              "wallboard's today figures fill; the model's fixed day with --out).")
@settings_options
def simulate(settings: Settings, url: str | None, out: Path | None, token: str | None,
             rate: float, count: int, seed: int, first_day: Any) -> None:
    """Generate realistic Genius traffic from a model of a contact centre.

    Example: genius-wh simulate --url http://127.0.0.1:8080/ --rate 50 --count 5000 --seed 1
    """
    if (url is None) == (out is None):
        raise click.UsageError("give exactly one of --url and --out")
    day = first_day.date() if first_day is not None else (
        datetime.now(settings.tz).date() if url is not None else FIRST_DAY)
    bodies = with_progress(model_events(count=count, seed=seed, tz=settings.tz, first_day=day),
                           total=count, label="simulating")
    sent = write_lines(bodies, out) if out is not None else post_all(bodies, str(url), token,
                                                                     rate)
    click.echo(f"{sent} events {'sent to ' + str(url) if url else 'written to ' + str(out)}")


@cli.command()
@settings_options
def rebuild(settings: Settings) -> None:
    """Build the warehouse afresh from the spool archive, then swap it in.

    Example: genius-wh rebuild
    """
    report = run_rebuild(settings, progress=show_progress())
    print_counts(report.rows_loaded)


@cli.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@settings_options
def replay(settings: Settings, files: tuple[Path, ...]) -> None:
    """Re-ingest JSON-lines files (spool archive lines or one webhook body per line).

    Example: genius-wh replay data/spool/archive/*/*.jsonl
    """
    report = replay_files(settings, list(files), progress=show_progress())
    click.echo(f"{report.accepted} events spooled, {report.quarantined} quarantined")


@cli.command()
@settings_options
def shell(settings: Settings) -> None:
    """Open the DuckDB command line attached read-only to the warehouse.

    Example: genius-wh shell
    """
    os.execv(duckdb_cli(), ["duckdb", "-cmd", reader_script(lake_config(settings))])


@cli.command()
@settings_options
def maintain(settings: Settings) -> None:
    """Housekeeping now: merge small data files, expire snapshots past the retention.

    Example: genius-wh maintain
    """
    report = run_maintain(settings)
    click.echo(f"data files {report.files_before} -> {report.files_after}, "
               f"{report.snapshots_expired} snapshots expired, "
               f"{report.files_deleted} files deleted")


@cli.command()
@click.option("--urn", help="The customer's URN.")
@click.option("--phone", help="A telephone number, any spacing or +44/0 prefix.")
@click.option("--email", help="An e-mail address (any recorddata field).")
@click.option("--field", metavar="NAME=VALUE", help="A recorddata field's value.")
@click.option("--dry-run", is_flag=True, help="Only show what would go, per place.")
@settings_options
def forget(settings: Settings, urn: str | None, phone: str | None, email: str | None,
           field: str | None, dry_run: bool) -> None:
    """Erase one person everywhere: warehouse, time travel, spool, quarantine, exports.

    Example: genius-wh forget --phone "+44 7976 916443" --dry-run
    """
    given = [(kind, value) for kind, value in (("urn", urn), ("phone", phone),
             ("email", email), ("field", field)) if value is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --urn, --phone, --email and --field")
    report = run_forget(settings, make_target(*given[0]), dry_run=dry_run)
    for place, count in report.counts().items():
        click.echo(f"{place}\t{count}")
    click.echo("dry run: nothing was erased" if dry_run else "erased", err=True)


@cli.group(context_settings=CONTEXT)
def dispositions() -> None:
    """Agent result codes with names and outcome groups, which the views join.

    The CSV file has a header row: code,name,outcome_group[,is_positive].

    Example: genius-wh dispositions load dispositions.csv
    """


@dispositions.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@settings_options
def dispositions_load(settings: Settings, file: Path) -> None:
    """Replace the whole disposition list with a CSV file's, in one transaction.

    Example: genius-wh dispositions load dispositions.csv
    """
    count = load_dispositions(settings, file)
    click.echo(f"{count} dispositions loaded from {file}")


@dispositions.command("show")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format (csv: a file `load` takes back).")
@settings_options
def dispositions_show(settings: Settings, fmt: str) -> None:
    """Print the disposition list the views use, by code.

    Example: genius-wh dispositions show --format csv > dispositions.csv
    """
    with connect(settings=settings) as con:
        items = current_dispositions(con)
    if not items:
        click.echo("no dispositions loaded: genius-wh dispositions load FILE.csv", err=True)
    print_result(list(DISPOSITION_COLUMNS),
                 [(d.code, d.name, d.outcome_group, d.is_positive) for d in items], fmt)


def main() -> None:
    """Console-script entry point."""
    # everything a command creates under the data dir is private, whatever the caller's
    # umask: DuckDB writes the catalog, lake files and exports with the process umask (#9)
    os.umask(0o077)
    cli(prog_name="genius-wh")


if __name__ == "__main__":
    main()
