"""Hamidi et al.'s Figs. 3, 4 and 5 from ledger records that carry what `growsim analyze`
stored in each run file.

These figures are drawn from analyses of the trained networks, not from the logged series,
so each builder registers what it needs of a run's /analysis groups and `growsim ledger
add` copies that, and only that, into the record (a few kilobytes). A run without it is
refused with the command that stores it; nothing is computed while recording.

- ``hamidi_fig3`` (robustness: ``connections`` and ``tau``): levels still solved (accuracy
  above the threshold) against the perturbation size eps, one panel per target, one line per
  architecture and size, mean and standard deviation over networks; the table tests modular
  against non-modular on the fraction of levels kept, averaged over eps (:func:`kept_area`).
- ``hamidi_fig4`` (timescales_at_solves): the mean trained and effective timescale of the
  module solving N_solved, at each solve step (a non-modular network's one module: all its
  neurons), and the fraction of its neurons whose slow timescale is beyond the fitted lags
  (left out of the effective mean), against N_solved, mean and standard error over
  networks; modular against non-modular at each N_solved of each pair of sizes, and the
  trend with N_solved.
- ``hamidi_fig5`` (robustness: ``feedforward`` and ``recurrent``; weight_conservation;
  modular runs only): each level's accuracy under perturbed W_ff (5a) and W_rec (5b) at
  every eps, and the variance of the normalised weight change between consecutive modules
  (5c), mean and standard error over networks; W_ff against W_rec within networks (paired).

A run's architecture is the reader's (:func:`growsim.reader.architecture`), its size its
``network.module_size``, as in ``hamidi_fig2``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from growsim.ledger._record import MissingAnalysis, RecordError
from growsim.ledger._stats import correlation, fmt, fmt_mean_sem, fmt_p, fmt_tests, mean_sem, paired, two_sample
from growsim.ledger.figures import Output, RecordAnalyses, figure, markdown_table
from growsim.ledger.figures.hamidi import (
    PAIRS,
    architecture,
    architectures,
    module_size,
    size_colours,
    size_label,
)
from growsim.ledger.figures.wu_gu import _header, _protocols, _runs_table, _save, _write_tables

FIG3_TARGETS = ("connections", "tau")
FIG5_TARGETS = ("feedforward", "recurrent")
# Fig. 4's quantities of the solving module, one panel each: a record's timescales_at_solves
# key, its name in the tables, the panel's title and its y label.
FIG4_QUANTITIES = (
    ("tau_trained", "trained tau", "trained tau", "trained tau (time steps)"),
    ("tau_effective", "effective tau", "effective tau (resolved neurons)", "effective tau (time steps)"),
    ("tau_unresolved", "fraction beyond the fitted lags", "slow tau beyond the fitted lags\n(tau at the fit's bound, 1e4)",
     "fraction of neurons"),
)
TIMESCALES = tuple(q[0] for q in FIG4_QUANTITIES)
_TARGET_TITLES = {"connections": "connections (W_rec and W_ff)", "tau": "timescales tau",
                  "feedforward": "feed-forward weights W_ff", "recurrent": "recurrent weights W_rec"}


# --- what a record keeps of the run's analyses -------------------------------------------


def _stored(path: Path, metric: str, usable, holds: str, command: str):
    """The run's /analysis group of ``metric`` that ``usable`` accepts: the one named after
    the metric (the default of `growsim analyze`), else the only one. None stored: refused
    with the command that stores it; several, none of them the default: refused, naming them."""
    from growsim.reader import open_run

    run = open_run(path)
    present = run.analyses()
    fits = [g for g in (run.analysis(n) for n, m in present.items() if m == metric) if usable(g)]
    named = [g for g in fits if g.name == metric]
    if named:
        return named[0]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        have = ", ".join(f"{n} ({m})" for n, m in present.items()) or "none"
        raise MissingAnalysis(f"{path}: no /analysis of {metric} holding {holds} (analyses: {have}); store it with "
                              f"`{command.replace('RUN', str(path))}`, then add the run again", command)
    raise RecordError(f"{path}: {len(fits)} /analysis groups of {metric} hold {holds} "
                      f"({', '.join(g.name for g in fits)}); name the one to count {metric!r}")


def _parameters(group) -> dict[str, Any]:
    try:
        return json.loads(group.attrs.get("parameters", "{}"))
    except ValueError:
        return {}


def _robustness(path: Path, targets: tuple[str, ...], per_level: bool) -> dict[str, Any]:
    """Of the robustness analysis: levels above the threshold per eps and draw for each
    target; with ``per_level``, each level's accuracy per eps, averaged over the draws."""
    g = _stored(path, "robustness", lambda g: set(targets) <= set(g["what"]), "the targets " + " and ".join(targets),
                "growsim analyze robustness RUN")
    params = _parameters(g)
    threshold = float(params.get("threshold", g.attrs.get("threshold", 0.9)))
    what = list(g["what"])
    unperturbed = np.asarray(g["accuracy_unperturbed"], dtype=np.float64)
    out: dict[str, Any] = {
        "group": g.name, "step": int(g["step"][0]), "eps": np.asarray(g["eps"], np.float64),
        "levels": np.asarray(g["levels"], np.int64), "draws": int(len(g["draw"])), "threshold": threshold,
        "scope": params.get("scope"), "trials": params.get("trials"), "seed": params.get("seed"),
        "n_solved_unperturbed": int((unperturbed > threshold).sum()), "targets": {},
    }
    if per_level:
        out["accuracy_unperturbed"] = unperturbed
    for target in targets:
        i = what.index(target)
        entry: dict[str, Any] = {"n_solved_above": np.asarray(g["n_solved_above"][i], np.int64)}  # (eps, draws)
        if per_level:
            entry["accuracy"] = np.nanmean(np.asarray(g["accuracy"][i], np.float64), axis=1)  # (eps, levels)
        out["targets"][target] = entry
    return out


