"""growsim plot: one figure of one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  growsim plot runs/add_conn_distance.h5 -o training.png

  growsim plot runs/add_conn_distance.h5 --kind growth -o growth.png

  growsim plot runs/add_conn_distance.h5 --kind weights --step 1000 -o w1000.pdf

  growsim plot runs/add_conn_distance.h5 --kind network --view coronal

  growsim plot runs/bimt_grid2d.h5 --kind network --top-k 300

  growsim plot runs/add_conn_distance.h5 --kind network --top-k 0 --threshold 0.1

  growsim plot runs/bimt_grid1d.h5 --kind weights --order position

  growsim analyze runs/add_conn_distance.h5 task_variance && growsim plot runs/add_conn_distance.h5 --kind clusters
"""

# growsim.plots.network.DEFAULT_TOP_K, written out for the same reason as KIND_HELP below
# (tests/plots/test_plots.py checks that they agree).
TOP_K = 400

# Written out, not made from growsim.plots.KINDS: importing the plots would load matplotlib
# for every command. tests/cli/test_plot_help.py checks that it names every kind.
KIND_HELP = (
    "training (loss, performance per task), growth (Q, synapses, events), weights (W_rec by community or position), "
    "network (neurons and synapses in space), clusters (task-variance clusters from /analysis), "
    "anatomy (functional clusters on a grid, isolated neurons, against shuffles)."
)


def plot(
    run_file: Annotated[Path, typer.Argument(help="A run's HDF5 file.", show_default=False, metavar="RUN")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Figure file; its suffix picks the format (png, pdf, svg). Default: <RUN>-<kind>.png beside the run.", show_default=False)] = None,
    kind: Annotated[str, typer.Option("--kind", "-k", help=KIND_HELP)] = "training",
    step: Annotated[int | None, typer.Option(help="Step of the weights (weights, network) or of the functional report (anatomy); default: the end.", show_default=False)] = None,
    view: Annotated[str, typer.Option(help="2-D view of 3-D positions (network): axial (x-y), coronal (x-z) or sagittal (y-z).")] = "axial",
    analysis: Annotated[str | None, typer.Option(help="The /analysis group to draw (clusters); default: the last task-variance one.", show_default=False)] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="network: draw only the k strongest synapses (of each projection); 0: all of them. The figure says when some are left out.", min=0)] = TOP_K,
    threshold: Annotated[float | None, typer.Option(help="network: draw only synapses with |w| above this.", min=0.0, show_default=False)] = None,
    order: Annotated[str, typer.Option(help="weights: order the neurons by community or by position (local wiring: a band along the diagonal).")] = "community",
    layers: Annotated[bool, typer.Option("--layers/--no-layers", help="network: the input units below the network and the output units above it, with their synapses.")] = True,
    dpi: Annotated[int, typer.Option(help="Resolution of raster formats.", min=30, max=1200)] = 150,
) -> None:
    """Draw a figure of a run (also of one still being written) and save it."""
    from growsim.cli.inspect import open_or_fail
    from growsim.plots import KINDS, VIEWS, plot_run, save
    from growsim.reader import RunFileError

    if kind not in KINDS:
        raise UserError(f"unknown --kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if order not in ("community", "position"):
        raise UserError(f"unknown --order {order!r}; choose one of: community, position")
    if view not in VIEWS:
        raise UserError(f"unknown --view {view!r}; choose one of: {', '.join(VIEWS)}")
    run = open_or_fail(run_file)
    path = out if out is not None else run.path.with_name(f"{run.path.stem}-{kind}.png")
    try:
        fig = plot_run(run, kind, step=step, view=view, analysis=analysis, top_k=top_k, threshold=threshold, layers=layers, order=order)
    except RunFileError as exc:
        raise UserError(str(exc)) from None
    try:
        save(fig, path, dpi=dpi)
    except ValueError as exc:  # matplotlib: unknown format
        raise UserError(f"cannot write {path}: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    console.print(f"wrote {path} ({kind}: {KINDS[kind]})", markup=False, highlight=False)
