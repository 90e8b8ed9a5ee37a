"""Hamidi et al.'s figures from ledger records.

- ``hamidi_fig6``: N_solved (the curriculum's levels solved), and below it the training loss
  (not in the paper), over epochs for each freezing and duplication condition of modular
  growth, mean and standard error over seeds: at each module size a panel of the freezing
  conditions (Fig. 6a) and one of the duplication conditions (Fig. 6b), each beside the
  fully trained network with copied weights (the paper's modular growth); the tables of
  N_solved after the last epoch and of the mean training loss, each with Welch's t and
  Mann-Whitney U against that network at the same size.

- ``hamidi_fig2``: modular growth against non-modular networks of several sizes: N_solved
  over epochs (Fig. 2a), and N_solved after the last epoch against the learnable parameters,
  with each architecture's front (Fig. 2b); the table tests each pair of sizes of about
  equal parameter budget.
- ``hamidi_fig2c``: accuracy on N + K after retraining, modular against non-modular, by K.

A run's condition comes from its spec's `duplicate_module` event: `freeze` (and
`freeze_also`), `copy_recurrent`, `copy_feedforward`. An epoch is `options.batches_per_epoch`
batches (600 in the paper).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from growsim.ledger._stats import fmt, fmt_mean_sem, fmt_tests, fmt_versus, mean_sem, two_sample
from growsim.ledger.figures import Output, figure, markdown_table
from growsim.ledger.figures.wu_gu import _curves, _final, _header, _protocols, _runs_table, _save, _write_tables

REFERENCE = "fully trained, rec T ff T"  # the paper's modular growth: every condition is compared with it
_FREEZE = {
    "previous_modules": "fully trained",
    "recurrent_after_first": "recurrent frozen",
    "feedforward_after_first_link": "feed-forward frozen",
}


def condition(record: dict[str, Any]) -> str:
    """The run's freezing and duplication: 'fully trained, rec T ff T' (Hamidi et al.'s
    modular growth), 'recurrent frozen, rec T ff T', 'fully trained, rec F ff T', ...;
    'no duplication' for a network that does not grow modules."""
    events = [e for e in record["spec"].get("growth", {}).get("events", []) if e.get("op") == "duplicate_module"]
    if not events:
        return "no duplication"
    e = events[0]
    freeze = _FREEZE.get(e.get("freeze", "previous_modules"), str(e.get("freeze")))
    flags = "rec {} ff {}".format(*("T" if e.get(k, True) else "F" for k in ("copy_recurrent", "copy_feedforward")))
    return f"{freeze}, {flags}"


def module_size(record: dict[str, Any]) -> int:
    return int(record["spec"].get("network", {}).get("module_size", -1))


def _order(conditions) -> list[str]:
    """The reference first, then the freezing conditions, then the duplication ones."""
    return sorted(conditions, key=lambda c: (c != REFERENCE, not c.startswith("fully"), c))


def fig6_panels(groups) -> list[tuple[str, int, list[str]]]:
    """The panels of Fig. 6 as (title, module size, conditions), 6a's before 6b's: at each
    module size one panel of the freezing conditions (6a) and one of the duplication
    conditions (6b), each with the reference, the paper's fully trained network with copied
    weights; no panel of the reference alone unless it is all there is at that size.
    ``groups`` holds (module size, condition) pairs."""
    six_a, six_b = [], []
    for size in sorted({s for s, _ in groups}):
        present = _order({c for s, c in groups if s == size})
        freezing = [c for c in present if c == REFERENCE or not c.startswith("fully trained")]
        duplication = [c for c in present if c.startswith("fully trained")]
        if freezing and (freezing != [REFERENCE] or duplication == [REFERENCE]):  # the reference alone: one panel
            six_a.append((f"6a, weight freezing: modules of {size}", size, freezing))
        if duplication not in ([], [REFERENCE]):
            six_b.append((f"6b, weight duplication: modules of {size}", size, duplication))
    return six_a + six_b


@figure("hamidi_fig6")
def build_fig6(ledger, out_dir: Path) -> Output:
    from growsim.plots._common import new_figure, style

    per_epoch = int(ledger.config.options.get("batches_per_epoch", 600))
    out = Output()
    md = _header(ledger, f"N_solved: the curriculum's levels solved; an epoch is {per_epoch} batches. Welch's t and "
                         f"Mann-Whitney U (two-sided) compare each condition with '{REFERENCE}' at the same module size.")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        groups: dict[tuple[int, str], list] = defaultdict(list)
        for r in records:
            groups[(module_size(r), condition(r))].append(r)
        sizes = sorted({s for s, _ in groups})
        conditions = _order({c for _, c in groups})
        panels = fig6_panels(groups)
        cmap = __import__("matplotlib").colormaps["tab10"]
        colors = {c: cmap(i % 10) for i, c in enumerate(conditions)}
        with style():
            fig = new_figure(max(6.0, 3.6 * len(panels)), 6.2)
            grid = fig.subplots(2, len(panels), squeeze=False, sharex=True)
            for column, (title, size, shown) in enumerate(panels):
                top, bottom = grid[0][column], grid[1][column]
                for c in shown:
                    runs = groups[(size, c)]
                    for ax, metric in ((top, "n_solved"), (bottom, "train_loss")):
                        steps, mean, sem, n = _curves(runs, metric)
                        epochs = steps / per_epoch
                        ax.plot(epochs, mean, color=colors[c], lw=1.4, label=f"{c} (n = {int(n.max())})")
                        ax.fill_between(epochs, mean - np.nan_to_num(sem), mean + np.nan_to_num(sem), color=colors[c],
                                        alpha=0.2, lw=0)
                top.set_title(title)
                top.legend(loc="upper left", fontsize=6.5)
                bottom.set_yscale("log")
                bottom.set_xlabel("epochs")
            grid[0][0].set_ylabel("N_solved")
            grid[1][0].set_ylabel("training loss, epoch mean")
            fig.suptitle(f"{protocol}: Hamidi et al. Fig. 6, levels solved (top) and training loss (below, not in "
                         f"the paper)\nunder weight freezing and duplication")
        _save(fig, out_dir / "figures" / f"{protocol}_fig6.png", out)

        for metric, label, value, digits, heading in (
                ("n_solved", "N_solved", lambda r: _final(r, "n_solved"), 1, "### N_solved after the last epoch"),
                ("train_loss_mean", "training loss", mean_training_loss, 4,
                 "### Training loss, mean over the epochs\n\nNot in the paper: the curriculum checks once an epoch, so "
                 "N_solved cannot pass one level per epoch, and networks that all keep that pace differ only in how "
                 "easily they learn each new level: a lower training loss (the mean over the run's epochs of each "
                 "epoch's mean). The loss is summed over the heads of the levels trained so far, so it compares runs "
                 "that trained the same levels in the same epochs (one level per epoch throughout), not a run that "
                 "fell behind.")):
            table = _fig6_table(protocol, groups, sizes, conditions, metric, value, digits, rows_csv)
            md += [heading, "", markdown_table(["module size", "condition", "n", "seeds", label, f"against {REFERENCE}"],
                                               table), ""]
        md += ["### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs, " + ", ".join(
            f"M={s} {c}: {len(groups[(s, c)])}" for s in sizes for c in conditions if (s, c) in groups))
    _write_tables(out_dir, md, rows_csv, out)
    return out


def mean_training_loss(record: dict[str, Any]) -> float:
    """The mean over a run's epochs of each epoch's mean training loss (the record's
    ``train_loss`` series, one value per logged epoch; the entry before training is empty)."""
    values = [float(v) for v in record["series"].get("train_loss", []) if v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


def _fig6_table(protocol, groups, sizes, conditions, metric, value, digits, rows_csv) -> list[list[str]]:
    """One Fig. 6 table: per module size and condition, ``metric`` (``value`` of each run) as
    n, mean and s.e., and against the reference at that size; its rows go to ``rows_csv``."""
    table = []
    for size in sizes:
        ref = [value(r) for r in groups.get((size, REFERENCE), [])]
        for c in conditions:
            runs = groups.get((size, c), [])
            if not runs:
                continue
            values = [value(r) for r in runs]
            m, s, n = mean_sem(values)
            rows_csv += [dict(protocol=protocol, module_size=size, condition=c, metric=metric, statistic=st, value=v)
                         for st, v in (("n", n), ("mean", m), ("sem", s))]
            versus = "–"
            if c != REFERENCE and len(ref) >= 2 and len(values) >= 2:
                t = two_sample(values, ref)
                versus = fmt_versus(t, digits)
                rows_csv += [dict(protocol=protocol, module_size=size, condition=f"{c} - {REFERENCE}", metric=metric,
                                  statistic=k, value=v) for k, v in t.items()]
            seeds = ", ".join(str(int(r["run"]["seed"])) for r in sorted(runs, key=lambda r: r["run"]["seed"]))
            table.append([str(size), c, str(n), seeds, fmt_mean_sem(values, digits), versus])
    return table


def architecture(record: dict[str, Any]) -> str:
    """modular when the run grows modules (a duplicate_module event), non-modular for a chain
    of one module: the reader's decision, which `growsim compare` makes too."""
    from growsim.reader import architecture as kind

    return kind(record["run"].get("network_kind", "leaky_rnn"), record["spec"])