def solver_module(levels: list[int], head_module: list[int], n_solved: int) -> int:
    """The module that solves level ``n_solved``: the one its readout head reads
    (``head_module`` in head order; ``levels`` the level of each head). In a modular network
    the module added for that level; in a non-modular one its only module."""
    levels = [int(n) for n in levels]
    if int(n_solved) not in levels:
        raise ValueError(f"no readout head reads level {n_solved} (heads read {levels[:1]} to {levels[-1:]})")
    return int(head_module[levels.index(int(n_solved))])


def _timescales(path: Path) -> dict[str, Any]:
    """Of timescales_at_solves: at each solve step, the mean trained and effective timescale
    of the module solving N_solved (the snapshot's head for that level says which), and the
    fraction of its neurons whose tau is at the fit's upper bound. The effective mean is over
    the other neurons (:func:`growsim.metrics.timescales.resolved_summary`); both are
    computed here from the per-neuron ``tau_effective``, so an analysis stored before the
    module means left those neurons out gives the same numbers. A first row below the
    curriculum's first level (nothing solved yet) is left out."""
    from growsim.metrics.timescales import resolved_summary
    from growsim.reader import open_run

    g = _stored(path, "timescales_at_solves", lambda g: True, "timescales at the solve steps",
                "growsim analyze timescales_at_solves RUN")
    run = open_run(path)
    rows: dict[str, list] = {k: [] for k in ("step", "n_solved", "n_modules", "module", *TIMESCALES)}
    for i, (step, n) in enumerate(zip(g["step"], g["n_solved"])):
        snap = run.weights(int(step))
        levels = run.head_levels(snap)
        if not levels or int(n) < levels[0]:
            continue  # N_solved below the first level: nothing solved yet
        module = solver_module(levels, list(snap.extra["head_module"]), int(n))
        rows["step"].append(int(step))
        rows["n_solved"].append(int(n))
        rows["n_modules"].append(int(g["n_modules"][i]))
        rows["module"].append(module)
        rows["tau_trained"].append(float(g["tau_trained_mean"][i, module]))
        mean, unresolved = resolved_summary(g["tau_effective"][i, module])
        rows["tau_effective"].append(mean)
        rows["tau_unresolved"].append(unresolved)
    params = _parameters(g)
    return {"group": g.name, **{k: params.get(k) for k in ("steps", "max_lag", "burn_in", "trials", "seed")}, **rows}


