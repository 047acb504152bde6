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
    rich_markup_mode=None,  # help texts carry "[default: ...]", which rich markup would swallow
)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log every HTTP request and check.")]
Timeout = Annotated[
    float | None,
    typer.Option(
        min=0.001,
        help="Seconds one request attempt may take, reading the body included. "
        "[default: 30 (REACH_DQ_TIMEOUT_S)]",
    ),
]


# Options of validate that golive shares; a new option of both goes here and into both commands.
BaseUrl = Annotated[str, typer.Option(help="Base URL of the partner's Reach API.")]
Companies = Annotated[
    list[str] | None,
    typer.Option("--company", help="Company id to check; repeat for several. Default: every company in user-info."),
]
Months = Annotated[
    int | None, typer.Option(min=1, max=120, help="Months to check, ending with the month before --as-of. [default: 24]")
]
AsOf = Annotated[str | None, typer.Option(help="Date to treat as today, YYYY-MM-DD. [default: today, UTC]")]
WarehousePath = Annotated[Path | None, typer.Option(help="DuckDB file. [default: data/warehouse.duckdb]")]
DocsDir = Annotated[Path | None, typer.Option(help="Folder for the data docs. [default: data/docs]")]
JsonPath = Annotated[Path | None, typer.Option("--json", help="Write the findings as JSON to this file.")]
SpecPath = Annotated[
    Path | None, typer.Option(help="OpenAPI document to check against. [default: the bundled Reach API 1.0.3 (reconstructed)]")
]
AllowInsecureHttp = Annotated[
    bool, typer.Option(help="Allow plain http to a non-loopback host (the token travels unencrypted).")
]
Expected = Annotated[
    Path | None,
    typer.Option(help="The partner's own figures (CSV or JSON, see docs/checks.md) to reconcile with the API."),
]
CloseLagDays = Annotated[
    int | None,
    typer.Option(min=0, max=366, help="Days after a month end before that month counts as closed. [default: 0 (REACH_DQ_CLOSE_LAG_DAYS)]"),
]
AccrualAccounts = Annotated[
    list[str] | None,
    typer.Option("--accrual-account", help="AccountId that must be zero on the CASH basis; repeat for several. [default: receivable and payable accounts by name]"),
]


@app.command()
def validate(
    base_url: BaseUrl,
    token_env: Annotated[
        str, typer.Option(help="Name of the environment variable that holds the access token.")
    ],
    company: Companies = None,
    months: Months = None,
    as_of: AsOf = None,
    warehouse: WarehousePath = None,
    docs_dir: DocsDir = None,
    json_path: JsonPath = None,
    spec: SpecPath = None,
    allow_insecure_http: AllowInsecureHttp = False,
    timeout: Timeout = None,
    expected: Expected = None,
    close_lag_days: CloseLagDays = None,
    accrual_account: AccrualAccounts = None,
    verbose: Verbose = False,
) -> None:
    """Fetch a snapshot of the partner API, check it, and publish findings and data docs."""
    _configure_logging(verbose)
    options = _run_options(
        base_url=base_url, token_env=token_env, companies=company, months=months, as_of=as_of,
        warehouse=warehouse, docs_dir=docs_dir, json_path=json_path, spec=spec,
        allow_insecure_http=allow_insecure_http, command="validate", timeout=timeout,
        expected=expected, close_lag_days=close_lag_days, accrual_accounts=accrual_account,
    )

    from reach_dq import pipeline

    publication = _guarded(lambda: pipeline.run_all(options))
    _finish(publication)


