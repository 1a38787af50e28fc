"""The `dcs-restores` command: run, demo, models, report, check, reset-pending."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from dcs_restores_pipeline.config import DATABASE_ENV, database_path
from dcs_restores_pipeline.exitcodes import (
    EXIT_BUSY,
    EXIT_CONFIG,
    EXIT_DESTINATION,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_THRESHOLD,
)
from dcs_restores_pipeline.text import printable

__all__ = [
    "EXIT_BUSY",
    "EXIT_CONFIG",
    "EXIT_DESTINATION",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_THRESHOLD",
    "build_parser",
    "main",
]


def _progress(message: str) -> None:
    # nobody reads the progress any more (a closed pipe): the run itself goes on
    with contextlib.suppress(BrokenPipeError):
        print(f"... {printable(message)}", file=sys.stderr, flush=True)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings of the source (a misspelled setting, ENDPOINT beside REGION) as one line."""
    from dcs_restores.errors import ConfigWarning

    if issubclass(category, ConfigWarning):
        text = f"dcs-restores: warning: {printable(str(message))}"
    else:
        text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    with contextlib.suppress(BrokenPipeError, ValueError):
        print(text, file=sys.stderr, flush=True)


def _root_cause(exc: BaseException) -> BaseException:
    """Return the error inside `exc` worth showing, or `exc` itself.

    dlt wraps errors raised inside resources in PipelineStepFailed / ResourceExtractionError;
    the user needs the source's error inside (DCS, configuration), on one line.
    """
    from dcs_restores.errors import DcsRestoresError, find, root

    return find(exc, DcsRestoresError) or root(exc)


def _interrupted(exc: BaseException) -> str | None:
    """Return the line for a KeyboardInterrupt inside `exc` (dlt wraps it), else None.

    Interrupted before its load step, a run committed nothing: dlt saves the extracted package
    and the new cursors only when the extract completes. Later, the package is on disk and the
    next run loads it first.
    """
    from dcs_restores.errors import find
    from dlt.pipeline.exceptions import PipelineStepFailed

    if find(exc, KeyboardInterrupt) is None:
        return None
    failed = find(exc, PipelineStepFailed)
    if failed is not None and failed.step in ("normalize", "load"):
        return (
            f"dcs-restores: interrupted in the {failed.step} step; what was read waits in a "
            "load package that the next run loads first"
        )
    return (
        "dcs-restores: interrupted; nothing of this run was committed, the next run reads it again"
    )


def _one_line(exc: BaseException) -> str:
    from dcs_restores.errors import one_line

    # messages can quote a server's answer: nothing in them may act on the terminal
    return printable(one_line(exc))


def _lines(text: str) -> str:
    """`text` line by line, each made printable (the summary echoes server-provided text)."""
    return "\n".join(printable(line) for line in text.splitlines())


def _emit(summary: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.as_dict(), default=str, sort_keys=True))
    else:
        print(_lines(summary.text()))


def _loaded_database(args: argparse.Namespace) -> Path:
    """`_existing_database`, which a run has loaded restores into (a first run that failed
    leaves a file without the schema: `models` cannot help then, a run can)."""
    from dcs_restores_pipeline.config import destination_type
    from dcs_restores_pipeline.failures import nothing_loaded

    database = _existing_database(args)
    if destination_type() == "duckdb":
        nothing_loaded(database)
    return database


def _existing_database(args: argparse.Namespace) -> Path:
    """Return the DuckDB file to read (`--database`, else the configured one); PostgreSQL
    needs no file."""
    from dcs_restores_pipeline.config import destination_type

    database = database_path(args.database)
    if destination_type() == "duckdb" and not database.exists():
        raise FileNotFoundError(
            f"no database at {database}: run `dcs-restores run` first, or name the file with "
            f"--database PATH or {DATABASE_ENV}"
        )
    return database


def cmd_run(args: argparse.Namespace) -> int:
    from dcs_restores_pipeline.gcpause import imports_without_gc

    with imports_without_gc(args.as_program):
        from dcs_restores_pipeline import runner

    summary = runner.run(
        database=database_path(), progress=None if args.quiet else _progress, target=args.target
    )
    _emit(summary, args.json)
    return EXIT_OK


def cmd_targets(args: argparse.Namespace) -> int:
    from dcs_restores.targets import target_names

    names = target_names()
    print(json.dumps(names) if args.json else "\n".join(names))
    return EXIT_OK


def _target_name(value: str) -> str:
    from dcs_restores.targets import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value[:70]!r} is not a target name (see `dcs-restores targets`)"
        )
    return value