def _conservation(path: Path) -> dict[str, Any]:
    g = _stored(path, "weight_conservation", lambda g: True, "the weight change between modules",
                "growsim analyze weight_conservation RUN")
    return {"group": g.name, "step": int(g["step"][0]), "module": np.asarray(g["module"], np.int64),
            "recurrent": np.asarray(g["recurrent"], np.float64), "feedforward": np.asarray(g["feedforward"], np.float64)}


def _fig3_analyses(path: Path, options: dict[str, Any]) -> dict[str, Any]:
    return {"robustness": _robustness(path, FIG3_TARGETS, per_level=False)}


def _fig4_analyses(path: Path, options: dict[str, Any]) -> dict[str, Any]:
    return {"timescales_at_solves": _timescales(path)}


def _fig5_analyses(path: Path, options: dict[str, Any]) -> dict[str, Any]:
    from growsim.reader import architecture as kind
    from growsim.reader import open_run

    run = open_run(path)
    arch = kind(run.network_kind, run.spec)
    if arch != "modular":
        raise RecordError(f"{path}: Fig. 5 compares the feed-forward and recurrent weights of modular networks; "
                          f"this run is {arch}")
    return {"robustness": _robustness(path, FIG5_TARGETS, per_level=True), "weight_conservation": _conservation(path)}


# --- pure summaries ------------------------------------------------------------------------


def kept_area(eps, solved, solved_unperturbed: float) -> float:
    """The fraction of levels a network keeps, averaged over the perturbation sizes: the
    area under solved(eps) / solved_unperturbed by the trapezoid rule, over the eps range
    (1 when every level stays solved, 0 when all are lost at once). NaN when nothing was
    solved unperturbed or there are fewer than two eps."""
    e = np.asarray(eps, dtype=np.float64)
    s = np.asarray(solved, dtype=np.float64)
    if len(e) < 2 or not solved_unperturbed or not np.isfinite(solved_unperturbed) or e[-1] == e[0]:
        return math.nan
    f = s / float(solved_unperturbed)
    return float(np.sum((f[1:] + f[:-1]) * np.diff(e)) / 2.0 / (e[-1] - e[0]))


def common_eps(records: list[dict[str, Any]]) -> list[float]:
    """The perturbation sizes every record's robustness analysis has (to 1e-9), ascending."""
    common = None
    for r in records:
        values = {round(float(e), 9) for e in r["analyses"]["robustness"]["eps"]}
        common = values if common is None else common & values
    return sorted(common or ())


def _eps_index(record: dict[str, Any], eps: list[float]) -> list[int]:
    own = [round(float(e), 9) for e in record["analyses"]["robustness"]["eps"]]
    return [own.index(e) for e in eps]


def solved_over_eps(record: dict[str, Any], target: str, eps: list[float]) -> np.ndarray:
    """Levels above the threshold at each of ``eps``, averaged over the record's draws."""
    a = np.asarray(record["analyses"]["robustness"]["targets"][target]["n_solved_above"], dtype=np.float64)
    return a[_eps_index(record, eps)].mean(axis=1)


def _groups(records: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    groups: dict[tuple[str, int], list] = defaultdict(list)
    for r in sorted(records, key=lambda r: r["run"]["seed"]):
        groups[(architecture(r), module_size(r))].append(r)
    return groups


def _keys(groups) -> list[tuple[str, int]]:
    return [(a, s) for a in architectures(groups) for s in sorted(s for b, s in groups if b == a)]


def _seeds(runs) -> str:
    return ", ".join(str(int(r["run"]["seed"])) for r in runs)


def _sd(values) -> float:
    m, sem, n = mean_sem(values)
    return sem * math.sqrt(n) if n > 1 else math.nan


def _mean_sd(values, digits: int = 3) -> str:
    m, _, n = mean_sem(values)
    return f"{fmt(m, digits)} ± {fmt(_sd(values), digits)}" if n else "–"


def _paired_cells(p: dict[str, float]) -> list[str]:
    """The difference ± its s.e., the paired t (p) and the Wilcoxon W (p) of ``paired``."""
    w = "–" if math.isnan(p["wilcoxon_w"]) else format(p["wilcoxon_w"], "g")
    return [f"{fmt(p['diff'])} ± {fmt(p['diff_se'])}", f"{fmt(p['t'], 2)} ({fmt_p(p['t_p'])})",
            f"{w} ({fmt_p(p['wilcoxon_p'])})"]


def _pairs(ledger, default) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in ledger.config.options.get("pairs", default)]


