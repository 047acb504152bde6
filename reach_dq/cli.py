"""The ``reach-dq`` command line.

Exit codes (``ExitCode``) are the one place where a run's result becomes a process status, and
this module is the only one that exits. Heavy libraries load inside the commands so that
``reach-dq --help`` stays fast.
"""

from __future__ import annotations

import enum
import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

log = logging.getLogger("reach_dq")


class ExitCode(enum.IntEnum):
    OK = 0  # no check failed (warnings and not_evaluated allowed)
    CHECKS_FAILED = 1  # at least one check failed
    USAGE = 2  # invalid flag, file or environment
    INCOMPLETE = 3  # the run could not complete (partner unreachable, token rejected, store error)


app = typer.Typer(
    help="Check the data a partner's Reach API serves: contract, accuracy and freshness.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log every HTTP request and check.")]


@app.command()
def validate(
    base_url: Annotated[str, typer.Option(help="Base URL of the partner's Reach API.")],
    token_env: Annotated[
        str, typer.Option(help="Name of the environment variable that holds the access token.")
    ],
    company: Annotated[
        list[str] | None,
        typer.Option(help="Company id to check; repeat for several. Default: every company in user-info."),
    ] = None,
    months: Annotated[
        int | None, typer.Option(min=1, max=120, help="Months to check, ending with the month before --as-of. [default: 24]")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Date the run pretends to be, YYYY-MM-DD. [default: today, UTC]")
    ] = None,
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB file. [default: data/warehouse.duckdb]")] = None,
    docs_dir: Annotated[Path | None, typer.Option(help="Folder for the data docs. [default: data/docs]")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the findings as JSON to this file.")] = None,
    spec: Annotated[
        Path | None, typer.Option(help="OpenAPI document to check against. [default: the bundled Reach API 1.0.3 (reconstructed)]")
    ] = None,
    allow_insecure_http: Annotated[
        bool, typer.Option(help="Allow plain http to a non-loopback host (the token travels unencrypted).")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Fetch a snapshot of the partner API, check it, and publish findings and data docs."""
    _configure_logging(verbose)
    options = _run_options(
        base_url=base_url, token_env=token_env, companies=company, months=months, as_of=as_of,
        warehouse=warehouse, docs_dir=docs_dir, json_path=json_path, spec=spec,
        allow_insecure_http=allow_insecure_http, command="validate",
    )

    from reach_dq import pipeline

    publication = _guarded(lambda: pipeline.run_all(options))
    _finish(publication)


@app.command("partner-server")
def partner_server(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port; 0 picks a free one.")] = 8765,
    companies: Annotated[int, typer.Option(min=1, max=999, help="Generated companies (ids C001 to C999).")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the generated books.")] = 7,
    ledger: Annotated[
        Path | None, typer.Option(help="Serve this general-ledger export folder instead of generated books.")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Access token to accept. [default: a random one, printed at start]")] = None,
    fault: Annotated[list[str] | None, typer.Option(help="Fault to inject; repeat for several. See --list-faults.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Books end with the month before this date, YYYY-MM-DD. [default: today, UTC]")] = None,
    list_faults: Annotated[bool, typer.Option("--list-faults", help="List the faults and exit.")] = False,
    verbose: Verbose = False,
) -> None:
    """Run the reference partner server: the whole Reach API over generated or real books."""
    _configure_logging(verbose)
    from reach_dq.partner.faults import FAULTS

    if list_faults:
        for name, entry in sorted(FAULTS.items()):
            typer.echo(f"{name:<28} {entry.description}")
        raise typer.Exit(ExitCode.OK)

    from reach_dq.partner.server import PartnerConfig, run
    from reach_dq.settings import parse_as_of

    config = _guarded(
        lambda: PartnerConfig(
            companies=companies, seed=seed, ledger=ledger, token=token,
            faults=tuple(fault or ()), as_of=parse_as_of(as_of) if as_of else None,
        )
    )
    _guarded(lambda: run(config, host=host, port=port))


@app.command()
def demo(
    companies: Annotated[int, typer.Option(min=1, max=50, help="Generated companies to serve.")] = 3,
    warehouse: Annotated[Path, typer.Option(help="DuckDB file.")] = Path("data/warehouse.duckdb"),
    docs_dir: Annotated[Path, typer.Option(help="Folder for the data docs.")] = Path("data/docs"),
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the findings as JSON.")] = Path("data/demo-findings.json"),
    verbose: Verbose = False,
) -> None:
    """Start the reference partner server on a free loopback port and run the golive flow on it."""
    _configure_logging(verbose)
    from reach_dq.demo import run_demo

    publication = _guarded(
        lambda: run_demo(companies=companies, warehouse=warehouse, docs_dir=docs_dir, json_path=json_path)
    )
    _finish(publication)


def _run_options(**values: object):  # noqa: ANN202  # RunOptions, imported lazily
    from reach_dq.settings import Defaults, RunOptions, parse_as_of

    def build():  # noqa: ANN202
        defaults = Defaults()
        return RunOptions(
            base_url=values["base_url"],
            token_env=values["token_env"],
            command=values["command"],
            companies=tuple(values["companies"]) if values["companies"] else None,
            months=values["months"] or defaults.months,
            as_of=parse_as_of(values["as_of"]),
            warehouse=values["warehouse"] or defaults.warehouse,
            docs_dir=values["docs_dir"] or defaults.docs_dir,
            json_path=values["json_path"],
            spec_path=values["spec"],
            concurrency=defaults.concurrency,
            timeout_s=defaults.timeout_s,
            allow_insecure_http=values["allow_insecure_http"],
        )

    return _guarded(build)


def _guarded(action):  # noqa: ANN001, ANN202  # any zero-argument callable
    """Run ``action``; turn reach-dq errors into a one-line message and the matching exit code."""
    from pydantic import ValidationError

    from reach_dq.exceptions import ConfigError, ContractError, ReachDQError

    try:
        return action()
    except (ConfigError, ContractError) as exc:
        _fail(ExitCode.USAGE, str(exc))
    except ValidationError as exc:
        _fail(ExitCode.USAGE, _first_validation_error(exc))
    except ReachDQError as exc:
        _fail(ExitCode.INCOMPLETE, f"the run could not complete: {exc}")


def _finish(publication) -> NoReturn:  # noqa: ANN001  # pipeline.Publication
    from reach_dq.publish.summary import has_failures
    from reach_dq.publish.terminal import render_summary

    typer.echo(render_summary(publication.findings))
    typer.echo("")
    typer.echo(f"snapshot:  {publication.snapshot_id}")
    typer.echo(f"data docs: {publication.docs_index}")
    if publication.json_path is not None:
        typer.echo(f"json:      {publication.json_path}")
    code = ExitCode.CHECKS_FAILED if has_failures(publication.findings) else ExitCode.OK
    raise typer.Exit(code)


def _fail(code: ExitCode, message: str) -> NoReturn:
    typer.echo(f"reach-dq: error: {message}", err=True)
    raise typer.Exit(code)


def _first_validation_error(exc) -> str:  # noqa: ANN001  # pydantic.ValidationError
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    return f"invalid value for {field}: {error['msg']} (got {error.get('input')!r})"


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    app()
