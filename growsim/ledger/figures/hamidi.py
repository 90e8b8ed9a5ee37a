"""Hamidi et al.'s figures from ledger records.

- ``hamidi_fig6``: N_solved (the curriculum's levels solved) over epochs for each freezing
  and duplication condition of modular growth, one panel per module size, mean and
  standard error over seeds (Fig. 6a: weight freezing; Fig. 6b: weight duplication); the
  table of N_solved after the last epoch, with Welch's t and Mann-Whitney U against the
  fully trained network with copied weights (the paper's modular growth) at the same size.

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

from growsim.ledger._stats import fmt, fmt_mean_sem, fmt_p, mean_sem, two_sample
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
        cmap = __import__("matplotlib").colormaps["tab10"]
        colors = {c: cmap(i % 10) for i, c in enumerate(conditions)}
        with style():
            fig = new_figure(max(6.0, 3.6 * len(sizes)), 3.4)
            axes = fig.subplots(1, len(sizes), squeeze=False)[0]
            for ax, size in zip(axes, sizes):
                for c in conditions:
                    runs = groups.get((size, c), [])
                    if not runs:
                        continue
                    steps, mean, sem, n = _curves(runs, "n_solved")
                    epochs = steps / per_epoch
                    ax.plot(epochs, mean, color=colors[c], lw=1.4, label=f"{c} (n = {int(n.max())})")
                    ax.fill_between(epochs, mean - np.nan_to_num(sem), mean + np.nan_to_num(sem), color=colors[c],
                                    alpha=0.2, lw=0)
                ax.set_title(f"modules of {size} neurons")
                ax.set_xlabel("epochs")
                ax.legend(loc="upper left", fontsize=6.5)
            axes[0].set_ylabel("N_solved")
            fig.suptitle(f"{protocol}: Hamidi et al. Fig. 6, levels solved\nunder weight freezing and duplication")
        _save(fig, out_dir / "figures" / f"{protocol}_fig6.png", out)

        table = []
        for size in sizes:
            ref = [_final(r, "n_solved") for r in groups.get((size, REFERENCE), [])]
            for c in conditions:
                runs = groups.get((size, c), [])
                if not runs:
                    continue
                values = [_final(r, "n_solved") for r in runs]
                m, s, n = mean_sem(values)
                rows_csv += [dict(protocol=protocol, module_size=size, condition=c, metric="n_solved", statistic=st, value=v)
                             for st, v in (("n", n), ("mean", m), ("sem", s))]
                versus = "–"
                if c != REFERENCE and len(ref) >= 2 and len(values) >= 2:
                    t = two_sample(values, ref)
                    versus = (f"{fmt(t['diff'], 1)} ± {fmt(t['diff_se'], 1)}; Welch p {fmt_p(t['welch_p'])}; "
                              f"U {'–' if math.isnan(t['mwu_u']) else format(t['mwu_u'], 'g')} (p {fmt_p(t['mwu_p'])})")
                    rows_csv += [dict(protocol=protocol, module_size=size, condition=f"{c} - {REFERENCE}", metric="n_solved",
                                      statistic=k, value=v) for k, v in t.items()]
                seeds = ", ".join(str(int(r["run"]["seed"])) for r in sorted(runs, key=lambda r: r["run"]["seed"]))
                table.append([str(size), c, str(n), seeds, fmt_mean_sem(values, 1), versus])
        md += ["### N_solved after the last epoch", "",
               markdown_table(["module size", "condition", "n", "seeds", "N_solved", f"against {REFERENCE}"], table), "",
               "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs, " + ", ".join(
            f"M={s} {c}: {len(groups[(s, c)])}" for s in sizes for c in conditions if (s, c) in groups))
    _write_tables(out_dir, md, rows_csv, out)
    return out


def architecture(record: dict[str, Any]) -> str:
    """modular when the run grows modules (a duplicate_module event), non-modular otherwise."""
    events = record["spec"].get("growth", {}).get("events", [])
    return "modular" if any(e.get("op") == "duplicate_module" for e in events) else "non-modular"


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
                versus = f"{fmt(t['diff'])}; Welch p {fmt_p(t['welch_p'])}; U {format(t['mwu_u'], 'g')} (p {fmt_p(t['mwu_p'])})"
                rows_csv += [dict(protocol=protocol, k=k, group="modular-non-modular", metric="perf_mean", statistic=s,
                                  value=v) for s, v in t.items()]
            table.append([str(k), *cells, versus])
        md += ["### Accuracy on N + K", "",
               markdown_table(["K", "modular, mean ± SD (n)", "non-modular, mean ± SD (n)", "modular − non-modular"], table),
               "", "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs over K = {', '.join(map(str, ks))}")
    _write_tables(out_dir, md, rows_csv, out)
    return out