def _spread_rows(row: dict[str, Any], values) -> list[dict[str, Any]]:
    m, sem, n = mean_sem(values)
    return [{**row, "statistic": k, "value": v} for k, v in (("n", n), ("mean", m), ("sd", _sd(values)), ("sem", sem))]


# --- Fig. 3 --------------------------------------------------------------------------------


@figure("hamidi_fig3", analyses=RecordAnalyses(("robustness",), _fig3_analyses))
def build_fig3(ledger, out_dir: Path) -> Output:
    """Fig. 3: levels still solved after perturbing the connections (3a) and the timescales
    (3b), modular against non-modular networks of each size."""
    from growsim.plots._common import new_figure, style

    pairs = _pairs(ledger, PAIRS)
    out = Output()
    md = _header(ledger, "Levels solved: levels with accuracy above the robustness analysis's threshold (0.9 unless "
                         "given), averaged over its random directions. Kept: the fraction of the unperturbed network's "
                         "levels still solved, averaged over eps (trapezoid rule; 1: nothing lost, above 1 where a "
                         "perturbed network solves more). Welch's t and Mann-Whitney U (two-sided) compare the kept "
                         "fraction of modular and non-modular networks at each pair of sizes of about equal parameters, "
                         "and over all sizes.",
                 spread="the standard deviation over networks (the paper's error bars)")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        groups = _groups(records)
        keys = _keys(groups)
        eps = common_eps(records)
        if len(eps) < 2:
            raise RecordError(f"{ledger.folder}: the robustness analyses of protocol {protocol} share fewer than two "
                              f"eps ({eps}); analyse them on one eps grid")
        curves = {t: {id(r): solved_over_eps(r, t, eps) for r in records} for t in FIG3_TARGETS}
        kept = {t: {id(r): kept_area(eps, curves[t][id(r)], r["analyses"]["robustness"]["n_solved_unperturbed"])
                    for r in records} for t in FIG3_TARGETS}
        colour = size_colours(groups)
        with style():
            fig = new_figure(7.2, 3.4)
            axes = fig.subplots(1, len(FIG3_TARGETS), sharey=True)
            for ax, target, panel in zip(axes, FIG3_TARGETS, "ab"):
                for arch, size in keys:
                    c = np.array([curves[target][id(r)] for r in groups[(arch, size)]])
                    mean, sd = c.mean(axis=0), (c.std(axis=0, ddof=1) if len(c) > 1 else np.zeros(len(eps)))
                    ax.plot(eps, mean, color=colour(arch, size), lw=1.4, ls="-" if arch == "modular" else "--",
                            label=f"{arch}, {size_label(arch, size)} (n = {len(c)})")
                    ax.fill_between(eps, mean - sd, mean + sd, color=colour(arch, size), alpha=0.15, lw=0)
                ax.set_title(f"({panel}) {_TARGET_TITLES[target]}")
                ax.set_xlabel("perturbation size eps")
            axes[0].set_ylabel("levels solved (accuracy > threshold)")
            axes[-1].legend(loc="upper right", fontsize=6)
            fig.suptitle(f"{protocol}: Hamidi et al. Fig. 3, robustness to perturbation")
        _save(fig, out_dir / "figures" / f"{protocol}_fig3.png", out)

        table, tests = [], []
        for target in FIG3_TARGETS:
            for arch, size in keys:
                runs = groups[(arch, size)]
                base = [r["analyses"]["robustness"]["n_solved_unperturbed"] for r in runs]
                last = [curves[target][id(r)][-1] for r in runs]
                area = [kept[target][id(r)] for r in runs]
                table.append([target, arch, str(size), str(len(runs)), _seeds(runs), _mean_sd(base, 1), _mean_sd(last, 1),
                              _mean_sd(area)])
                row = dict(protocol=protocol, target=target, group=arch, size=str(size))
                rows_csv += _spread_rows({**row, "eps": "", "metric": "kept"}, area)
                rows_csv += _spread_rows({**row, "eps": "", "metric": "n_solved_unperturbed"}, base)
                for k, e in enumerate(eps):
                    rows_csv += _spread_rows({**row, "eps": e, "metric": "n_solved"}, [curves[target][id(r)][k] for r in runs])
            for a, b in [*pairs, ("all", "all")]:
                mod = [r for (arch, s), runs in groups.items() for r in runs if arch == "modular" and a in ("all", s)]
                non = [r for (arch, s), runs in groups.items() for r in runs if arch == "non-modular" and b in ("all", s)]
                if not mod and not non:
                    continue
                t = two_sample([kept[target][id(r)] for r in mod], [kept[target][id(r)] for r in non])
                tests.append([target, str(a), str(b), f"{len(mod)} / {len(non)}", *fmt_tests(t)])
                rows_csv += [dict(protocol=protocol, target=target, group="modular-non-modular", size=f"{a}/{b}", eps="",
                                  metric="kept", statistic=k, value=v) for k, v in t.items()]
        md += [f"Perturbation sizes shared by every run: {len(eps)}, eps {fmt(eps[0], 2)} to {fmt(eps[-1], 2)}.", "",
               "### Levels solved, and the fraction kept over eps", "",
               markdown_table(["target", "architecture", "size", "n", "seeds", "levels solved unperturbed",
                               f"levels solved at eps {fmt(eps[-1], 2)}", "kept"], table), "",
               "### Modular against non-modular: the fraction kept", "",
               markdown_table(["target", "modules of", "non-modular of", "n modular / non-modular",
                               "modular − non-modular", "Welch t (p)", "Mann-Whitney U (p)"], tests), "",
               "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs, " + ", ".join(f"{a} {s}: {len(groups[(a, s)])}" for a, s in keys))
    _write_tables(out_dir, md, rows_csv, out)
    return out


