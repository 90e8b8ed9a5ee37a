"""Every figure renders, with content, for a short run of every shipped spec and the odd runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.image import imread

from growsim.analyses import task_variance, write_analysis
from growsim.cli import main
from growsim.plots import KINDS, plot_compare, plot_run, save
from growsim.reader import RunFileError, open_run, open_runs
from growsim.registry import load_plugin_file

ROOT = Path(__file__).parents[2]
SPEC_FILES = sorted((ROOT / "specs").glob("*.yaml"))
SPECS = [p.stem for p in SPEC_FILES]
# Chain specs (Hamidi et al.'s parity curriculum) have no task variance, so no clusters.
CHAIN_SPECS = {p.stem for p in SPEC_FILES if "kind: chain" in p.read_text()}
CHAIN_KINDS = ["training", "growth", "weights", "network"]
# The anatomy figure needs a functional report (log.functional), which Liu et al.'s specs log.
FUNCTIONAL_SPECS = {p.stem for p in SPEC_FILES if "functional:" in p.read_text()}


def _kinds(spec: str) -> list[str]:
    if spec in CHAIN_SPECS:
        return CHAIN_KINDS
    return [k for k in KINDS if k != "anatomy" or spec in FUNCTIONAL_SPECS]


def assert_figure(path: Path, min_bytes: int = 15_000) -> None:
    """A PNG with something drawn: large enough, not one colour, and with coloured marks.

    Titles, labels and axes are black or grey; data (curves, maps, synapses) is coloured.
    A figure of empty panels with their titles and messages has no coloured pixel at all.
    """
    assert path.stat().st_size > min_bytes, f"{path.name}: only {path.stat().st_size} bytes"
    img = imread(path)[..., :3]
    h, w = img.shape[:2]
    assert h > 150 and w > 150
    assert img.std() > 0.05, f"{path.name} looks blank"
    coloured = (img.max(axis=-1) - img.min(axis=-1) > 0.2).mean()
    assert coloured > 0.002, f"{path.name}: only {coloured:.4f} of its pixels are coloured"


@pytest.fixture(scope="module")
def analysed(shipped_runs, tmp_path_factory):
    """Copies of the shipped runs, those on Yang et al.'s tasks with a task-variance analysis
    (for the clusters kind)."""
    folder = tmp_path_factory.mktemp("analysed")
    out = {}
    for name, path in shipped_runs.items():
        copy = folder / path.name
        copy.write_bytes(path.read_bytes())
        run = open_run(copy)
        if run.spec["task"].get("suite", "yang20") != "parity":
            for plugin in run.spec.get("plugins", []):  # a plugin's task suite, loaded as a user would
                load_plugin_file(ROOT / "specs" / plugin)
            write_analysis(copy, "task_variance", task_variance(run, trials=4))
        out[name] = copy
    return out


@pytest.mark.parametrize(
    ("spec", "kind"),
    [(spec, kind) for spec in SPECS for kind in _kinds(spec)],
)
def test_every_kind_for_every_shipped_spec(spec, kind, analysed, tmp_path):
    out = save(plot_run(open_run(analysed[spec]), kind), tmp_path / f"{spec}-{kind}.png", dpi=60)
    assert_figure(out, min_bytes=8_000)


def test_chain_specs_are_recognised():
    assert {"modular_growth_parity", "nonmodular_parity"} <= CHAIN_SPECS and "add_conn_distance" not in CHAIN_SPECS


@pytest.fixture(scope="module")
def chain_runs(make_runs, tmp_path_factory):
    return make_runs.chain_runs(tmp_path_factory.getbasetemp() / "chain-runs")


@pytest.mark.parametrize("kind", CHAIN_KINDS)
@pytest.mark.parametrize("which", ["chain", "chain_nonmodular"])
def test_chain_figures(which, kind, chain_runs, tmp_path):
    run = open_run(chain_runs[which])
    fig = plot_run(run, kind)
    assert_figure(save(fig, tmp_path / f"{which}-{kind}.png", dpi=60), min_bytes=8_000)
    if kind == "weights":
        k, m = run.final().w_rec.shape[:2]
        assert fig.axes[0].images[0].get_array().shape == (k * m, k * m)  # the dense-equivalent matrix
        np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), run.final().dense_w_rec())
    if kind == "network":
        assert len(fig.axes[0].collections[1].get_offsets()) == run.final().n_neurons


def test_chain_weights_at_a_step_and_its_title(chain_runs):
    run = open_run(chain_runs["chain"])
    fig = plot_run(run, "weights", step=0)
    assert fig.axes[0].images[0].get_array().shape == (6, 6)
    assert "1 module of 6 neurons" in fig.get_suptitle()
    assert fig.axes[1].get_ylabel() == "trained tau (time steps)"  # the chain's dt is 1 (network/chain.py)
    assert "2 modules of 6 neurons" in plot_run(run, "network").get_suptitle()


def test_a_kind_that_does_not_apply_to_a_chain_run(chain_runs, capsys, tmp_path):
    run = open_run(chain_runs["chain"])
    with pytest.raises(RunFileError, match="--kind clusters needs a task-variance analysis of a leaky-RNN run .* "
                                           "chain run on the parity curriculum"):
        plot_run(run, "clusters")
    out = tmp_path / "x.png"
    assert main(["plot", str(run.path), "--kind", "clusters", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "kinds for it: training, growth, weights, network" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("which", "kind"),
    [("growing", "training"), ("growing", "growth"), ("no_positions", "network"), ("killed", "training"),
     ("killed", "growth"), ("killed", "weights"), ("no_snapshots", "weights"), ("no_snapshots", "network")],
)
def test_odd_runs(which, kind, small_runs, tmp_path):
    out = save(plot_run(open_run(small_runs[which]), kind), tmp_path / f"{which}-{kind}.png", dpi=60)
    assert_figure(out, min_bytes=5_000)


def test_weights_and_network_of_a_growing_network(small_runs, tmp_path):
    run = open_run(small_runs["growing"])
    for step in (0, 10, 20):
        n = run.snapshot(step).n_neurons
        assert plot_run(run, "weights", step=step).axes[0].images[0].get_array().shape == (n, n)
    # 1-D positions: synapses drawn as arcs; only the 4 neurons of step 0 are placed.
    fig = plot_run(run, "network", step=0)
    assert len(fig.axes[0].collections[1].get_offsets()) == 4
    assert_figure(save(fig, tmp_path / "n.png", dpi=60), min_bytes=5_000)


def test_clusters_without_an_analysis_says_how_to_make_one(small_runs, capsys):
    with pytest.raises(RunFileError, match="growsim analyze .* task_variance"):
        plot_run(open_run(small_runs["tiny"]), "clusters")
    assert main(["plot", str(small_runs["tiny"]), "--kind", "clusters", "-o", "x.png"]) == 2
    assert "has no task-variance analysis" in capsys.readouterr().err


def test_compare_panels_by_wiring_rule(shipped_runs, tmp_path):
    table = open_runs(list(shipped_runs.values()))
    fig = plot_compare(table, ["growth.initial_connections", "wiring.rule"], "modularity_q")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4  # distance, gnm_matching, mixture, random
    assert {ax.get_title() for ax in visible} == {f"wiring.rule = {r}" for r in ("distance", "gnm_matching", "mixture", "random")}
    assert_figure(save(fig, tmp_path / "cmp.png", dpi=60))
    fig = plot_compare(table, ["name"], "perf_mean")
    assert len(fig.axes[0].get_lines()) == len(shipped_runs)


def test_mean_and_standard_error_across_seeds():
    import pandas as pd

    from growsim.plots import mean_and_se

    table = pd.DataFrame({"run": ["a", "a", "b", "b", "c"], "step": [0, 10, 0, 10, 0], "q": [0.1, 0.5, 0.3, 0.7, 0.2]})
    stats = mean_and_se(table, "q").set_index("step")
    assert stats.loc[0, "mean"] == pytest.approx(0.2) and stats.loc[0, "n"] == 3
    assert stats.loc[0, "se"] == pytest.approx(0.1 / np.sqrt(3))
    assert stats.loc[10, "mean"] == pytest.approx(0.6) and stats.loc[10, "se"] == pytest.approx(np.std([0.5, 0.7], ddof=1) / np.sqrt(2))


def test_plot_command(small_runs, tmp_path, capsys):
    run = tmp_path / "tiny.h5"
    run.write_bytes(small_runs["tiny"].read_bytes())
    assert main(["plot", str(run), "--kind", "growth"]) == 0
    assert_figure(tmp_path / "tiny-growth.png", min_bytes=10_000)  # default: beside the run
    assert main(["plot", str(run), "--kind", "weights", "--step", "20", "-o", str(tmp_path / "w.svg")]) == 0
    assert (tmp_path / "w.svg").read_text().startswith("<?xml")
    assert "wrote" in capsys.readouterr().out
    for args, message in (
        (["--kind", "heatmap"], "unknown --kind 'heatmap'; choose one of: training, growth"),
        (["--kind", "weights", "--step", "15"], "no snapshot at step 15"),
        (["--kind", "network", "--view", "top"], "unknown --view 'top'"),
    ):
        assert main(["plot", str(run), *args, "-o", str(tmp_path / "x.png")]) == 2
        assert message in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "none.h5")]) == 2
    assert "none.h5: no such file" in capsys.readouterr().err


@pytest.mark.filterwarnings("error::pandas.errors.PerformanceWarning")  # no pandas warning reaches the user
def test_compare_command(shipped_runs, tmp_path, capsys):
    folder = Path(next(iter(shipped_runs.values()))).parent
    out = tmp_path / "fig3a.png"
    assert main(["compare", str(folder), "--by", "growth.initial_connections", "--by", "wiring.rule", "-o", str(out)]) == 0
    assert_figure(out)
    assert f"modularity_q of {len(shipped_runs)} runs" in capsys.readouterr().out
    for args, message in (
        (["--by", "wiring.rul"], "--by wiring.rul: no such spec field; did you mean wiring.rule"),
        (["--by", "wiring.rule", "--metric", "perf_men"], "did you mean perf_mean"),
        ([], "name at least one spec field with --by"),
    ):
        assert main(["compare", str(folder), *args, "-o", str(tmp_path / "x.png")]) == 2
        assert message in capsys.readouterr().err


def test_anatomy_rings_exactly_the_isolated_neurons(shipped_runs, tmp_path):
    from growsim.metrics import isolated_fraction, isolated_neurons
    from growsim.metrics.functional import grid_coords

    run = open_run(shipped_runs["bimt_grid2d"])
    fig = plot_run(run, "anatomy")
    steps, labels = run.series_array("fn_labels")
    lab = labels[-1].astype(np.int64)
    coords = grid_coords((20, 20))
    iso = isolated_neurons(coords, lab)
    assert np.isclose(iso[lab >= 0].mean(), isolated_fraction(coords, lab))
    ringed = fig.axes[0].collections[2].get_offsets() if iso.any() else np.zeros((0, 2))
    assert len(ringed) == iso.sum()
    # Fig. 2b: the shuffles' histogram at that step (percent of shuffles per bin, summing to
    # 100) and the observed value
    hist = fig.axes[2]
    assert sum(p.get_height() for p in hist.patches) == pytest.approx(100.0)
    _, observed = run.series_array("fn_isolated_fraction")
    assert hist.lines[0].get_xdata()[0] == pytest.approx(observed[-1])
    assert_figure(save(fig, tmp_path / "a.png", dpi=60), min_bytes=5_000)


def test_anatomy_names_each_cluster_and_counts_in_training_batches(shipped_runs):
    run = open_run(shipped_runs["bimt_grid2d"])
    fig = plot_run(run, "anatomy")
    lab = run.series_array("fn_labels")[1][-1].astype(np.int64)
    ids, counts = np.unique(lab[lab >= 0], return_counts=True)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["inactive", "isolated", *(f"cluster {i}: {n}" for i, n in zip(ids, counts))]
    assert len(ids) >= 2
    assert fig.axes[1].get_xlabel() == "training batches"


def test_many_clusters_get_a_colour_bar_instead_of_a_legend_entry_each():
    from growsim.plots._common import new_figure
    from growsim.plots.anatomy import MAX_CLUSTER_ENTRIES, cluster_key

    labels = np.arange(-1, MAX_CLUSTER_ENTRIES + 5)
    fig = new_figure(4, 4)
    ax = fig.subplots()
    ax.scatter([0], [0], label="inactive")
    cluster_key(ax, labels)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["inactive"]
    bar = fig.axes[1]
    assert bar.get_ylabel() == "cluster" and bar.get_ylim() == (-0.5, MAX_CLUSTER_ENTRIES + 4.5)
    few = new_figure(4, 4).subplots()
    cluster_key(few, np.array([-1, 0, 0, 2]))
    assert [t.get_text() for t in few.get_legend().get_texts()] == ["cluster 0: 2", "cluster 2: 1"]
    assert len(few.figure.axes) == 1


@pytest.mark.parametrize("steps", [[0, 20, 40, 60], [100, 350, 600], [5, 10, 30, 35]])
def test_each_logged_step_lies_inside_its_own_cell_at_its_centre(steps):
    from growsim.plots._common import step_edges

    steps = np.array(steps, dtype=float)
    edges = step_edges(steps)
    assert len(edges) == len(steps) + 1
    assert np.all(edges[:-1] < steps) and np.all(steps < edges[1:])
    np.testing.assert_allclose(edges[1:-1], (steps[1:] + steps[:-1]) / 2)  # borders halfway between steps
    centres = (edges[1:] + edges[:-1]) / 2
    assert centres[0] == steps[0] and centres[-1] == steps[-1]
    if np.ptp(np.diff(steps)) == 0:  # evenly logged: every step at its cell's centre
        np.testing.assert_allclose(centres, steps)
    np.testing.assert_allclose(step_edges(np.array([7.0])), [6.5, 7.5])


def test_the_accuracy_map_puts_each_evaluation_under_its_point(chain_runs):
    run = open_run(chain_runs["chain"])
    fig = plot_run(run, "training")
    mesh = fig.axes[3].collections[0]
    x = np.unique(mesh.get_coordinates()[..., 0])
    steps = run.series()["step"].to_numpy(float)
    np.testing.assert_allclose((x[1:] + x[:-1]) / 2, steps)


def test_anatomy_of_a_run_without_a_functional_report_says_what_it_needs(shipped_runs):
    with pytest.raises(RunFileError, match="no functional report"):
        plot_run(open_run(shipped_runs["fix_conn_distance"]), "anatomy")



def test_select_synapses_by_threshold_and_top_k():
    from growsim.plots.network import select_synapses

    w = np.array([[0.9, -0.5, 0.0], [0.2, 0.0, -0.05], [0.0, 0.7, 0.0]])
    rows, cols = select_synapses(w)
    assert list(zip(rows, cols)) == [(1, 2), (1, 0), (0, 1), (2, 1)]  # weakest first, diagonal left out
    rows, cols = select_synapses(w, threshold=0.1, top_k=2)
    assert list(zip(rows, cols)) == [(0, 1), (2, 1)]
    rows, cols = select_synapses(w, top_k=1, diagonal=True)
    assert list(zip(rows, cols)) == [(0, 0)]


def test_network_draws_the_strongest_synapses_with_their_direction_and_the_layers(shipped_runs):
    from growsim.plots.network import MAX_ARROWS

    run = open_run(shipped_runs["bimt_grid2d"])
    snap = run.weights()
    fig = plot_run(run, "network", top_k=40)
    ax = fig.axes[0]
    assert "40 of 159600 synapses" in fig.get_suptitle()
    arrows = [t for t in ax.texts if t.arrow_patch is not None]
    assert len(arrows) == 40 <= MAX_ARROWS
    # Each arrow runs from pre to post of one of the 40 strongest synapses (W[post, pre]).
    from growsim.plots.network import project

    xy, _, _ = project(run.geometry())
    w = np.abs(snap.w_rec.astype(np.float64))
    np.fill_diagonal(w, 0)
    post, pre = np.unravel_index(np.argsort(w.ravel())[-40:], w.shape)
    expected = {(tuple(np.round(xy[j], 9)), tuple(np.round(xy[i], 9))) for i, j in zip(post, pre)}
    drawn = {(tuple(np.round(a.xyann, 9)), tuple(np.round(a.xy, 9))) for a in arrows}
    assert drawn == expected
    squares = [c for c in ax.collections if len(c.get_offsets()) in (snap.w_in.shape[1], snap.w_out.shape[0])]
    assert len(squares) == 2  # the 53 inputs and the 17 outputs
    bare = plot_run(run, "network", top_k=40, layers=False).axes[0]
    assert not [c for c in bare.collections if len(c.get_offsets()) in (snap.w_in.shape[1], snap.w_out.shape[0])]
    # Above MAX_ARROWS the lines are one collection and the legend says direction is not drawn.
    many = plot_run(run, "network", threshold=float(np.quantile(w[w > 0], 0.99)), top_k=0)
    assert not [t for t in many.axes[0].texts if t.arrow_patch is not None]
    assert any("direction not drawn" in t.get_text() for t in many.legends[0].get_texts())


def test_a_fully_connected_network_draws_its_strongest_synapses_unless_asked_for_all(shipped_runs):
    from growsim.plots import DEFAULT_TOP_K

    run = open_run(shipped_runs["bimt_grid2d"])  # 400 neurons, every pair connected
    fig = plot_run(run, "network")
    ax = fig.axes[0]
    assert f"{DEFAULT_TOP_K} of 159600 synapses" in fig.get_suptitle()
    assert f"drawn: the {DEFAULT_TOP_K} strongest of each projection" in ax.get_title()
    assert len([t for t in ax.texts if t.arrow_patch is not None]) == DEFAULT_TOP_K
    layers = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in layers] == [DEFAULT_TOP_K, DEFAULT_TOP_K]  # inputs, outputs
    every = plot_run(run, "network", top_k=0, layers=False)
    assert "159600 synapses" in every.get_suptitle() and "strongest" not in every.axes[0].get_title()
    assert [len(c.get_segments()) for c in every.axes[0].collections if isinstance(c, LineCollection)] == [159600]
    few = plot_run(open_run(shipped_runs["add_conn_distance"]), "network", layers=False)
    assert "strongest" not in few.axes[0].get_title()  # fewer synapses than the cap: nothing left out


def test_plot_command_network_options(shipped_runs, tmp_path, capsys):
    from growsim.cli.plot import TOP_K
    from growsim.plots import DEFAULT_TOP_K

    assert TOP_K == DEFAULT_TOP_K
    run = shipped_runs["bimt_grid1d"]
    assert main(["plot", str(run), "--kind", "network", "--top-k", "30", "--no-layers", "-o", str(tmp_path / "n.png")]) == 0
    assert_figure(tmp_path / "n.png", min_bytes=5_000)
    assert main(["plot", str(run), "--kind", "network", "--top-k", "0", "-o", str(tmp_path / "all.png")]) == 0
    assert main(["plot", str(run), "--kind", "network", "--top-k", "-1", "-o", str(tmp_path / "x.png")]) == 2
    assert "--top-k" in capsys.readouterr().err


def test_weights_in_position_order_are_the_matrix_as_stored(shipped_runs, tmp_path, capsys):
    run = open_run(shipped_runs["bimt_grid1d"])
    image = plot_run(run, "weights", order="position").axes[0].images[0].get_array()
    np.testing.assert_array_equal(np.asarray(image), run.weights().w_rec.astype(np.float64))
    by_community = np.asarray(plot_run(run, "weights").axes[0].images[0].get_array())
    assert not np.array_equal(by_community, np.asarray(image))  # the default reorders
    assert main(["plot", str(run.path), "--kind", "weights", "--order", "size", "-o", str(tmp_path / "x.png")]) == 2
    assert "unknown --order 'size'" in capsys.readouterr().err