@figure("hamidi_fig2c")
def build_fig2c(ledger, out_dir: Path) -> Output:
    """Fig. 2c: accuracy on N + K after retraining, modular against non-modular, by K.

    A record is one warm-started run (init_from) on the single level N + K; N is the level
    its source had solved (its first level minus K is read from options.n_trained, default
    10); the accuracy is its final perf on that level. Mean and standard deviation over
    networks (the paper's error bars are STD), and Welch's t and Mann-Whitney U between the
    architectures at each K."""
    from growsim.plots._common import new_figure, style

    n_trained = int(ledger.config.options.get("n_trained", 10))
    out = Output()
    md = _header(ledger, f"Accuracy: final performance on the single level N + K after retraining, N = {n_trained}. "
                         "Tests are two-sided, modular against non-modular at each K.",
                 spread="the standard deviation over networks (the paper's error bars)")
    rows_csv: list[dict[str, Any]] = []
    colors = {"modular": "#c0392b", "non-modular": "#2166ac"}
    for protocol, records in _protocols(ledger, md):
        groups: dict[tuple[str, int], list] = defaultdict(list)
        for r in records:
            k = int(r["spec"]["task"]["n_start"]) - n_trained
            groups[(architecture(r), k)].append(_final(r, "perf_mean"))
        ks = sorted({k for _, k in groups})
        with style():
            fig = new_figure(5.0, 3.4)
            ax = fig.subplots()
            for arch in ("modular", "non-modular"):
                present = [k for k in ks if (arch, k) in groups]
                if not present:
                    continue
                values = [np.asarray(groups[(arch, k)], float) for k in present]
                mean = np.array([np.nanmean(v) for v in values])
                sd = np.array([np.nanstd(v, ddof=1) if len(v) > 1 else 0.0 for v in values])
                ns = sorted({len(v) for v in values})
                label = f"{arch} (n = {ns[0]})" if len(ns) == 1 else f"{arch} (n = {ns[0]} to {ns[-1]})"
                ax.errorbar(present, 100 * mean, yerr=100 * sd, color=colors[arch], marker="o", ms=3, capsize=3,
                            lw=1.3, label=label)
            ax.set_xlabel("K (tested on N = 10 + K)".replace("10", str(n_trained)))
            ax.set_ylabel("accuracy (%)")
            ax.legend(loc="best")
            fig.suptitle(f"{protocol}: Hamidi et al. Fig. 2c, generalisation to N + K")
        _save(fig, out_dir / "figures" / f"{protocol}_fig2c.png", out)
        table = []
        for k in ks:
            mod, non = groups.get(("modular", k), []), groups.get(("non-modular", k), [])
            cells = []
            for arch, values in (("modular", mod), ("non-modular", non)):
                v = np.asarray(values, float)
                m = float(np.nanmean(v)) if len(v) else math.nan
                sd = float(np.nanstd(v, ddof=1)) if len(v) > 1 else math.nan
                cells.append(f"{fmt(m)} ± {fmt(sd)} ({len(v)})" if len(v) else "–")
                rows_csv += [dict(protocol=protocol, k=k, group=arch, metric="perf_mean", statistic=st, value=val)
                             for st, val in (("n", len(v)), ("mean", m), ("sd", sd))]
            versus = "–"
            if len(mod) >= 2 and len(non) >= 2:
                t = two_sample(mod, non)
                versus = fmt_versus(t, se=False)
                rows_csv += [dict(protocol=protocol, k=k, group="modular-non-modular", metric="perf_mean", statistic=s,
                                  value=v) for s, v in t.items()]
            table.append([str(k), *cells, versus])
        md += ["### Accuracy on N + K", "",
               markdown_table(["K", "modular, mean ± SD (n)", "non-modular, mean ± SD (n)", "modular − non-modular"], table),
               "", "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs over K = {', '.join(map(str, ks))}")
    _write_tables(out_dir, md, rows_csv, out)
    return out


