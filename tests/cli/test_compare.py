"""growsim compare counts each completed run once, and says what it left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from growsim.cli import main

TINY = Path(__file__).parents[1] / "data" / "tiny.yaml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from growsim.runner import Stop, run

    out = tmp_path_factory.mktemp("compare")
    for name, overrides in {
        "a_seed1": ["seed=1"],
        "b_seed2": ["seed=2"],
        "c_seed1_again": ["seed=1", "train.threads=1"],  # the same run as a_seed1: threads do not make another
        "d_short": ["seed=4", "train.batches=20"],
    }.items():
        assert main(["run", str(TINY), "--out", str(out / f"{name}.h5"), "-q", *[a for o in overrides for a in ("--set", o)]]) == 0
    stop = Stop()
    stop.request("stopped by the test")  # before it starts: it stops at step 0
    assert run(TINY, out / "e_stopped.h5", overrides=["seed=5"], stop=stop).status == "interrupted"
    return out


def test_completed_runs_once_each_with_warnings_for_the_rest(folder, tmp_path, capsys):
    assert main(["compare", str(folder), "--by", "wiring.rule", "-o", str(tmp_path / "c.png")]) == 0
    captured = capsys.readouterr()
    assert "modularity_q of 3 runs by wiring.rule" in captured.out
    assert "left out 1 run(s) that did not complete: e_stopped (interrupted)" in captured.err
    assert f"counted once: {folder / 'c_seed1_again.h5'} (the same run as {folder / 'a_seed1.h5'})" in captured.err
    assert "end at different batches (20, 40): later points average fewer runs" in captured.err


def test_equal_length_keeps_only_the_runs_that_go_the_whole_way(folder, tmp_path, capsys):
    assert main(["compare", str(folder), "--by", "wiring.rule", "--equal-length", "-o", str(tmp_path / "c.png")]) == 0
    captured = capsys.readouterr()
    assert "modularity_q of 2 runs by wiring.rule" in captured.out
    assert "left out 1 run(s) shorter than the longest of their curve: d_short (ends at 20)" in captured.err
    assert "end at different batches" not in captured.err


def test_unfinished_runs_counted_when_asked(folder, tmp_path, capsys):
    assert main(["compare", str(folder), "--by", "wiring.rule", "--include-unfinished", "-o", str(tmp_path / "c.png")]) == 0
    captured = capsys.readouterr()
    assert "modularity_q of 4 runs" in captured.out and "did not complete" not in captured.err


def test_legend_gives_the_runs_behind_the_points(folder):
    from growsim.cli.compare import select_runs
    from growsim.plots import plot_compare
    from growsim.reader import open_runs

    table, _ = select_runs(open_runs(folder))
    fig = plot_compare(table, ["wiring.rule"])
    (label,) = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert label.endswith("(n = 2 to 3)")  # 3 runs up to batch 20, then the 2 that go on to 40


def test_modular_and_non_modular_runs_of_one_size_stay_apart(tmp_path, capsys):
    """Grouped by network.module_size, modules of 4 neurons and a one-module network of 4
    neurons are different curves (Hamidi et al.'s Fig. 2a)."""
    import growsim

    chain = Path(__file__).parents[1] / "data" / "tiny_chain.yaml"
    easy = ["task.criterion.newest=0", "task.criterion.mean=0", "train.batches=10"]
    one_module = "growth.events=[{op: add_readout, when: level_solved, module: first}]"
    for name, sets in (("modular", []), ("flat", [one_module])):
        for seed in (0, 1):
            out = tmp_path / "runs" / f"{name}{seed}.h5"
            assert growsim.run(chain, out, overrides=[*easy, *sets, f"seed={seed}"]).status == "completed"
    png = tmp_path / "fig2a.png"
    assert main(["compare", str(tmp_path / "runs"), "--by", "network.module_size", "--metric", "n_solved", "-o", str(png)]) == 0
    captured = capsys.readouterr()
    assert "by network.module_size, architecture: 4, modular: 2 runs; 4, non-modular: 2 runs" in " ".join(captured.out.split())
    assert "runs of different architectures (modular, non-modular) share values of network.module_size" in captured.err
    assert png.stat().st_size > 0
    # grouped by seed, each seed's curve would mix the two: split as well
    assert main(["compare", str(tmp_path / "runs"), "--by", "seed", "--metric", "n_solved", "-o", str(png)]) == 0
    assert "share values of seed" in capsys.readouterr().err
