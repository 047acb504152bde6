"""Write the results of one benchmark run as the Markdown page docs/benchmarks.md."""

from __future__ import annotations

import collections
import math
from typing import Any

VALIDATE_TARGET_VS_FLOOR = 3.0  # the validate stage within 3x the DuckDB floor
STOCK_TARGET_VS_VALIDATE = 5.0  # and at least 5x faster than GX run once per company
INGESTION_TARGET_EFFICIENCY = 0.80
INGESTION_TARGET_RSS_MIB = 1024.0
PREFECT_TARGET_SHARE = 0.10
HELP_TARGET_S = 0.5

# The timeline family of the GX suites: the first suite's time includes GX's import and set-up.
_GX_FAMILY = "GX suites (GX's import and set-up are in the first)"


def render(results: dict[str, Any], *, command: str) -> str:
    """Return the whole page: method, machine, results against targets, details and gaps."""
    sections = [
        _header(results, command),
        _machine(results["machine"], results.get("load_average", {})),
        _targets(results),
        _validation_details(results),
        _validate_breakdown(results),
        _other_details(results),
        _gaps(results),
        _method(results),
    ]
    return "\n\n".join(section.strip() for section in sections) + "\n"


def _duration(seconds: float) -> str:
    return f"{seconds:,.1f} s" if abs(seconds) >= 1 else f"{seconds:.3f} s"


def _ratio(ratio: float) -> str:
    return f"{ratio:,.1f}x"


def _mib(mib: float) -> str:
    return f"{mib:,.0f} MiB"


def _met(condition: bool) -> str:
    return "yes" if condition else "**no**"


def _prefect_comparable(summary: dict[str, Any]) -> bool:
    """Tell whether the orchestration runs can be compared.

    They can when every run returned the same findings and the fastest Prefect run was not
    faster than the fastest plain run by more than the runs of one variant differed among
    themselves.
    """
    return (summary["orchestration_same_findings"]
            and summary["prefect_overhead_s"] >= -_prefect_noise(summary))


def _prefect_verdict(summary: dict[str, Any]) -> str:
    if not _prefect_comparable(summary):
        return "**not measured** (see Known gaps)"
    if summary["prefect_overhead_share"] < PREFECT_TARGET_SHARE:
        return "yes"
    if summary["prefect_overhead_s"] <= _prefect_noise(summary):
        return "**unclear**: the difference is within the spread of the runs (see Known gaps)"
    return "**no**"


def _prefect_noise(summary: dict[str, Any]) -> float:
    """Return the larger spread of the two variants' runs, in seconds."""
    return max(summary.get("plain_spread_s", 0.0), summary.get("prefect_spread_s", 0.0))


def _header(results: dict[str, Any], command: str) -> str:
    sizes = results["sizes"]
    return f"""
# Benchmarks

What a validate run, a fetch, the Prefect flow and the command line cost, measured by
`{command}` in one run ({sizes['name']} sizes) on the machine below. Every ratio compares
figures of that same run. `make bench` rewrites this page; `make test` runs the same harness
at tiny sizes (`tests/test_bench_smoke.py`) and checks that it produces every figure.

The harness lives in `bench/`, and each measured step runs in a process of its own:

- `synthetic.py` writes a synthetic snapshot straight into a warehouse file with DuckDB SQL;
- `floor.py` is the one-query DuckDB floor, `stock_gx.py` the stock GX-per-company baseline;
- `step.py` holds the measured steps, `launch.py` measures one process, `runner.py` runs
  every step and `report.py` writes this page.
"""


def _machine(machine: dict[str, str], load: dict[str, list[float]]) -> str:
    rows = "\n".join(f"| {name} | {value} |" for name, value in machine.items())
    load_rows = "\n".join(
        f"| load average before and after {name} | {before:.2f}, {after:.2f} |"
        for name, (before, after) in load.items()
    )
    return f"""
## Machine

The load average is the kernel's 1-minute figure. Above the measured step's own share (up to
about 2 here), it counts other work on the machine that competed with the benchmark.

| Fact | Value |
|---|---|
{rows}
{load_rows}
"""