# --- Fig. 4 --------------------------------------------------------------------------------


def timescale_points(record: dict[str, Any], which: str) -> dict[int, float]:
    """N_solved -> ``which`` (a key of :data:`TIMESCALES`: the mean trained or effective
    timescale, or the fraction of neurons beyond the fitted lags) of the module solving it,
    from the record's timescales_at_solves (NaN where none was fitted)."""
    t = record["analyses"]["timescales_at_solves"]
    return {int(n): (math.nan if v is None else float(v)) for n, v in zip(t["n_solved"], t[which])}


def _check_fig4_records(ledger) -> None:
    """A record added before the effective tau left out the neurons at the fit's bound holds
    the mean over all of them, and no fraction: refused, to be added again."""
    for record, path in zip(ledger.records, ledger.files):
        if "tau_unresolved" not in record["analyses"]["timescales_at_solves"]:
            raise RecordError(f"{ledger.folder}: {path.relative_to(ledger.folder)} holds an effective tau averaged "
                              "over every fitted neuron, those at the fit's bound included, and no fraction of them; "
                              "remove it and `growsim ledger add` its run again")


@figure("hamidi_fig4", analyses=RecordAnalyses(("timescales_at_solves",), _fig4_analyses))
def build_fig4(ledger, out_dir: Path) -> Output:
    """Fig. 4: trained (4a) and effective (4b) timescales of the module solving N_solved,
    and the fraction of its neurons whose slow timescale is beyond the fitted lags (4c),
    against N_solved, modular against non-modular."""
    from growsim.plots._common import new_figure, style

    pairs = _pairs(ledger, [(15, 91)])
    which = [(w, label) for w, label, _, _ in FIG4_QUANTITIES]
    _check_fig4_records(ledger)
    out = Output()
    md = _header(ledger, "tau: the mean timescale (time steps) of the module that solves N_solved, at the step it was "
                         "solved (a non-modular network: its one module, every neuron). Effective: over the module's "
                         "resolved neurons, those whose autocorrelation was fitted with a slowest tau below the fit's "
                         "upper bound (1e4 steps). Fraction beyond the fitted lags: of the module's fitted neurons, "
                         "those whose slowest tau sits at that bound, a timescale the fitted lags (0 to 30 by "
                         "default) cannot resolve (a lower limit, not an estimate), counted instead of averaged. Spearman's rho of each "
                         "against N_solved pools every network's solve steps. Welch's t and Mann-Whitney U (two-sided) "
                         "compare modular with non-modular at each N_solved of each pair of sizes.")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        groups = _groups(records)
        keys = _keys(groups)
        points = {w: {id(r): timescale_points(r, w) for r in records} for w, _ in which}

        def at(runs, w, n):
            return [points[w][id(r)].get(n, math.nan) for r in runs if n in points[w][id(r)]]

        def levels(runs, w):
            return sorted({n for r in runs for n in points[w][id(r)]})

        colour = size_colours(groups)
        with style():
            fig = new_figure(10.5, 3.6)
            axes = fig.subplots(1, len(FIG4_QUANTITIES))
            for ax, (w, _, title, ylabel), panel in zip(axes, FIG4_QUANTITIES, "abc"):
                for arch, size in keys:
                    runs = groups[(arch, size)]
                    ns = levels(runs, w)
                    stats = [mean_sem(at(runs, w, n)) for n in ns]
                    mean = np.array([s[0] for s in stats])
                    sem = np.nan_to_num(np.array([s[1] for s in stats]))
                    ax.plot(ns, mean, marker="o", ms=2.5, color=colour(arch, size), lw=1.3, ls="-" if arch == "modular" else "--",
                            label=f"{arch}, {size_label(arch, size)} (n = {len(runs)})")
                    ax.fill_between(ns, mean - sem, mean + sem, color=colour(arch, size), alpha=0.2, lw=0)
                ax.set_title(f"({panel}) {title}")
                ax.set_xlabel("N_solved")
                ax.set_ylabel(ylabel)
            axes[0].legend(loc="best", fontsize=6.5)
            fig.suptitle(f"{protocol}: Hamidi et al. Fig. 4, timescales against N_solved")
        _save(fig, out_dir / "figures" / f"{protocol}_fig4.png", out)

        trend, tests = [], []
        for arch, size in keys:
            runs = groups[(arch, size)]
            cells = []
            for w, _ in which:
                ns = [n for r in runs for n in points[w][id(r)]]
                c = correlation(ns, [points[w][id(r)][n] for r in runs for n in points[w][id(r)]])
                cells.append(f"{fmt(c['spearman_rho'], 2)} ({fmt_p(c['spearman_p'])})")
                row = dict(protocol=protocol, group=arch, size=str(size), n_solved="all", metric=f"{w}~n_solved")
                rows_csv += [{**row, "statistic": k, "value": v} for k, v in c.items()]
                for n in levels(runs, w):
                    rows_csv += _spread_rows(dict(protocol=protocol, group=arch, size=str(size), n_solved=n, metric=w),
                                             at(runs, w, n))
            ns = levels(runs, "tau_trained")
            trend.append([arch, str(size), str(len(runs)), _seeds(runs), f"{ns[0]} to {ns[-1]}" if ns else "–", *cells])
        for a, b in pairs:
            mod, non = groups.get(("modular", a), []), groups.get(("non-modular", b), [])
            if not mod or not non:
                continue
            for n in sorted(set(levels(mod, "tau_trained")) & set(levels(non, "tau_trained"))):
                cells = []
                for w, _ in which:
                    x, y = at(mod, w, n), at(non, w, n)
                    t = two_sample(x, y)
                    cells += [f"{fmt(mean_sem(x)[0], 2)} / {fmt(mean_sem(y)[0], 2)}", *fmt_tests(t)[1:]]
                    rows_csv += [dict(protocol=protocol, group="modular-non-modular", size=f"{a}/{b}", n_solved=n, metric=w,
                                      statistic=k, value=v) for k, v in t.items()]
                tests.append([str(a), str(b), str(n), f"{len(at(mod, 'tau_trained', n))} / {len(at(non, 'tau_trained', n))}",
                              *cells])
        md += ["### Timescales against N_solved", "",
               markdown_table(["architecture", "size", "n", "seeds", "N_solved",
                               *(f"{label}: Spearman ρ (p)" for _, label in which)], trend), "",
               "### Modular against non-modular at each N_solved", "",
               markdown_table(["modules of", "non-modular of", "N_solved", "n modular / non-modular",
                               *(h for _, label in which for h in (f"{label}, modular / non-modular", "Welch t (p)",
                                                                   "Mann-Whitney U (p)"))], tests)
               if tests else "No pair of sizes has runs of both architectures at a common N_solved.", "",
               "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs, " + ", ".join(f"{a} {s}: {len(groups[(a, s)])}" for a, s in keys))
    _write_tables(out_dir, md, rows_csv, out)
    return out