# The sweep's sizes of about equal learnable parameters at N = 30: (neurons per module of the
# modular network, neurons of the non-modular one).
PAIRS = ((5, 20), (10, 54), (15, 91), (20, 128))
_ARCH_ORDER = ("modular", "non-modular")
_ARCH_COLORS = {"modular": ("Reds", "#c0392b", "o"), "non-modular": ("Blues", "#2166ac", "s")}


def on_front(points: list[tuple[float, float]]) -> list[bool]:
    """Which (learnable parameters, N_solved) points are on the front: no other point has
    as few parameters or fewer and solves as many levels or more, better in one of the two.
    A point with a NaN is not on it."""
    flags = []
    for i, (p, n) in enumerate(points):
        beaten = any(j != i and q <= p and m >= n and (q < p or m > n) for j, (q, m) in enumerate(points))
        flags.append(math.isfinite(p) and math.isfinite(n) and not beaten)
    return flags


def _spread(values) -> dict[str, float]:
    """n, mean, standard deviation and standard error of the finite values."""
    m, sem, n = mean_sem(values)
    return {"n": n, "mean": m, "sd": sem * math.sqrt(n) if n > 1 else math.nan, "sem": sem}


def architectures(groups) -> list[str]:
    present = {a for a, _ in groups}
    return [a for a in _ARCH_ORDER if a in present] + sorted(present - set(_ARCH_ORDER))