def _targets(results: dict[str, Any]) -> str:
    summary = results["summary"]
    validation = results["validation"]
    full = validation["full"]
    small, large = validation["subsets"]
    companies = full["companies"]
    rows = full["generate"]["result"]["statement_rows"]
    if summary["validate_full_measured"]:
        validate_text = f"{_duration(summary['validate_full_s'])} measured"
    else:
        validate_text = (
            f"{_duration(summary['validate_full_s'])}, extrapolated linearly from "
            f"{large['companies']:,} companies "
            f"(measured {_duration(large['validate']['result']['stage_seconds'])})"
        )
    ingestion = results["ingestion"]
    fetched = ingestion["fetch"]["result"]
    orchestration = results["orchestration"]
    startup = results["startup"]
    help_rows = "\n".join(
        f"| Start-up | `{text}` wall time, median of {len(figure['runs_s'])} | "
        f"{_duration(figure['median_s'])} | under {HELP_TARGET_S} s | "
        f"{_met(figure['median_s'] < HELP_TARGET_S)} |"
        for text, figure in startup.items()
    )
    return f"""
## Results against the targets

| Benchmark | Figure | Measured | Target | Met |
|---|---|---|---|---|
| Validation | validate stage, {companies:,} companies, {rows:,} statement rows | {validate_text} | | |
| Validation | DuckDB floor on the same {rows:,} rows (measured) | {_duration(summary['floor_full_s'])} | | |
| Validation | validate stage / floor at {companies:,} companies | {_ratio(summary['validate_vs_floor'])} | at most {_ratio(VALIDATE_TARGET_VS_FLOOR)} | {_met(summary['validate_vs_floor'] <= VALIDATE_TARGET_VS_FLOOR)} |
| Validation | CPU time (user and system, all threads) of the validate stage and of the floor at {companies:,} companies | {_cpu_pair(summary)} | | |
| Validation | stock GX per company at {companies:,} companies | {_duration(summary['stock_full_s'])}, extrapolated linearly from {small['companies']:,} companies | | |
| Validation | stock GX per company / validate stage at {companies:,} companies | {_ratio(summary['stock_vs_validate'])} | at least {_ratio(STOCK_TARGET_VS_VALIDATE)} | {_met(summary['stock_vs_validate'] >= STOCK_TARGET_VS_VALIDATE)} |
| Validation | the same two ratios at {small['companies']:,} companies, where the stage, the floor and stock GX were all measured (for comparison; the targets apply at full size) | {_ratio(summary['same_size_validate_vs_floor'])} and {_ratio(summary['same_size_stock_vs_validate'])} | | |
| Validation | validate stage peak memory at {companies:,} companies | {_mib(summary['validate_full_rss_mib'])}{'' if summary['validate_full_measured'] else ', estimated (see below)'} | | |
| Ingestion | fetch of {ingestion['companies']:,} companies, {fetched['exchanges']:,} requests, {ingestion['latency_ms']:g} ms latency, concurrency {ingestion['concurrency']} | {_duration(fetched['stage_seconds'])}; ideal {_duration(summary['ingestion_ideal_s'])} | | |
| Ingestion | ideal / measured | {summary['ingestion_efficiency']:.0%} | at least {INGESTION_TARGET_EFFICIENCY:.0%} | {_met(summary['ingestion_efficiency'] >= INGESTION_TARGET_EFFICIENCY)} |
| Ingestion | fetch peak memory | {_mib(summary['ingestion_rss_mib'])} | under {_mib(INGESTION_TARGET_RSS_MIB)} | {_met(summary['ingestion_rss_mib'] < INGESTION_TARGET_RSS_MIB)} |
| Orchestration | golive flow through Prefect vs the same stages as plain calls, {orchestration['companies']:,} companies, fastest of {_repeats(orchestration)} runs each (spread {_duration(summary.get('prefect_spread_s', 0.0))} and {_duration(summary.get('plain_spread_s', 0.0))}) | {_duration(orchestration['run-prefect']['result']['run_seconds'])} vs {_duration(orchestration['run-plain']['result']['run_seconds'])} | | |
| Orchestration | Prefect overhead, share of the Prefect run | {summary['prefect_overhead_share']:.1%} ({_duration(summary['prefect_overhead_s'])}) | under {PREFECT_TARGET_SHARE:.0%} | {_prefect_verdict(summary)} |
| Orchestration | the Prefect run's time outside the five stage functions, beyond the plain run's, each timed inside its process | {summary.get('prefect_in_process_share', math.nan):.1%} ({_duration(summary.get('prefect_in_process_s', math.nan))}) | | |
| Orchestration | Prefect's temporary server start, before the run (median) | {_duration(summary.get('prefect_server_start_s', math.nan))} | | |
| Orchestration | the same, whole processes (imports and Prefect's temporary server included) | {summary['prefect_process_overhead_share']:.1%} ({_duration(summary['prefect_process_overhead_s'])}) | | |
| Orchestration | both runs returned the same number of findings ({orchestration['run-plain']['result']['findings']:,} and {orchestration['run-prefect']['result']['findings']:,}) | {'yes' if summary['orchestration_same_findings'] else '**no**: the two runs did not do the same work, so the overhead figure is not valid'} | | |
{help_rows}
"""