# --- Fig. 5 --------------------------------------------------------------------------------


def level_accuracy(record: dict[str, Any], target: str, eps: list[float]) -> dict[int, np.ndarray]:
    """Level N -> its accuracy at each of ``eps`` (averaged over the draws) under ``target``."""
    rob = record["analyses"]["robustness"]
    acc = np.array(rob["targets"][target]["accuracy"], dtype=np.float64)[_eps_index(record, eps)]  # (eps, levels)
    return {int(n): acc[:, j] for j, n in enumerate(rob["levels"])}


def conservation_by_module(record: dict[str, Any], kind: str) -> dict[int, float]:
    """Module m -> the variance of the normalised ``kind`` ("recurrent", "feedforward")
    weight change from module m - 1 to m (NaN where undefined: W_ff at m = 1)."""
    wc = record["analyses"]["weight_conservation"]
    return {int(m): (math.nan if v is None else float(v)) for m, v in zip(wc["module"], wc[kind])}


def mean_conservation(record: dict[str, Any]) -> tuple[float, float]:
    """A network's mean variance of the W_ff and of the W_rec change over the module pairs
    where both are defined (m >= 2), so the two are compared over the same pairs."""
    ff, rec = conservation_by_module(record, "feedforward"), conservation_by_module(record, "recurrent")
    both = [m for m in ff if math.isfinite(ff[m]) and math.isfinite(rec.get(m, math.nan))]
    if not both:
        return math.nan, math.nan
    return float(np.mean([ff[m] for m in both])), float(np.mean([rec[m] for m in both]))


