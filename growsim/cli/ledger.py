"""growsim ledger: the results ledger. Record runs, then redraw figures and tables from the records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  # Count the finished runs of a sweep under the ledger's protocol "compressed80"
  growsim ledger add results/wu_gu/fig3 runs/wu_gu_fig3_compressed --protocol compressed80 --skip-counted --skip-unfinished

  # Hamidi et al.'s Fig. 3: each run's stored robustness analysis goes into its record
  growsim analyze robustness runs/hamidi_fig2/spec=modular_growth_parity__module_size=15__seed=0.h5
  growsim ledger add results/hamidi/fig3 runs/hamidi_fig2 --protocol full --skip-counted --skip-unanalysed

  # Redraw the figures and the tables of summary statistics from the records alone
  growsim ledger build results/wu_gu/fig3

  # Every ledger of a paper (the folders under results/liu), or of all papers
  growsim ledger build results/liu
  growsim ledger build results/*

  # What the ledger holds
  growsim ledger status results/wu_gu/fig3
"""

app = typer.Typer(
    name="ledger",
    help="The results ledger: small records of real runs; figures and statistics redrawn from them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _errors():
    from growsim.ledger import LedgerError, RecordError
    from growsim.reader import RunFileError

    return LedgerError, RecordError, RunFileError


@app.command("add", epilog=EXAMPLES)
def add(
    folder: Annotated[Path, typer.Argument(help="The ledger folder (holds ledger.yaml).", show_default=False, metavar="FOLDER")],
    runs: Annotated[list[Path], typer.Argument(help="Run files, folders searched for *.h5, or records (*.json) counted in another ledger.", show_default=False, metavar="RUNS")],
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="The protocol these runs follow (one of ledger.yaml's).", show_default=False)],
    skip_counted: Annotated[bool, typer.Option("--skip-counted", help="Skip run files already recorded (the very same file); the same run from another file stays an error.")] = False,
    skip_unfinished: Annotated[bool, typer.Option("--skip-unfinished", help="Skip runs that did not complete instead of stopping.")] = False,
    skip_unanalysed: Annotated[bool, typer.Option("--skip-unanalysed", help="Skip runs without the stored analyses the ledger's figure needs (Hamidi et al.'s Figs. 3 to 5) instead of stopping; the summary names the growsim analyze command.")] = False,
) -> None:
    """Record completed runs in a ledger: one small JSON record each, never the run files.

    A run counted twice (the same spec and seed) is an error; so is a run whose spec does
    not meet the protocol's requirements. A figure drawn from stored analyses takes them from
    each run file's /analysis (run `growsim analyze` first); a run without them is an error
    naming the command. Nothing is written unless every run can be recorded.
    """
    from growsim.ledger import add as add_runs
    from growsim.reader import find_runs

    try:
        report = add_runs(folder, find_runs(runs), protocol, skip_counted=skip_counted, skip_unfinished=skip_unfinished,
                          skip_unanalysed=skip_unanalysed)
    except _errors() as exc:
        raise UserError(str(exc)) from None
    reasons: dict[str, int] = {}
    for _, why in report.skipped:
        reasons[why] = reasons.get(why, 0) + 1
    skipped = "".join(f", skipped {n} {why}" for why, n in sorted(reasons.items()))
    console.print(f"recorded {len(report.added)} run{'s' * (len(report.added) != 1)} in {folder} under {protocol}{skipped}",
                  markup=False, highlight=False)


@app.command("build", epilog=EXAMPLES)
def build(folders: Annotated[list[Path], typer.Argument(help="Ledger folders (each holds ledger.yaml); a folder holding ledger folders stands for all of them.", show_default=False, metavar="FOLDERS")]) -> None:
    """Redraw each ledger's figures and its tables of summary statistics from its records alone."""
    from growsim.ledger import build as build_ledger

    ledgers = []
    for folder in folders:
        inside = sorted(p.parent for p in folder.glob("*/ledger.yaml")) if not (folder / "ledger.yaml").exists() else []
        ledgers += inside or [folder]
    for folder in ledgers:
        try:
            output = build_ledger(folder)
        except _errors() as exc:
            raise UserError(str(exc)) from None
        for line in output.lines:
            console.print(line, markup=False, highlight=False)
        for path in output.files:
            console.print(f"wrote {path}", markup=False, highlight=False)


@app.command("status", epilog=EXAMPLES)
def status(folder: Annotated[Path, typer.Argument(help="The ledger folder (holds ledger.yaml).", show_default=False, metavar="FOLDER")]) -> None:
    """Check every record (written by growsim, unchanged, counted once) and count them by protocol and run name."""
    from growsim.ledger import load

    try:
        ledger = load(folder)
    except _errors() as exc:
        raise UserError(str(exc)) from None
    console.print(f"{folder}: figure {ledger.config.figure}, {len(ledger.records)} records, all valid", markup=False, highlight=False)
    for protocol, records in ledger.by_protocol().items():
        names: dict[str, list[int]] = {}
        for r in records:
            names.setdefault(r["run"]["name"], []).append(r["run"]["seed"])
        parts = "; ".join(f"{name}: {len(seeds)} (seeds {', '.join(map(str, sorted(seeds)))})" for name, seeds in sorted(names.items()))
        console.print(f"  {protocol}: {len(records)} runs{': ' + parts if parts else ''}", markup=False, highlight=False)