def _validation_details(results: dict[str, Any]) -> str:
    validation = results["validation"]
    lines = []
    for subset in validation["subsets"]:
        companies = subset["companies"]
        lines.append(_step_row(f"validate stage, {companies:,} companies", subset["validate"],
                               "stage_seconds", subset["statement_rows"]))
        lines.append(_step_row(f"DuckDB floor, {companies:,} companies", subset["floor"],
                               "query_seconds", subset["statement_rows"]))
        if "stock_gx" in subset:
            lines.append(_step_row(f"stock GX per company, {companies:,} companies",
                                   subset["stock_gx"], "loop_seconds", subset["statement_rows"]))

    full = validation["full"]
    rows = full["generate"]["result"]["statement_rows"]
    lines.append(_step_row(f"generate the synthetic snapshot, {full['companies']:,} companies",
                           full["generate"], "seconds", rows))
    lines.append(_step_row(f"DuckDB floor, {full['companies']:,} companies", full["floor"],
                           "query_seconds", rows))

    attempt = full.get("validate")
    if attempt is not None:
        label = f"validate stage, {full['companies']:,} companies"
        if attempt["timed_out"]:
            lines.append(
                f"| {label} | {rows:,} | stopped after {_duration(attempt['wall_s'])} (cap) "
                f"| not finished | at least {_mib(attempt['max_rss_mib'])} |"
            )
        else:
            lines.append(_step_row(label, attempt, "stage_seconds", rows))

    summary = results["summary"]
    generated = full["generate"]["result"]
    return f"""
## Validation in detail

The synthetic snapshot has, per company, 60 accounts (24 profit-and-loss, 36 balance-sheet, 8
of those on the cash flow statement), {results['sizes']['months']} months of the three statements
on both bases, one 12-month budget with its P&L, and the reference data (company, chart, budget,
2 classes, 2 departments, 2 metrics and their monthly values). The full snapshot holds
{generated['exchanges']:,} exchanges with {generated['body_bytes'] / 2**20:,.0f} MiB of raw JSON
bodies in a {generated['file_bytes'] / 2**20:,.0f} MiB warehouse file. Both accounting identities
hold in every month, so no check fails. The snapshot has no class or department requests and is
the only snapshot of its warehouse, so the checks of class and department figures and the
freshness checks that compare with an earlier snapshot return not_evaluated.

"In the call" is the time of the call itself (`pipeline.validate`, the floor query, the stock
loop). The process wall time adds interpreter start-up, imports and set-up such as GX's
context, a few seconds per process.

| Step | Statement rows | Process wall time | In the call | Peak memory |
|---|---|---|---|---|
{chr(10).join(lines)}

The validate stage grew with exponent {summary['validate_growth_exponent']:.2f} in the number of
companies between the two measured sizes (1.00 would be linear). A power law through the two
points gives {_duration(summary['validate_full_fitted_s'])} at {full['companies']:,} companies, against
{_duration(summary['validate_full_linear_s'])} from a linear extrapolation.
{_which_is_lower(summary)}
"""


