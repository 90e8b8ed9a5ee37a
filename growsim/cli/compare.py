"""growsim compare: a metric over training across runs, grouped by spec fields."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console, err_console

EXAMPLES = """Examples:

  # Wu & Gu, Fig. 3A: add_conn against fix_conn, one panel per wiring rule, mean and s.e. over seeds
  growsim compare runs/ --by growth.initial_connections --by wiring.rule -o fig3a.png

  growsim compare runs/*.h5 --by name --metric perf_mean -o perf.png

  growsim compare runs/ --by wiring.rule --metric perf/dm1
"""


def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run files, or folders searched for *.h5.", show_default=False, metavar="RUNS")],
    by: Annotated[list[str], typer.Option("--by", metavar="FIELD", help="Spec field to group by (dotted, as in --set; or name, the spec's name). The first makes the curves; each further one makes panels.", show_default=False)] = [],
    metric: Annotated[str, typer.Option(help="Series column: modularity_q, perf_mean, loss, connections, n_communities, perf/<task>...")] = "modularity_q",
    out: Annotated[Path, typer.Option("--out", "-o", help="Figure file (png, pdf, svg).")] = Path("compare.png"),
    dpi: Annotated[int, typer.Option(help="Resolution of raster formats.", min=30, max=1200)] = 150,
    include_unfinished: Annotated[bool, typer.Option("--include-unfinished", help="Also average runs that did not complete (failed, interrupted, running).")] = False,
    equal_length: Annotated[bool, typer.Option("--equal-length", help="Keep in each curve only the runs that reach its longest run's last batch, so every point averages the same runs.")] = False,
) -> None:
    """Plot a metric over training, mean and standard error over runs (seeds), grouped by spec fields.

    Only completed runs count unless --include-unfinished; the same run twice (the same spec
    and seed in two files) counts once. What was left out, and groups whose runs end at
    different batches, are reported (--equal-length keeps only the runs that go the whole
    way); the legend gives the number of runs behind the points.
    """
    from growsim.plots import plot_compare, save
    from growsim.reader import RunFileError, open_runs

    if not by:
        raise UserError("name at least one spec field with --by (for example --by wiring.rule)")
    try:
        table = open_runs(runs)
    except RunFileError as exc:
        raise UserError(str(exc)) from None
    table, notes = select_runs(table, include_unfinished=include_unfinished)
    series_cols = [c for c in table.attrs["series_columns"] if c != "step"]
    fields = ["name", *table.attrs["spec_fields"]]
    for field in by:
        if field not in fields:
            close = difflib.get_close_matches(field, fields, n=3, cutoff=0.5)
            varying = [f for f in fields if table[f].astype(str).nunique(dropna=False) > 1]  # str: tuples compare
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise UserError(f"--by {field}: no such spec field{hint} (fields that differ between these runs: "
                            f"{', '.join(varying) or 'none'})")
    if metric not in series_cols:
        close = difflib.get_close_matches(metric, series_cols, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        shown = [c for c in series_cols if "/" not in c]
        raise UserError(f"--metric {metric}: not logged by these runs{hint} (logged: {', '.join(shown)}, and perf/<task>, task_loss/<task>)")
    if table[metric].isna().all():
        raise UserError(f"--metric {metric}: no values in these runs")
    table, by, split = split_architectures(table, by)
    notes += split
    if equal_length:
        table, short = full_length_only(table, by)
        notes += short
    fig = plot_compare(table, by, metric)
    try:
        save(fig, out, dpi=dpi)
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot write {out}: {exc}") from None
    groups = table.groupby(by, dropna=False)["run"].nunique()
    summary = "; ".join(f"{', '.join(map(str, k if isinstance(k, tuple) else (k,)))}: {n} run{'s' * (n != 1)}" for k, n in groups.items())
    notes += uneven_lengths(table, by)
    console.print(f"wrote {out} ({metric} of {table['run'].nunique()} runs by {', '.join(by)}: {summary})", markup=False, highlight=False)
    for note in notes:
        err_console.print(f"warning: {note}", markup=False, highlight=False)


def select_runs(table, *, include_unfinished: bool = False):
    """The runs to average: completed ones (all, with `include_unfinished`), each run once.

    Two files of the same run (the same resolved spec, execution-only fields aside, and the
    same seed) count once: the first by path. Returns the table and what was left out, as notes.
    """
    from growsim.ledger._record import EXECUTION_FIELDS

    notes = []
    per_run = table.drop_duplicates("run").set_index("run").copy()  # one block per dtype: the table is built a column at a time
    if not include_unfinished:
        unfinished = per_run[per_run["status"] != "completed"]
        if len(unfinished):
            listed = ", ".join(f"{run} ({status})" for run, status in unfinished["status"].items())
            notes.append(f"left out {len(unfinished)} run(s) that did not complete: {listed} (--include-unfinished counts them)")
            per_run = per_run.drop(unfinished.index)
    if per_run.empty:
        raise UserError("no completed runs among these files (--include-unfinished counts the others)")
    execution = {".".join(f) for f in EXECUTION_FIELDS}
    key_fields = [f for f in table.attrs["spec_fields"] if f not in execution]
    keys = per_run[key_fields].astype(str).apply(tuple, axis=1)
    ordered = per_run.assign(_key=keys).sort_values("path")
    twice = ordered[ordered["_key"].duplicated()]
    if len(twice):
        first = ordered.drop_duplicates("_key").set_index("_key")["path"]
        listed = ", ".join(f"{path} (the same run as {first[key]})" for path, key in zip(twice["path"], twice["_key"]))
        notes.append(f"counted once: {listed}")
    kept = set(ordered.drop_duplicates("_key").index)
    out = table[table["run"].isin(kept)].copy()
    out.attrs.update(table.attrs)
    return out, notes


def architecture(path: str) -> str:
    """What kind of network a run grows: a chain that grows by duplicating modules (modular),
    a chain of one module (non-modular), or a leaky RNN."""
    from growsim.reader import architecture as kind, open_run

    run = open_run(path)
    return kind(run.network_kind, run.spec)


def split_architectures(table, by: list[str]):
    """Keep runs of different architectures apart: when a curve of `by` would mix them (modules
    of 20 neurons and a one-module network of 20 neurons, grouped by network.module_size),
    the curves are made by `by[0]` and the architecture together. Returns the table, the
    fields to group by, and a note when it split."""
    kinds = {path: architecture(path) for path in table["path"].unique()}
    runs = table.drop_duplicates("run").assign(architecture=lambda t: t["path"].map(kinds))
    if "architecture" in by or (runs.groupby(by, dropna=False)["architecture"].nunique() <= 1).all():
        return table, by, []
    field = f"{by[0]}, architecture"
    table = table.assign(**{field: [f"{value}, {kinds[path]}" for value, path in zip(table[by[0]], table["path"])]})
    note = (f"runs of different architectures ({', '.join(sorted(set(kinds.values())))}) share values of {by[0]}: "
            f"the curves are by {by[0]} and architecture")
    return table, [field, *by[1:]], [note]


def full_length_only(table, by: list[str]):
    """The runs of each group that end at the group's last batch, and a note naming the others."""
    last = table.groupby("run")["step"].max()
    end = table.drop_duplicates("run").assign(_end=lambda t: t["run"].map(last))
    longest = end.groupby(by, dropna=False)["_end"].transform("max")
    short = end[end["_end"] < longest]
    notes = []
    if len(short):
        listed = ", ".join(f"{run} (ends at {int(e)})" for run, e in zip(short["run"], short["_end"]))
        notes.append(f"left out {len(short)} run(s) shorter than the longest of their curve: {listed}")
    out = table[~table["run"].isin(set(short["run"]))].copy()
    out.attrs.update(table.attrs)
    return out, notes


def uneven_lengths(table, by: list[str]) -> list[str]:
    """A note for each group whose runs end at different batches (later points then average fewer runs)."""
    notes = []
    last = table.groupby("run")["step"].max()
    for key, rows in table.drop_duplicates("run").groupby(by, dropna=False):
        ends = sorted({int(last[r]) for r in rows["run"]})
        if len(ends) > 1:
            label = ", ".join(map(str, key if isinstance(key, tuple) else (key,)))
            notes.append(f"runs of {label} end at different batches ({', '.join(map(str, ends))}): later points average fewer runs"
                         " (--equal-length keeps only the runs that go the whole way)")
    return notes