def size_colours(groups):
    """colour(architecture, size) for the (architecture, size) keys of ``groups``: each
    architecture's ramp (modular red, non-modular blue), darker for larger sizes."""
    import matplotlib

    def colour(arch, size):
        sizes = sorted(s for a, s in groups if a == arch)
        ramp = matplotlib.colormaps[_ARCH_COLORS.get(arch, ("Greys",))[0]]
        return ramp(0.45 + 0.5 * sizes.index(size) / max(1, len(sizes) - 1))

    return colour


def size_label(arch: str, size: int) -> str:
    return f"modules of {size}" if arch == "modular" else f"{size} neurons"


def _count(value: float) -> str:
    """A number of parameters: whole, NaN as a dash (fmt writes 3 significant digits from 1000 up)."""
    return f"{value:.0f}" if math.isfinite(value) else "–"


def _epochs(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"


@figure("hamidi_fig2")
def build_fig2(ledger, out_dir: Path) -> Output:
    """Fig. 2a and 2b: modular growth against non-modular networks of several sizes.

    A run's size is `network.module_size`: the neurons of each module (modular) or of the
    one recurrent core (non-modular); its architecture is the reader's (`growsim compare`
    splits runs the same way), so modules of 20 and a network of 20 stay apart. Fig. 2a:
    N_solved over epochs, mean and standard deviation over seeds (the paper's error bars are
    STD); an epoch is options.batches_per_epoch batches (600). Fig. 2b: final N_solved
    against the final learnable parameters (`n_parameters`), each point a size, with each
    architecture's front. The table tests modular against non-modular at each of
    options.pairs ([module size, non-modular size], default the sweep's PAIRS)."""
    from growsim.plots._common import new_figure, style

    per_epoch = int(ledger.config.options.get("batches_per_epoch", 600))
    pairs = [(int(a), int(b)) for a, b in ledger.config.options.get("pairs", PAIRS)]
    out = Output()
    md = _header(ledger, f"N_solved: the curriculum's levels solved; an epoch is {per_epoch} batches. Learnable "
                         "parameters: the run's final `n_parameters` (every parameter of its modules and heads). Size: "
                         "the neurons of each module (modular) or of the network (non-modular). Welch's t and "
                         "Mann-Whitney U (two-sided) compare modular with non-modular at each pair of sizes of about "
                         "equal parameter budget.",
                 spread="the standard deviation over seeds (the paper's error bars)")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        groups: dict[tuple[str, int], list] = defaultdict(list)
        for r in sorted(records, key=lambda r: r["run"]["seed"]):
            groups[(architecture(r), module_size(r))].append(r)
        archs = architectures(groups)
        stats = {key: {"n_solved": _spread([_final(r, "n_solved") for r in runs]),
                       "n_parameters": _spread([_final(r, "n_parameters") for r in runs]),
                       "epochs": [_final(r, "step") / per_epoch for r in runs]}
                 for key, runs in groups.items()}
        front: dict[tuple[str, int], bool] = {}
        for arch in archs:
            keys = sorted(k for k in groups if k[0] == arch)
            flags = on_front([(stats[k]["n_parameters"]["mean"], stats[k]["n_solved"]["mean"]) for k in keys])
            front.update(zip(keys, flags))

        colour = size_colours(groups)

        with style():
            fig = new_figure(max(6.0, 3.6 * len(archs)), 3.4)
            axes = fig.subplots(1, len(archs), squeeze=False, sharey=True)[0]
            for ax, arch in zip(axes, archs):
                for size in sorted(s for a, s in groups if a == arch):
                    steps, mean, sem, n = _curves(groups[(arch, size)], "n_solved")
                    sd = np.nan_to_num(sem * np.sqrt(n))
                    ax.plot(steps / per_epoch, mean, color=colour(arch, size), lw=1.4,
                            label=f"{size_label(arch, size)} (n = {int(n.max())})")
                    ax.fill_between(steps / per_epoch, mean - sd, mean + sd, color=colour(arch, size), alpha=0.2, lw=0)
                ax.set_title(arch)
                ax.set_xlabel("epochs")
                ax.legend(loc="upper left", fontsize=6.5)
            axes[0].set_ylabel("N_solved")
            fig.suptitle(f"{protocol}: Hamidi et al. Fig. 2a, levels solved over training")
        _save(fig, out_dir / "figures" / f"{protocol}_fig2a.png", out)

        with style():
            fig = new_figure(5.2, 3.6)
            ax = fig.subplots()
            for arch in archs:
                keys = sorted(k for k in groups if k[0] == arch)
                _, color, marker = _ARCH_COLORS.get(arch, ("Greys", "#555555", "^"))
                x = [stats[k]["n_parameters"]["mean"] for k in keys]
                y = [stats[k]["n_solved"]["mean"] for k in keys]
                ax.errorbar(x, y, xerr=[np.nan_to_num(stats[k]["n_parameters"]["sd"]) for k in keys],
                            yerr=[np.nan_to_num(stats[k]["n_solved"]["sd"]) for k in keys], color=color,
                            marker=marker, ms=4, ls="none", capsize=2, label=arch)
                for k, xi, yi in zip(keys, x, y):
                    ax.annotate(str(k[1]), (xi, yi), fontsize=6.5, color=color, xytext=(3, 3), textcoords="offset points")
                edge = sorted((xi, yi) for k, xi, yi in zip(keys, x, y) if front[k])
                if edge:
                    ax.plot(*zip(*edge), color=color, lw=1.2, ls="--", label=f"{arch} front")
            if all(s["n_parameters"]["mean"] > 0 for s in stats.values()):
                ax.set_xscale("log")
            ax.set_xlabel("learnable parameters (final)")
            ax.set_ylabel(f"N_solved after {_epochs([e for s in stats.values() for e in s['epochs']])} epochs")
            ax.legend(loc="best", fontsize=6.5)
            fig.suptitle(f"{protocol}: Hamidi et al. Fig. 2b, levels solved against parameters")
        _save(fig, out_dir / "figures" / f"{protocol}_fig2b.png", out)

        table = []
        for arch in archs:
            for size in sorted(s for a, s in groups if a == arch):
                st = stats[(arch, size)]
                ns, params = st["n_solved"], st["n_parameters"]
                seeds = ", ".join(str(int(r["run"]["seed"])) for r in groups[(arch, size)])
                table.append([arch, str(size), str(ns["n"]), seeds, _epochs(st["epochs"]),
                              f"{_count(params['mean'])} ± {_count(params['sd'])}", f"{fmt(ns['mean'], 1)} ± {fmt(ns['sd'], 1)}",
                              fmt(ns["sem"], 1), "yes" if front[(arch, size)] else "no"])
                row = dict(protocol=protocol, group=arch, size=str(size))
                rows_csv += [{**row, "metric": "n_solved", "statistic": k, "value": v} for k, v in ns.items()]
                rows_csv += [{**row, "metric": "n_parameters", "statistic": k, "value": params[k]} for k in ("mean", "sd")]
                rows_csv += [{**row, "metric": "epochs", "statistic": "mean", "value": float(np.mean(st["epochs"]))},
                             {**row, "metric": "n_solved~n_parameters", "statistic": "on_front",
                              "value": int(front[(arch, size)])}]
        tests = []
        for a, b in pairs:
            mod, non = groups.get(("modular", a), []), groups.get(("non-modular", b), [])
            if not mod and not non:
                continue
            x, y = [_final(r, "n_solved") for r in mod], [_final(r, "n_solved") for r in non]
            t = two_sample(x, y)
            cells = [_count(stats[k]["n_parameters"]["mean"]) if k in stats else "–" for k in (("modular", a), ("non-modular", b))]
            tests.append([str(a), str(b), f"{len(mod)} / {len(non)}", " / ".join(cells), *fmt_tests(t, 1)])
            rows_csv += [dict(protocol=protocol, group="modular-non-modular", size=f"{a}/{b}", metric="n_solved",
                              statistic=k, value=v) for k, v in t.items()]
        md += ["### N_solved after the last epoch, and learnable parameters (Fig. 2b)", "",
               markdown_table(["architecture", "size", "n", "seeds", "epochs", "learnable parameters", "N_solved",
                               "SEM", "on the front"], table), "",
               "### Equal parameter budgets: modular against non-modular", "",
               markdown_table(["modules of", "non-modular of", "n modular / non-modular",
                               "learnable parameters, modular / non-modular", "modular − non-modular",
                               "Welch t (p)", "Mann-Whitney U (p)"], tests) if tests else "No pair of sizes has runs.",
               "", "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs, " + ", ".join(
            f"{a} {s}: {len(groups[(a, s)])}" for a in archs for s in sorted(s for b, s in groups if b == a)))
    _write_tables(out_dir, md, rows_csv, out)
    return out