def _which_is_lower(summary: dict[str, Any]) -> str:
    if summary["validate_full_measured"]:
        return (
            f"The full size was measured ({_duration(summary['validate_full_s'])}), so the "
            "table above uses neither estimate."
        )
    if summary["validate_full_fitted_s"] > summary["validate_full_linear_s"]:
        verdict = "The linear figure, which the table uses, is the lower, so its ratios are optimistic."
    else:
        verdict = "The linear figure, which the table uses, is the higher, so its ratios are cautious."
    return (
        f"{verdict} The memory estimate at full size extends the growth between the two "
        "measured sizes linearly."
    )


def _step_row(label: str, measurement: dict[str, Any], seconds_key: str, rows: int) -> str:
    seconds = measurement["result"].get(seconds_key)
    in_call = _duration(seconds) if seconds is not None else "n/a"
    return (
        f"| {label} | {rows:,} | {_duration(measurement['wall_s'])} | {in_call} "
        f"| {_mib(measurement['max_rss_mib'])} |"
    )


def _family(label: str) -> str:
    """Group a timeline label: a check by the first part of its name, a GX suite as GX."""
    if label.startswith("check "):
        name = label.removeprefix("check ")
        return f"checks {name.split('.')[0]}.*"
    if label.startswith("gx suite "):
        return _GX_FAMILY
    return label


def _lanes(validate: dict[str, Any]) -> dict[str, collections.Counter[str]]:
    """Return the seconds per family of parts in each lane (main thread, second thread)."""
    lanes: dict[str, collections.Counter[str]] = {}
    for label, seconds, lane in validate["parts"]:
        lanes.setdefault(lane, collections.Counter())[_family(label)] += seconds
    return lanes


def _validate_breakdown(results: dict[str, Any]) -> str:
    large = results["validation"]["subsets"][-1]
    validate = large["validate"]["result"]
    total = validate["stage_seconds"]
    lanes = _lanes(validate)
    rows = "\n".join(
        f"| {lane} | {name} | {_duration(seconds)} | {seconds / total:.0%} |"
        for lane, families in lanes.items()
        for name, seconds in families.most_common()
    )
    lane_rows = "\n".join(
        f"| {lane} | {_duration(sum(families.values()))} | {sum(families.values()) / total:.0%} |"
        for lane, families in lanes.items()
    )
    slowest = sorted(validate["parts"], key=lambda part: part[1], reverse=True)[:8]
    slow_rows = "\n".join(f"| {label} | {_duration(seconds)} |" for label, seconds, _ in slowest)
    return f"""
## Where the validate stage spends its time

At {large['companies']:,} companies ({large['statement_rows']:,} statement rows), from the end
times of each check and GX suite in the engine's own log records. The stage works in two
threads at once: the main thread runs the checks that query DuckDB, and a second thread runs
the contract checks, then reads the GX frames and runs the GX suites. The two lanes overlap, so
their shares add up to more than the whole. Each lane's time runs from the start of the stage
to its last mark, and each share is of the whole stage ({_duration(total)}):

| Lane | Time | Share |
|---|---|---|
{lane_rows}

| Lane | Part | Time | Share |
|---|---|---|---|
{rows}

The slowest single parts:

| Part | Time |
|---|---|
{slow_rows}
"""