@figure("hamidi_fig5", analyses=RecordAnalyses(("robustness", "weight_conservation"), _fig5_analyses))
def build_fig5(ledger, out_dir: Path) -> Output:
    """Fig. 5: each level's accuracy under perturbed W_ff (5a) and W_rec (5b), and the
    variance of the weight change between consecutive modules (5c), modular networks."""
    from growsim.plots._common import new_figure, style

    import matplotlib

    out = Output()
    md = _header(ledger, "Accuracy: the fraction of test sequences correct on a level (the module that solves it), "
                         "averaged over the robustness analysis's random directions, then over networks; a network's "
                         "mean accuracy averages its levels. Variance: of the normalised weight change from module "
                         "m - 1 to m (lower: more conserved); a network's mean is over the pairs where W_ff and W_rec "
                         "are both defined (m >= 2). W_ff and W_rec are compared within networks: the paired t test "
                         "and the Wilcoxon signed-rank test (two-sided). Spearman's rho of accuracy against the level "
                         "pools every network's levels.")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        records = [r for r in sorted(records, key=lambda r: r["run"]["seed"]) if architecture(r) == "modular"]
        eps = common_eps(records)
        for size in sorted({module_size(r) for r in records}):
            runs = [r for r in records if module_size(r) == size]
            acc = {t: [level_accuracy(r, t, eps) for r in runs] for t in FIG5_TARGETS}
            wc = {k: [conservation_by_module(r, k) for r in runs] for k in ("feedforward", "recurrent")}
            ramp = matplotlib.colormaps["viridis"]
            with style():
                fig = new_figure(10.5, 3.4)
                axes = fig.subplots(1, 3)
                for ax, target, panel in zip(axes, FIG5_TARGETS, "ab"):
                    ns = sorted({n for a in acc[target] for n in a})
                    for k, e in enumerate(eps):
                        stats = [mean_sem([a[n][k] for a in acc[target] if n in a]) for n in ns]
                        mean = np.array([s[0] for s in stats])
                        sem = np.nan_to_num(np.array([s[1] for s in stats]))
                        color = ramp(k / max(1, len(eps) - 1))
                        ax.plot(ns, mean, color=color, lw=1.1, label=f"eps {e:g}")
                        ax.fill_between(ns, mean - sem, mean + sem, color=color, alpha=0.15, lw=0)
                    ax.set_title(f"({panel}) {_TARGET_TITLES[target]}")
                    ax.set_xlabel("level N (the module solving it)")
                    ax.set_ylim(0.4, 1.02)
                axes[0].set_ylabel("accuracy")
                axes[1].legend(loc="lower left", fontsize=5.5, ncol=2)
                for kind, color, label in (("feedforward", "#c0392b", "W_ff"), ("recurrent", "#2166ac", "W_rec")):
                    ms = sorted({m for d in wc[kind] for m in d if math.isfinite(d[m])})
                    stats = [mean_sem([d.get(m, math.nan) for d in wc[kind]]) for m in ms]
                    mean = np.array([s[0] for s in stats])
                    sem = np.nan_to_num(np.array([s[1] for s in stats]))
                    axes[2].errorbar(ms, mean, yerr=sem, color=color, marker="o", ms=2.5, lw=1.2, capsize=2, label=label)
                axes[2].set_title("(c) weight change between modules")
                axes[2].set_xlabel("module m (against m - 1)")
                axes[2].set_ylabel("variance of the normalised change")
                axes[2].legend(loc="best", fontsize=6.5)
                fig.suptitle(f"{protocol}: Hamidi et al. Fig. 5, modules of {size} neurons (n = {len(runs)})")
            _save(fig, out_dir / "figures" / f"{protocol}_fig5_m{size}.png", out)

            table = []
            for k, e in enumerate(eps):
                means = {t: [float(np.nanmean([v[k] for v in a.values()])) if a else math.nan for a in acc[t]]
                         for t in FIG5_TARGETS}
                p = paired(means["feedforward"], means["recurrent"])
                cells = []
                for t in FIG5_TARGETS:
                    pts = [(n, v[k]) for a in acc[t] for n, v in a.items()]
                    c = correlation([n for n, _ in pts], [v for _, v in pts])
                    cells.append(f"{fmt(c['spearman_rho'], 2)} ({fmt_p(c['spearman_p'])})")
                    row = dict(protocol=protocol, size=size, eps=e, target=t)
                    rows_csv += _spread_rows({**row, "metric": "accuracy_mean"}, means[t])
                    rows_csv += [{**row, "metric": "accuracy~level", "statistic": s, "value": v} for s, v in c.items()]
                rows_csv += [dict(protocol=protocol, size=size, eps=e, target="feedforward-recurrent", metric="accuracy_mean",
                                  statistic=s, value=v) for s, v in p.items()]
                table.append([fmt(e, 2), *(fmt_mean_sem(means[t]) for t in FIG5_TARGETS), *_paired_cells(p), *cells])
            conserved = [mean_conservation(r) for r in runs]
            ff, rec = [c[0] for c in conserved], [c[1] for c in conserved]
            p = paired(ff, rec)
            for kind, values in (("feedforward", ff), ("recurrent", rec)):
                rows_csv += _spread_rows(dict(protocol=protocol, size=size, eps="", target=kind, metric="variance_mean"), values)
            rows_csv += [dict(protocol=protocol, size=size, eps="", target="feedforward-recurrent", metric="variance_mean",
                              statistic=s, value=v) for s, v in p.items()]
            md += [f"### Modules of {size} neurons: {len(runs)} networks (seeds {_seeds(runs)})", "",
                   "Accuracy under perturbation (Fig. 5a, 5b):", "",
                   markdown_table(["eps", "W_ff perturbed: accuracy", "W_rec perturbed: accuracy", "W_ff − W_rec",
                                   "paired t (p)", "Wilcoxon W (p)", "W_ff: Spearman ρ of accuracy with N (p)",
                                   "W_rec: Spearman ρ (p)"], table), "",
                   "Variance of the normalised weight change between consecutive modules (Fig. 5c):", "",
                   markdown_table(["W_ff", "W_rec", "W_ff − W_rec", "paired t (p)", "Wilcoxon W (p)"],
                                  [[fmt_mean_sem(ff), fmt_mean_sem(rec), *_paired_cells(p)]]), ""]
        md += ["### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} modular runs")
    _write_tables(out_dir, md, rows_csv, out)
    return out