def cmd_demo(args: argparse.Namespace) -> int:
    from dcs_restores_pipeline.config import demo_database_path
    from dcs_restores_pipeline.demo import production_settings, run_demo
    from dcs_restores_pipeline.report import run_report

    database = demo_database_path()
    ignored = production_settings()
    notice = (
        f"demo database: {database}; the demo keeps its own local state and ignores the "
        "destination settings (DESTINATION_TYPE, DESTINATION__*)"
        + (f", here {', '.join(ignored)}" if ignored else "")
    )
    if args.json:
        print(notice, file=sys.stderr)
    summary, clock = run_demo(database, progress=None if args.quiet else _progress)
    if args.json:
        _emit(summary, True)
        return EXIT_OK
    print(notice)
    print(
        f"demo run {clock.runs + 1}: simulated DCS API at {clock.now:%Y-%m-%d %H:%M:%S} UTC "
        f"(the real time; its history ends at the first run, {clock.anchor:%Y-%m-%d %H:%M} UTC)"
    )
    print(_lines(summary.text()))
    print()
    print(run_report(database, None))
    print()
    print(f"Query the views in {database}, e.g. select * from dcs.restore_failure_rates")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from dcs_restores_pipeline.runner import make_pipeline
    from dcs_restores_pipeline.views import apply_models

    database = _loaded_database(args)
    views = apply_models(make_pipeline(database))
    print(f"created {len(views)} views in schema dcs: {', '.join(views)}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from dcs_restores_pipeline.report import run_report

    html = Path(args.html).resolve() if args.html else None
    print(run_report(_loaded_database(args), html, since=args.since, until=args.until))
    if html:
        print(f"HTML report written to {html}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from dcs_restores_pipeline.check import check
    from dcs_restores_pipeline.config import destination_type
    from dcs_restores_pipeline.runner import make_pipeline

    thresholds = sorted(key for key in vars(args) if key.startswith("max_"))
    if all(getattr(args, key) is None for key in thresholds):
        flags = ", ".join("--" + key.replace("_", "-") for key in thresholds)
        print(
            "dcs-restores check: error: no threshold given: set at least one of "
            f"{flags} (see `dcs-restores check --help`)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    database = _existing_database(args)
    # DuckDB: read-only, without the pipeline (its local state is the run's business)
    source = database if destination_type() == "duckdb" else make_pipeline(database)
    result = check(
        source,
        max_failure_rate=args.max_failure_rate,
        max_p95_seconds=args.max_p95_seconds,
        since_days=args.since_days,
        per_instance=args.per_instance,
        min_finished=args.min_finished,
        max_days_since_restore=args.max_days_since_restore,
        max_rpo_hours=args.max_rpo_hours,
        max_overdue=args.max_overdue,
        max_consecutive_failures=args.max_consecutive_failures,
    )
    if args.json:
        print(json.dumps(result.as_dict(), sort_keys=True))
    else:
        print(_lines(result.text()))
    return EXIT_OK if result.ok else EXIT_THRESHOLD


def cmd_reset_pending(args: argparse.Namespace) -> int:
    from dcs_restores_pipeline.runner import reset_pending

    dropped = reset_pending(database_path(), target=args.target)
    if not dropped:
        print("no pending load packages: nothing to reset")
    else:
        print(
            f"dropped {len(dropped)} pending load package(s): {', '.join(dropped)}; "
            "the cursors are back where they were, so the next run reads those restores again"
        )
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (the usage is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_CONFIG,
            f"{self.prog}: error: {printable(message)} (see `{self.prog} --help`)\n",
        )


def build_parser() -> argparse.ArgumentParser:
    from dcs_restores_pipeline.check import (
        MAX_SINCE_DAYS,
        failure_rate_arg,
        min_finished_arg,
        seconds_arg,
        since_days_arg,
    )
    from dcs_restores_pipeline.readiness_check import add_readiness_arguments

    parser = _Parser(
        prog="dcs-restores",
        description="Load DCS restore records into DuckDB and report on them. Configure with "
        "SOURCES__DCS_RESTORES__* environment variables or .dlt/*.toml.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="extract, load and rebuild the models")
    demo = sub.add_parser("demo", help="run against a local DCS simulator and show the report")
    for p in (run, demo):
        p.add_argument("--json", action="store_true", help="print the run summary as JSON")
        p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    run.add_argument(
        "--target",
        type=_target_name,
        metavar="NAME",
        help="load only this target, with its own pipeline state and lock, without the models "
        "(run `models` once after every target); see `dcs-restores targets`",
    )
    run.set_defaults(func=cmd_run)
    demo.set_defaults(func=cmd_demo)
    models = sub.add_parser("models", help="(re)create the SQL views")
    models.set_defaults(func=cmd_models)
    report = sub.add_parser("report", help="print the restore report; --html writes a file")
    report.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    from dcs_restores_pipeline.reportformat import utc_day

    for option, default in (("--since", "30 days before --until"), ("--until", "last restore")):
        report.add_argument(
            option, metavar="YYYY-MM-DD", type=utc_day, help=f"UTC day, included ({default})"
        )
    report.set_defaults(func=cmd_report)
    check = sub.add_parser(
        "check",
        help=f"exit {EXIT_THRESHOLD} when a failure-rate or p95-duration threshold is crossed",
    )
    check.add_argument(
        "--max-failure-rate",
        type=failure_rate_arg,
        metavar="RATE",
        help="a fraction from 0 to 1: 0.05 means 5 %%",
    )
    check.add_argument(
        "--max-p95-seconds", type=seconds_arg, metavar="SECONDS", help="above 0, e.g. 600"
    )
    check.add_argument(
        "--since-days",
        type=since_days_arg,
        default=7.0,
        metavar="DAYS",
        help=f"window of created_at, above 0 and at most {MAX_SINCE_DAYS} (default 7)",
    )
    check.add_argument("--per-instance", action="store_true", help="check each instance")
    check.add_argument(
        "--min-finished",
        type=min_finished_arg,
        default=1,
        metavar="N",
        help="ignore scopes with fewer finished restores, 0 or more (default 1)",
    )
    add_readiness_arguments(check)
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(func=cmd_check)
    for p in (models, report, check):
        p.add_argument(
            "--database",
            metavar="PATH",
            help=f"the DuckDB file (default: {DATABASE_ENV}, else ./dcs_restores.duckdb)",
        )
    names = sub.add_parser(
        "targets", help="print the name of each configured target, one per line (for --target)"
    )
    names.add_argument("--json", action="store_true", help="print a JSON list")
    names.set_defaults(func=cmd_targets)
    reset = sub.add_parser(
        "reset-pending",
        help="drop load packages that an interrupted or failed run left and that cannot load",
    )
    reset.add_argument(
        "--target", type=_target_name, metavar="NAME", help="those of `run --target NAME`"
    )
    reset.set_defaults(func=cmd_reset_pending)
    return parser


def _quick_exit(code: int) -> None:
    from dcs_restores_pipeline.config import destination_type
    from dcs_restores_pipeline.quickexit import exit_now

    exit_now(code, database_path() if destination_type() == "duckdb" else None)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then ours to handle
    except BrokenPipeError:
        code = EXIT_OK
    except Exception as exc:
        from dcs_restores_pipeline.failures import broken_pipe

        if not broken_pipe(exc):
            raise
        code = EXIT_OK
    else:
        return code
    # `dcs-restores report | head`: the reader has what it wanted; end quietly, and keep
    # Python from failing again on flushing stdout at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return code


def _failure(exc: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """The last line and the exit code of a command that failed with `exc`."""
    from dcs_restores.errors import ConfigError

    from dcs_restores_pipeline.failures import cause_line, destination_problem
    from dcs_restores_pipeline.recovery import disk_full, disk_full_message

    where = disk_full(exc)
    if where is not None:
        loads = args.command in ("run", "demo")
        return disk_full_message(where, run=loads), EXIT_FAILED
    destination = destination_problem(exc)
    if destination is not None:
        return destination, EXIT_DESTINATION
    cause = _root_cause(exc)
    return cause_line(exc), EXIT_CONFIG if isinstance(cause, ConfigError) else EXIT_FAILED


def _main(argv: Sequence[str] | None) -> int:
    if argv is None:
        # a scheduled run: its first requests go out while dlt is imported (early.py)
        from dcs_restores_pipeline.early import begin

        begin(sys.argv[1:])
    from dcs_restores_pipeline.gcpause import imports_without_gc

    # build_parser imports dlt (through check)
    with imports_without_gc(argv is None):
        args = build_parser().parse_args(argv)
    args.as_program = argv is None
    from dcs_restores_pipeline.failures import broken_pipe
    from dcs_restores_pipeline.runlock import RunLocked
    from dcs_restores_pipeline.runner import RunFailed

    warnings.showwarning = _show_warning
    try:
        code = int(args.func(args))
        if args.as_program and args.command == "run":
            _quick_exit(code)  # as the program (a scheduled run), not called from Python
        return code
    except KeyboardInterrupt as exc:
        print(_interrupted(exc), file=sys.stderr)
        return EXIT_INTERRUPTED
    except RunLocked as exc:
        print(f"dcs-restores: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BUSY
    except RunFailed as exc:
        if (line := _interrupted(exc)) is not None:
            print(line, file=sys.stderr)
            return EXIT_INTERRUPTED
        if exc.summary is not None:
            _emit(exc.summary, getattr(args, "json", False))
        from dcs_restores_pipeline.failures import destination_problem

        destination = destination_problem(exc)
        message = printable(destination) if destination is not None else _one_line(exc)
        print(f"dcs-restores: error: {message}", file=sys.stderr)
        return EXIT_FAILED if destination is None else EXIT_DESTINATION
    except Exception as exc:
        if broken_pipe(exc):
            raise
        if (line := _interrupted(exc)) is not None:
            print(line, file=sys.stderr)
            return EXIT_INTERRUPTED
        message, code = _failure(exc, args)
        print(f"dcs-restores: error: {printable(message)}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