def _other_details(results: dict[str, Any]) -> str:
    ingestion = results["ingestion"]
    fetch = ingestion["fetch"]
    orchestration = results["orchestration"]
    plain, prefect = orchestration["run-plain"], orchestration["run-prefect"]
    return f"""
## Ingestion and orchestration in detail

| Step | Process wall time | In the call | Peak memory |
|---|---|---|---|
| fetch, {ingestion['companies']:,} companies, {ingestion['months']} months, {fetch['result']['exchanges']:,} requests, {fetch['result']['body_bytes'] / 2**20:,.0f} MiB of bodies | {_duration(fetch['wall_s'])} | {_duration(fetch['result']['stage_seconds'])} | {_mib(fetch['max_rss_mib'])} |
{_orchestration_rows(orchestration)}

The partner server ran in a process of its own on 127.0.0.1 (start-up
{_duration(ingestion['server_startup_s'])} for {ingestion['companies']:,} companies) and shared the
machine's cores with the measured process.
"""


def _prefect_gap(summary: dict[str, Any]) -> str:
    """Return the Known gaps line of a Prefect overhead at or over the target."""
    line = (
        f"- Prefect overhead: {summary['prefect_overhead_share']:.1%} of the run "
        f"({_duration(summary['prefect_overhead_s'])}) between the fastest runs."
    )
    if summary["prefect_overhead_s"] > _prefect_noise(summary):
        return line
    return line + (
        f" The runs of one variant differed by up to {_duration(_prefect_noise(summary))}, so "
        "other work on the machine may account for it. Measured inside the Prefect run, "
        f"Prefect's own work took {summary.get('prefect_in_process_share', math.nan):.1%} "
        f"({_duration(summary.get('prefect_in_process_s', math.nan))})."
    )


def _repeats(orchestration: dict[str, Any]) -> int:
    return int(orchestration.get("repeats", 1))


def _orchestration_rows(orchestration: dict[str, Any]) -> str:
    """Return a table row per orchestration run, in the order the runs happened."""
    names = {"run-plain": "plain calls (`pipeline.run_golive`)",
             "run-prefect": "golive Prefect flow"}
    runs = [run for step in names for run in orchestration.get(f"{step}-all", [orchestration[step]])]
    rows = []
    for run in sorted(runs, key=_run_number):
        step = "run-prefect" if run["label"].startswith("run-prefect") else "run-plain"
        server_s = run["result"].get("server_start_seconds")
        server = f"; temporary server start {_duration(server_s)} before it" if server_s else ""
        rows.append(
            f"| {names[step]}, {orchestration['companies']:,} companies, {run['label']} | "
            f"{_duration(run['wall_s'])} | {_duration(run['result']['run_seconds'])}{server} | "
            f"{_mib(run['max_rss_mib'])} |"
        )
    return "\n".join(rows)


def _run_number(run: dict[str, Any]) -> int:
    """Return the position of a run in the order the runs happened, from its label."""
    return int(run["label"].rsplit("-", 1)[1])