@app.command()
def golive(
    base_url: BaseUrl,
    token_env: Annotated[
        list[str] | None,
        typer.Option(help="Name of an environment variable that holds an access token. Repeat it with another customer's token to check isolation across customers."),
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="OAuth client id: reach-dq obtains and refreshes its own tokens.")
    ] = None,
    client_secret_env: Annotated[
        str | None, typer.Option(help="Name of the environment variable that holds the OAuth client secret.")
    ] = None,
    company: Companies = None,
    months: Months = None,
    as_of: AsOf = None,
    warehouse: WarehousePath = None,
    docs_dir: DocsDir = None,
    json_path: JsonPath = None,
    spec: SpecPath = None,
    allow_insecure_http: AllowInsecureHttp = False,
    timeout: Timeout = None,
    expected: Expected = None,
    close_lag_days: CloseLagDays = None,
    accrual_account: AccrualAccounts = None,
    verbose: Verbose = False,
) -> None:
    """Run validate plus the go-live probes, and print the go-live scorecard and verdict.

    Exit 0 only when every row of the scorecard is ready.
    """
    _configure_logging(verbose)
    token_envs = list(token_env or [])
    if not token_envs and not (client_id and client_secret_env):
        _fail(ExitCode.USAGE, "give --token-env, or --client-id with --client-secret-env")
    options = _run_options(
        base_url=base_url, token_env=token_envs[0] if token_envs else "", companies=company,
        months=months, as_of=as_of, warehouse=warehouse, docs_dir=docs_dir, json_path=json_path,
        spec=spec, allow_insecure_http=allow_insecure_http, command="golive", timeout=timeout,
        expected=expected, close_lag_days=close_lag_days, accrual_accounts=accrual_account,
    )
    options = options.model_copy(update={
        "extra_token_envs": tuple(token_envs[1:]),
        "client_id": client_id,
        "client_secret_env": client_secret_env,
    })

    from reach_dq import pipeline

    publication = _guarded(lambda: pipeline.run_golive(options))
    _finish_golive(publication)


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
    latency_ms: Annotated[
        float, typer.Option(min=0, max=60000, help="Milliseconds to wait before answering each request.")
    ] = 0.0,
    customer_token: Annotated[
        list[str] | None,
        typer.Option(help="Token of another customer and the only companies it reads, as TOKEN=C002,C003; repeat for several. The main token then no longer reads them."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Run the reference partner server: the whole Reach API over generated or real books."""
    _configure_logging(verbose)
    from reach_dq.partner.faults import FAULTS

    if list_faults:
        for name, entry in sorted(FAULTS.items()):
            typer.echo(f"{name:<28} {entry.description}")
        raise typer.Exit(ExitCode.OK)

    from reach_dq.partner.server import PartnerConfig, parse_customer_tokens, run
    from reach_dq.settings import parse_as_of

    config = _guarded(
        lambda: PartnerConfig(
            companies=companies, seed=seed, ledger=ledger, token=token,
            faults=tuple(fault or ()), as_of=parse_as_of(as_of) if as_of else None,
            latency_ms=latency_ms, customer_tokens=parse_customer_tokens(customer_token or ()),
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
    _finish(publication, scorecard=True)


ConfigFile = Annotated[Path, typer.Option("--config", help="Nightly config file (TOML), e.g. reach-dq.example.toml.")]


@app.command()
def nightly(
    config: ConfigFile,
    as_of: Annotated[
        str | None, typer.Option(help="Run date, YYYY-MM-DD. [default: today in the config's time zone]")
    ] = None,
    partner: Annotated[
        list[str] | None, typer.Option(help="Validate only this partner; repeat for several. [default: every partner]")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Validate every partner of the config once: the nightly Prefect flow, alerts and trends page."""
    _configure_logging(verbose)
    from reach_dq.schedule import PREFECT_HOME, prepare_prefect_environment

    _guarded(lambda: prepare_prefect_environment(PREFECT_HOME))
    from reach_dq.config import load_config
    from reach_dq.settings import parse_as_of

    loaded = _guarded(lambda: load_config(config))
    names = [_guarded(lambda name=name: loaded.partner(name)).name for name in partner or ()]
    if as_of is not None:
        _guarded(lambda: parse_as_of(as_of))

    from flows.nightly import any_check_failed, any_partner_failed, nightly_flow, render_report
    from reach_dq.warehouse.lock import run_lock

    def run():  # noqa: ANN202  # a NightlyReport, imported lazily
        # Taken before Prefect's temporary server starts, so a run on a busy warehouse fails at
        # once. The flow takes the same lock again, and the second take nests.
        with run_lock(loaded.nightly.warehouse, command="nightly"):
            return nightly_flow(str(loaded.path), as_of, names or None)

    report = _guarded(run)
    typer.echo(render_report(report))
    if any_partner_failed(report):
        raise typer.Exit(ExitCode.INCOMPLETE)
    raise typer.Exit(ExitCode.CHECKS_FAILED if any_check_failed(report) else ExitCode.OK)


@app.command()
def schedule(
    config: ConfigFile,
    prefect_file: Annotated[Path, typer.Option(help="Prefect project file that declares the deployment.")] = Path("prefect.yaml"),
    deployment: Annotated[str, typer.Option(help="Name of the deployment in the Prefect project file.")] = "nightly",
    verbose: Verbose = False,
) -> None:
    """Serve the nightly deployment on the Prefect server at PREFECT_API_URL until stopped."""
    _configure_logging(verbose)
    from reach_dq.schedule import PREFECT_HOME, prepare_prefect_environment, serve_nightly

    _guarded(lambda: prepare_prefect_environment(PREFECT_HOME))
    _guarded(lambda: serve_nightly(config_path=config, prefect_file=prefect_file, deployment=deployment))


@app.command()
def status(config: ConfigFile, verbose: Verbose = False) -> None:
    """List each partner's last nightly run, its verdict and age; exit 1 if a partner is overdue."""
    _configure_logging(verbose)
    import datetime as dt

    from reach_dq.config import load_config
    from reach_dq.status import read_statuses, render_statuses

    loaded = _guarded(lambda: load_config(config))
    now = dt.datetime.now(dt.UTC)
    hours = loaded.nightly.stale_after_hours
    names = [p.name for p in loaded.partners]
    statuses = _guarded(lambda: read_statuses(loaded.nightly.warehouse, names, now=now, stale_after_hours=hours))
    typer.echo(render_statuses(statuses, now=now, stale_after_hours=hours))
    overdue = any(entry.overdue for entry in statuses)
    raise typer.Exit(ExitCode.CHECKS_FAILED if overdue else ExitCode.OK)


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
            timeout_s=values.get("timeout") or defaults.timeout_s,
            allow_insecure_http=values["allow_insecure_http"],
            **fetch_limits(defaults),
            **accuracy_options(values, defaults),
        )

    return _guarded(build)


def fetch_limits(defaults) -> dict[str, object]:  # noqa: ANN001  # settings.Defaults
    """Return the fetch limits of ``RunOptions`` from the REACH_DQ_* environment defaults."""
    names = ("max_attempts", "backoff_s", "max_retry_after_s", "max_body_bytes", "page_size",
             "max_pages")
    return {name: getattr(defaults, name) for name in names}


def accuracy_options(values: dict[str, object], defaults) -> dict[str, object]:  # noqa: ANN001  # settings.Defaults
    """Return the accuracy and freshness fields of ``RunOptions``; check the --expected file now.

    Reading the file before the fetch makes a bad file a usage error (exit 2) instead of a
    check that cannot run after a whole fetch.
    """
    expected = values.get("expected")
    if expected is not None:
        from checks.expected_file import read_expected_file

        read_expected_file(Path(str(expected)))
    close_lag_days = values.get("close_lag_days")
    accrual_accounts = values.get("accrual_accounts")
    return {
        "expected_path": expected,
        "close_lag_days": defaults.close_lag_days if close_lag_days is None else close_lag_days,
        "accrual_accounts": tuple(accrual_accounts) if accrual_accounts else None,
        "frozen_feed_runs": defaults.frozen_feed_runs,
    }


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


def _finish(publication, *, scorecard: bool = False) -> NoReturn:  # noqa: ANN001  # pipeline.Publication
    """Print the summary, the go-live scorecard if requested, and the paths. Exit 1 if a check failed."""
    from reach_dq.golive.scorecard import build_scorecard
    from reach_dq.publish.summary import has_failures

    _print_publication(publication, build_scorecard(publication.findings) if scorecard else None)
    raise typer.Exit(ExitCode.CHECKS_FAILED if has_failures(publication.findings) else ExitCode.OK)


def _finish_golive(publication) -> NoReturn:  # noqa: ANN001  # pipeline.Publication
    """Print as ``_finish`` does with the scorecard. Exit 1 unless every scorecard row is ready."""
    from reach_dq.golive.scorecard import build_scorecard, is_ready

    rows = build_scorecard(publication.findings)
    _print_publication(publication, rows)
    raise typer.Exit(ExitCode.OK if is_ready(rows) else ExitCode.CHECKS_FAILED)


def _print_publication(publication, rows) -> None:  # noqa: ANN001  # Publication, ScorecardRow list or None
    from reach_dq.golive.page import PAGE_NAME
    from reach_dq.golive.scorecard import render_scorecard
    from reach_dq.publish.terminal import render_summary

    typer.echo(render_summary(publication.findings))
    typer.echo("")
    if rows is not None:
        typer.echo(render_scorecard(rows))
        typer.echo("")
    typer.echo(f"snapshot:  {publication.snapshot_id}")
    typer.echo(f"data docs: {publication.docs_index}")
    if rows is not None:
        typer.echo(f"go-live:   {publication.docs_index.parent / PAGE_NAME}")
    if publication.json_path is not None:
        typer.echo(f"json:      {publication.json_path}")


def _fail(code: ExitCode, message: str) -> NoReturn:
    typer.echo(f"reach-dq: error: {message}", err=True)
    raise typer.Exit(code)


def _first_validation_error(exc) -> str:  # noqa: ANN001  # pydantic.ValidationError
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    if exc.title == "Defaults":  # settings.Defaults reads REACH_DQ_* environment variables
        field = f"environment variable REACH_DQ_{field.upper()}"
    return f"invalid value for {field}: {error['msg']} (got {error.get('input')!r})"


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    app()