def _gaps(results: dict[str, Any]) -> str:
    summary = results["summary"]
    missed = []
    if summary["validate_vs_floor"] > VALIDATE_TARGET_VS_FLOOR:
        missed.append(
            f"- Validation against the floor: {_ratio(summary['validate_vs_floor'])} where the "
            f"target is {_ratio(VALIDATE_TARGET_VS_FLOOR)}, "
            f"{summary['validate_vs_floor'] / VALIDATE_TARGET_VS_FLOOR:,.1f} times too slow."
        )
    if summary["stock_vs_validate"] < STOCK_TARGET_VS_VALIDATE:
        missed.append(
            "- Validation against stock GX per company: "
            f"{_ratio(summary['stock_vs_validate'])} where the target is "
            f"{_ratio(STOCK_TARGET_VS_VALIDATE)}."
        )
    if summary["ingestion_efficiency"] < INGESTION_TARGET_EFFICIENCY:
        missed.append(
            f"- Ingestion: {summary['ingestion_efficiency']:.0%} of the ideal where the target is "
            f"{INGESTION_TARGET_EFFICIENCY:.0%}."
        )
    if summary["ingestion_rss_mib"] >= INGESTION_TARGET_RSS_MIB:
        missed.append(f"- Ingestion memory: {_mib(summary['ingestion_rss_mib'])}.")
    if not _prefect_comparable(summary):
        missed.append(
            "- Prefect overhead: not measured in this run, because the fastest plain run took "
            "longer than the fastest Prefect run by more than the spread of either variant, so "
            "other work on the machine, not Prefect, decided the difference."
        )
    elif summary["prefect_overhead_share"] >= PREFECT_TARGET_SHARE:
        missed.append(_prefect_gap(summary))
    if summary["help_s"] >= HELP_TARGET_S:
        missed.append(f"- Start-up: {_duration(summary['help_s'])} for the slower `--help`.")
    listed = "\n".join(missed) if missed else "- None: every target was met in this run."
    listed += _load_note(results)
    large = results["validation"]["subsets"][-1]
    families = sum(_lanes(large["validate"]["result"]).values(), collections.Counter())
    floor_s = large["floor"]["result"]["query_seconds"]
    at_size = f"at {large['companies']:,} companies"

    fetched = results["ingestion"]["fetch"]["result"]
    transactions = fetched.get("write_transactions")

    def took(family: str) -> str:
        return _duration(families.get(family, 0.0))
    return f"""
## Known gaps

Targets missed in this run:

{listed}

Why, from the breakdown above ({at_size}, where the floor took {_duration(floor_s)}) and the
code of commit {results['machine']['commit']}:

- The stage is bound by the CPU. It keeps both cores busy, with the SQL checks in the main
  thread and the Python work in a second one (see the lanes above). So the sum of the work
  decides the wall time.{_cpu_budget(results)}
- The contract checks ({took('checks contract.*')}, in the second thread) decode every raw body
  with msgspec types built from its response schema, which parse and check the text in one
  pass. That pass still reads each of the {large['statement_rows']:,} rows that the bodies
  hold, while the floor reads only the typed tables and never parses a body.
- The GX suites ({took(_GX_FAMILY)}, in the second
  thread, reading the frames and GX's import of about 2 s included) run GX's pandas engine over
  every row, each expectation in passes of its own. The largest pass checks that the
  seven-column statement key is unique.
- The accuracy checks ({took('checks accuracy.*')}) run in DuckDB SQL, one or two queries per
  check over the statement tables, where the floor computes every predicate in one pass. The
  two identities share one table of monthly sums. The roll-forward checks group every
  account-month of the balance sheet again.
- The Pandera checks ({took('checks pandera.*')}) are mostly one DuckDB query per dataset that
  counts rows and selects the rows a rule could reject; Pandera validates only those.
- Ingestion: the event loop only queues each response; a writer thread
  (`reach_dq/fetch/writer.py`) stores them in batches, {fetched['exchanges']:,} exchanges in
  {transactions if transactions is not None else 'an unknown number of'} transactions here. Each
  request then costs its latency plus the CPU time of the client and of the partner server,
  which share the machine's cores with each other and with the writer, so a busy machine
  lowers the ratio.{_startup_reason(summary)}

What would close the gap:

- run the GX suites on DuckDB through a SQL data source, so that each expectation is a query
  and not a pandas pass. GX 1.24's SQL engine reads a metric query's rows after it has closed
  the connection, and duckdb-engine 0.17 returns no rows then, so every expectation fails with
  an IndexError. This waits for a GX release that keeps the connection open for DuckDB;
- fold the roll-forward checks into the identities' pass, sharing the account-month sums;
- check the raw bodies while the fetch stores them, where the CPU waits for the network, and
  keep the findings for the validate stage. The stage would then no longer parse the bodies
  again.
"""


def _cpu_pair(summary: dict[str, Any]) -> str:
    stage, floor = summary.get("validate_full_cpu_s"), summary.get("floor_full_cpu_s")
    if stage is None or floor is None:
        return "not measured"
    return f"{_duration(stage)} and {_duration(floor)}"


def _cpu_budget(results: dict[str, Any]) -> str:
    """Return the Known gaps bullet that compares the stage's CPU time with its budget."""
    summary = results["summary"]
    stage = summary.get("validate_full_cpu_s")
    if stage is None:
        return ""
    cores = int(results["machine"]["cores"])
    budget = VALIDATE_TARGET_VS_FLOOR * summary["floor_full_s"] * cores
    return (
        f"\n- Within {_ratio(VALIDATE_TARGET_VS_FLOOR)} the floor's wall time, the {cores} cores "
        f"give the stage at most {_duration(budget)} of CPU time at full size. It used "
        f"{_duration(stage)}, where the floor query alone used "
        f"{_duration(summary['floor_full_cpu_s'])}."
    )


def _load_note(results: dict[str, Any]) -> str:
    """Return a paragraph on other work that shared the machine, or nothing when it was idle."""
    cores = int(results["machine"]["cores"])
    peak = max((max(pair) for pair in results.get("load_average", {}).values()), default=0.0)
    if peak <= cores:
        return ""
    return f"""

Other work shared the machine during this run: the 1-minute load average reached {peak:.1f} on
{cores} cores (see the machine table). Every figure is then slower than on an idle machine, and
a ratio of two figures measured minutes apart also carries the change in that load."""


def _startup_reason(summary: dict[str, Any]) -> str:
    if summary["help_s"] < HELP_TARGET_S:
        return ""
    return """
- Start-up: `python -X importtime -m reach_dq validate --help` shows where the time goes. At
  the commit above, typer imports `typer._adapters` for a command's help, which imports
  pydantic: about 0.18 s of import time on this machine, measured once. A busy machine (see the
  load averages) makes every import slower."""


def _method(results: dict[str, Any]) -> str:
    sizes = results["sizes"]
    small, large = sizes["validate_subsets"]
    return f"""
## How each figure is measured

- Wall time is measured by the parent around a child process; "in the call" is timed inside
  the child around the one call the step exists for.
- Peak memory is the child's maximum resident set size from `os.wait4` on that child (the
  kernel's `ru_maxrss`, the per-child form of `getrusage(RUSAGE_CHILDREN)`), so figures of
  different steps never mix. Each child starts from a small launcher (`bench/launch.py`),
  because a child started by the harness itself would inherit the harness's peak as its own.
- Validation: `reach_dq.pipeline.validate(options, snapshot_id)` on synthetic snapshots of
  {small:,} and {large:,} companies, run to the end. On the full snapshot
  ({sizes['validation_companies']:,} companies) it is started too and stopped after
  {sizes['full_validate_cap_s']:g} s when it has not finished; the table then shows the cap as a
  lower bound. Full-size figures that were not measured are extrapolated linearly from the
  larger subset and labelled so.
- Stock approach: the same suites from `expectations/`, GX Core {results['machine']['great-expectations']}
  on pandas frames from `DuckDBPyConnection.df()`, one validation per company and suite, on the
  {small:,}-company snapshot, extrapolated linearly.
- Floor: one DuckDB query (`bench/floor.py`) computing the statement suites' and schemas' row
  predicates and both identities on the same snapshot.
- Ingestion: `reach_dq.pipeline.fetch` against `reach-dq partner-server --latency-ms
  {sizes['latency_ms']:g}` (the wait happens in the server before each request), ideal = requests
  x latency / concurrency.
- Orchestration: `flows.golive.golive_flow` against `pipeline.run_golive` (the same stages,
  fetch, store, validate, probe and publish, as plain calls) on one partner server, each run in
  a fresh process, {sizes.get('orchestration_repeats', 1)} of each, in pairs whose order
  alternates (plain, Prefect, Prefect, plain for two), so a load that drifts during the runs
  weighs on both variants alike. The fastest run of each
  variant is compared, and the spread (slowest minus fastest) shows how much other work moved
  them. Prefect runs without `PREFECT_API_URL`, so each flow process starts Prefect's temporary
  local server. The step starts it before the timed call and reports its start apart. Both
  variants import the modules that the stages use (GX included) before the timed call, so
  neither call pays for first-use imports. Inside each run the five stage functions are timed. The Prefect run's time outside them is
  Prefect's own work in that process. An unmeasured one-task flow runs before them, so
  Prefect's database already exists, as it does for every nightly run after the first.
- Start-up: the `reach-dq` console script of the virtual environment, after one warm-up run.
"""
