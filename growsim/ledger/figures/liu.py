"""Liu, Khona, Fiete & Tegmark's figures from ledger records.

- ``liu_anatomy``: BIMT against plain L1 and no regularisation, over seeds. Fig. 2b (Fig. 5
  on a 1-D grid): each run's isolated fraction and cluster spread ("average size of
  functional clusters", "variance of indices within clusters") against its shuffles,
  drawn as the shuffles' histogram with the trained value; per condition, how many seeds
  fall below the 5th percentile and Fisher's combined p. Fig. 1f: connection strength
  against distance, mean and standard error over seeds. Fig. 1c: the functional clusters
  on the grid (the first seed of each condition). Fig. 1d-e: performance, active neurons,
  active connections and wiring length, with Welch's t and Mann-Whitney U against BIMT
  (the first group).
- ``liu_pareto``: Fig. 1g-h: error (1 - mean performance) against active neurons and
  against wiring length for every lambda of BIMT and L1 and the unregularised network,
  mean over seeds, and each method's non-dominated front; beside each point, where its
  runs' isolated fraction sits among their shuffles (anatomy against lambda).

``options.split_by`` (a list of dotted spec fields) splits ``liu_anatomy``'s conditions by
those fields' values: ``BIMT, train.batches=20000`` beside ``BIMT, train.batches=10000``.

A run's condition comes from its spec: ``BIMT`` when it swaps neurons or has a ``wiring``
term with A > 0 and a strength > 0, else ``L1`` when it has an ``l1`` term with a strength
> 0, else ``none``. Everything is read from the final functional report
(``log.functional``) a record keeps: its scalars in ``final``, its arrays in
``final.arrays``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from growsim.ledger._stats import fisher_combined, fmt, fmt_mean_sem, fmt_p, fmt_tests, mean_sem, permutation_p, two_sample
from growsim.ledger.figures import Output, figure, markdown_table
from growsim.ledger.figures.wu_gu import _final, _header, _protocols, _runs_table, _save, _write_tables

CONDITIONS = ("BIMT", "L1", "none")
COLORS = {"BIMT": "#c0392b", "L1": "#2166ac", "none": "#555555"}
# The anatomical statistics of Fig. 2b: (name in the report, what the paper calls it).
STATISTICS = (("isolated_fraction", "fraction of isolated neurons"), ("cluster_spread", "variance of indices within clusters"))
# Fig. 1d-e: (final metric, label).
SUMMARY = (
    ("perf_mean", "mean performance"),
    ("fn_n_active_neurons", "active neurons"),
    ("fn_n_active_connections", "active connections"),
    ("fn_wiring_length", "wiring length"),
)
BELOW = 5.0  # percent: "out of distribution" is below the 5th percentile of the shuffles


def _strength(term: dict[str, Any]) -> float:
    return float(term.get("strength", 0.0) or 0.0)


def condition(record: dict[str, Any]) -> str:
    """``BIMT``, ``L1`` or ``none``, from the run's regularisers and growth events."""
    spec = record["spec"]
    terms = spec.get("regularisers") or []
    swaps = any(e.get("op") == "swap_neurons" for e in (spec.get("growth") or {}).get("events", []))
    wiring = any(t.get("kind") == "wiring" and float(t.get("A", 1.0)) > 0 and _strength(t) > 0 for t in terms)
    if swaps or wiring:
        return "BIMT"
    if any(t.get("kind") == "l1" and _strength(t) > 0 for t in terms):
        return "L1"
    return "none"


def strength(record: dict[str, Any]) -> float:
    """lambda: the largest strength among the run's l1 and wiring terms (0 without them)."""
    terms = [t for t in record["spec"].get("regularisers") or [] if t.get("kind") in ("l1", "wiring")]
    return max((_strength(t) for t in terms), default=0.0)


def n_shuffles(record: dict[str, Any]) -> int:
    return int(((record["spec"].get("log") or {}).get("functional") or {}).get("n_shuffles", 0))


def _array(record: dict[str, Any], name: str) -> np.ndarray | None:
    value = (record["final"].get("arrays") or {}).get(name)
    if value is None:
        return None
    return np.array([np.nan if v is None else v for v in np.ravel(np.array(value, dtype=object))], dtype=np.float64)


def label(record: dict[str, Any], split_by: list[str] = ()) -> str:
    """The run's condition, followed by the value of each spec field of ``split_by`` (the
    ledger's ``options.split_by``) that it has: ``BIMT, train.batches=20000``."""
    from growsim.ledger._ledger import _MISSING, spec_value

    parts = []
    for dotted in split_by:
        value = spec_value(record["spec"], dotted)
        if value is not _MISSING:
            parts.append(f"{dotted}={json.dumps(value, separators=(',', ':'))}")
    return ", ".join([condition(record), *parts])


def _groups(records: list[dict[str, Any]], split_by: list[str] = ()) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list] = defaultdict(list)
    for r in sorted(records, key=lambda r: r["run"]["seed"]):
        groups[label(r, split_by)].append(r)
    return groups


def _present(groups) -> list[str]:
    """The groups' labels, BIMT's first, then L1's, then none's."""
    return sorted((g for g in groups if groups[g]), key=lambda g: (CONDITIONS.index(g.split(",")[0]), g))


def _color(group: str, groups: list[str]) -> Any:
    if group in COLORS and all(g in COLORS for g in groups):
        return COLORS[group]
    return __import__("matplotlib").colormaps["tab10"](groups.index(group) % 10)


def anatomy_test(records: list[dict[str, Any]], stat: str) -> dict[str, float]:
    """How the runs' ``stat`` sits against their shuffles, over seeds: ``n`` runs with the
    statistic defined, ``n_below`` of them below the 5th percentile, the median percentile,
    and Fisher's combined p of the one-sided permutation p values (small = smaller than
    chance in the runs taken together)."""
    percentiles, ps = [], []
    for r in records:
        pct = _final(r, f"fn_{stat}_percentile")
        if math.isfinite(pct) and n_shuffles(r) > 0:
            percentiles.append(pct)
            ps.append(permutation_p(pct, n_shuffles(r)))
    return {
        "n": len(percentiles),
        "n_below": sum(p < BELOW for p in percentiles),
        "median_percentile": float(np.median(percentiles)) if percentiles else math.nan,
        "fisher_p": fisher_combined(ps),
    }


def _null_histograms(groups, conditions, protocol, path, out) -> None:
    """Fig. 2b: one row per statistic, one panel per condition; each seed's shuffles (their
    percentiles 1 to 99, so each value stands for 1% of them) as a
    histogram, its trained value as a line of the same colour."""
    from growsim.plots._common import new_figure, style

    cmap = __import__("matplotlib").colormaps["tab10"]
    with style():
        fig = new_figure(max(7.0, 3.2 * len(conditions)), 5.4)
        axes = fig.subplots(len(STATISTICS), len(conditions), squeeze=False)
        for row, (stat, label) in enumerate(STATISTICS):
            for col, cond in enumerate(conditions):
                ax = axes[row, col]
                records = groups[cond]
                for i, r in enumerate(records):
                    q = _array(r, f"fn_{stat}_null_percentiles")
                    observed = _final(r, f"fn_{stat}")
                    if q is None or not np.all(np.isfinite(q)) or not math.isfinite(observed):
                        continue
                    color = cmap(i % 10)
                    # The 1st to 99th percentiles, each standing for 1% of the shuffles (the minimum and
                    # the maximum are single shuffles, not 1% each).
                    ax.hist(q[1:100], bins=25, density=True, histtype="stepfilled", alpha=0.25, color=color)
                    ax.axvline(observed, color=color, lw=1.6, label=f"seed {r['run']['seed']}: "
                               f"{fmt(_final(r, f'fn_{stat}_percentile'), 1)}%")
                t = anatomy_test(records, stat)
                ax.set_title(f"{cond}: {t['n_below']} of {t['n']} below {BELOW:g}%, Fisher p {fmt_p(t['fisher_p'])}", fontsize=7.5)
                ax.set_xlabel(label)
                ax.legend(loc="best", fontsize=6)
            axes[row, 0].set_ylabel("shuffles (density)")
        fig.suptitle(f"{protocol}: Liu et al. Fig. 2b, trained network (lines) against shuffles of its active neurons")
    _save(fig, path, out)


def _strength_by_distance(groups, conditions, protocol, path, out) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """Fig. 1f: mean |w| and the active fraction against distance, mean and s.e. over seeds;
    the table's rows and the csv's."""
    from growsim.plots._common import new_figure, style

    table: list[list[str]] = []
    csv_rows: list[dict[str, Any]] = []
    with style():
        fig = new_figure(7.0, 3.0)
        axes = fig.subplots(1, 2)
        for cond in conditions:
            rows = [(_array(r, "fn_w_distance"), _array(r, "fn_w_distance_mean_abs"), _array(r, "fn_w_distance_active_fraction"),
                     _array(r, "fn_w_distance_pairs")) for r in groups[cond]]
            rows = [x for x in rows if x[0] is not None and x[1] is not None]
            if not rows or len({x[0].size for x in rows}) != 1:
                continue
            d = rows[0][0]
            for ax, k in zip(axes, (1, 2)):
                values = np.stack([x[k] for x in rows])
                m = np.nanmean(values, axis=0)
                s = np.nanstd(values, axis=0, ddof=1) / math.sqrt(len(rows)) if len(rows) > 1 else np.zeros_like(m)
                ax.plot(d, m, "o-", ms=2, lw=1.2, color=_color(cond, conditions), label=f"{cond} (n = {len(rows)})")
                ax.fill_between(d, m - s, m + s, color=_color(cond, conditions), alpha=0.25, lw=0)
            mean_abs = np.nanmean(np.stack([x[1] for x in rows]), axis=0)
            where, ratio = second_peak(d, mean_abs, rows[0][3])
            csv_rows += [dict(protocol=protocol, condition=cond, metric="fn_w_distance_mean_abs", statistic=k, value=v)
                         for k, v in (("n", len(rows)), ("nearest", float(mean_abs[0])), ("median", float(np.nanmedian(mean_abs))),
                                      ("second_peak_distance", where), ("second_peak_ratio", ratio))]
            table.append([cond, str(len(rows)), fmt(float(mean_abs[0]), 4), fmt(float(np.nanmedian(mean_abs)), 4),
                          "none" if math.isnan(where) else f"{fmt(where, 2)} ({fmt(ratio, 2)}x the minimum before it)"])
        axes[0].set_yscale("log")
        axes[0].set_ylabel("mean |w|")
        axes[1].set_ylabel("fraction of connections active")
        for ax in axes:
            ax.set_xlabel("distance between positions")
        axes[0].legend(loc="best")
        fig.suptitle(f"{protocol}: Liu et al. Fig. 1f, connection strength against distance")
    _save(fig, path, out)
    return table, csv_rows


def second_peak(d: np.ndarray, y: np.ndarray, pairs: np.ndarray | None = None, min_share: float = 0.01) -> tuple[float, float]:
    """Fig. 1f's "second peak": past the first local minimum of mean |w| against distance,
    the distance of the largest value and its ratio to that minimum; (NaN, 1.0) when no bin
    past the minimum is more than 10% above it (mean |w| only falls, or is flat within noise).
    With ``pairs`` (each bin's number of pairs), bins holding less than ``min_share`` of all
    pairs are left out: a grid's farthest distances join a handful of pairs, whose mean is noise."""
    ok = np.isfinite(y)
    if pairs is not None:
        ok &= np.asarray(pairs, dtype=np.float64) >= min_share * float(np.nansum(pairs))
    d, y = d[ok], y[ok]
    i = 0
    while i + 1 < len(y) and y[i + 1] < y[i]:
        i += 1
    if i + 1 >= len(y) or y[i] <= 0:
        return math.nan, 1.0
    j = i + int(np.argmax(y[i:]))
    return (float(d[j]), float(y[j] / y[i])) if y[j] > 1.1 * y[i] else (math.nan, 1.0)


def _cluster_maps(groups, conditions, protocol, path, out) -> None:
    """Fig. 1c: the functional cluster of each position (white: inactive), first seed of each condition."""
    from growsim.plots._common import new_figure, style

    with style():
        fig = new_figure(max(6.0, 3.0 * len(conditions)), 3.2)
        axes = fig.subplots(1, len(conditions), squeeze=False)[0]
        for ax, cond in zip(axes, conditions):
            r = groups[cond][0]
            labels = _array(r, "fn_labels")
            shape = tuple((r["spec"].get("network") or {}).get("geometry", {}).get("shape") or ())
            if labels is None or not shape or int(np.prod(shape)) != labels.size:
                ax.set_axis_off()
                continue
            grid = labels.reshape(shape if len(shape) == 2 else (1, -1))
            ax.imshow(np.ma.masked_less(grid, 0), cmap="tab20", interpolation="nearest", aspect="auto" if len(shape) == 1 else "equal")
            ax.set_xticks([])
            ax.set_yticks([])
            iso = _final(r, "fn_isolated_fraction_percentile")
            ax.set_title(f"{cond}, seed {r['run']['seed']}: {int(np.nanmax(grid)) + 1} clusters,\n"
                         f"isolated at {fmt(iso, 1)}% of shuffles", fontsize=7.5)
        fig.suptitle(f"{protocol}: Liu et al. Fig. 1c, functional clusters on the grid")
    _save(fig, path, out)


@figure("liu_anatomy")
def build_anatomy(ledger, out_dir: Path) -> Output:
    out = Output()
    md = _header(ledger, "Per run: the statistic's percentile among its shuffles (ties count half) and its one-sided "
                         "permutation p = (shuffles at or below it + 1) / (shuffles + 1), ties counted half. Per condition: "
                         f"runs below the {BELOW:g}th percentile and Fisher's combined p (chi-squared with 2k degrees of "
                         "freedom). Welch's t and Mann-Whitney U (two-sided) compare each condition with BIMT.")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        groups = _groups(records, list(ledger.config.options.get("split_by", [])))
        conditions = _present(groups)
        figs = out_dir / "figures"
        _null_histograms(groups, conditions, protocol, figs / f"{protocol}_fig2b.png", out)
        profile, profile_csv = _strength_by_distance(groups, conditions, protocol, figs / f"{protocol}_fig1f.png", out)
        _cluster_maps(groups, conditions, protocol, figs / f"{protocol}_fig1c.png", out)

        rows_csv += profile_csv
        combined, per_run = [], []
        for cond in conditions:
            for stat, label in STATISTICS:
                t = anatomy_test(groups[cond], stat)
                combined.append([cond, label, str(t["n"]), f"{t['n_below']} of {t['n']}", fmt(t["median_percentile"], 1),
                                 fmt_p(t["fisher_p"])])
                rows_csv += [dict(protocol=protocol, condition=cond, metric=f"fn_{stat}", statistic=k, value=v) for k, v in t.items()]
            for r in groups[cond]:
                per_run.append([cond, str(r["run"]["seed"]), fmt(_final(r, "perf_mean")), fmt(_final(r, "fn_n_active_neurons"), 0),
                                fmt(_final(r, "fn_n_clusters"), 0)]
                               + [f"{fmt(_final(r, f'fn_{s}'))} ({fmt(_final(r, f'fn_{s}_percentile'), 1)}%)" for s, _ in STATISTICS])
        summary = []
        for metric, label in SUMMARY:
            for cond in conditions:
                values = [_final(r, metric) for r in groups[cond]]
                m, s, n = mean_sem(values)
                rows_csv += [dict(protocol=protocol, condition=cond, metric=metric, statistic=k, value=v)
                             for k, v in (("n", n), ("mean", m), ("sem", s))]
                cells = [label, cond, str(n), fmt_mean_sem(values, 4 if metric == "perf_mean" else 3)]
                if cond != conditions[0] and conditions[0].startswith("BIMT"):
                    t = two_sample([_final(r, metric) for r in groups[conditions[0]]], values)
                    cells += fmt_tests(t)
                    rows_csv += [dict(protocol=protocol, condition=f"{conditions[0]} - {cond}", metric=metric, statistic=k, value=v)
                                 for k, v in t.items()]
                else:
                    cells += ["", "", ""]
                summary.append(cells)
        md += [f"### Fig. 2b: anatomy against {BELOW:g}% of the shuffles, over seeds", "",
               markdown_table(["condition", "statistic", "runs", f"below {BELOW:g}th percentile", "median percentile",
                               "Fisher's combined p"], combined), "",
               "### Each run (final report): value (percentile among its shuffles)", "",
               markdown_table(["condition", "seed", "performance", "active neurons", "clusters",
                               *(label for _, label in STATISTICS)], per_run), "",
               "### Fig. 1d-e: performance, sparsity and locality", "",
               markdown_table(["metric", "condition", "n", "mean ± s.e.", f"{conditions[0]} − it", "Welch t (p)", "Mann-Whitney U (p)"], summary),
               "", "### Fig. 1f: connection strength against distance (mean over seeds)", "",
               markdown_table(["condition", "runs", "mean abs(w) at the nearest distance", "median over distances",
                               "second peak: distance (height; bins of at least 1% of the pairs)"], profile), "",
               "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs, " + ", ".join(f"{c} {len(groups[c])}" for c in conditions))
    _write_tables(out_dir, md, rows_csv, out)
    return out


# --------------------------------------------------------------------------- Pareto


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated points when both coordinates are to be small: no other
    point is at most as large in both and smaller in one. Sorted by the first coordinate."""
    keep = []
    for i, (x, y) in enumerate(points):
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        dominated = any(
            (a <= x and b <= y and (a < x or b < y)) for j, (a, b) in enumerate(points) if j != i and math.isfinite(a) and math.isfinite(b)
        )
        if not dominated:
            keep.append(i)
    return sorted(keep, key=lambda i: points[i])


SPARSITY = (("fn_n_active_neurons", "active neurons", "g"), ("fn_wiring_length", "wiring length", "h"))


@figure("liu_pareto")
def build_pareto(ledger, out_dir: Path) -> Output:
    from growsim.plots._common import new_figure, style

    out = Output()
    md = _header(ledger, "Error = 1 - final mean performance. A point is one (method, lambda), its mean over seeds; a "
                         "method's front is its non-dominated points (no other point of the method has both less error "
                         "and less of the sparsity measure). The unregularised network (lambda = 0) is its own method. "
                         "Welch's t and Mann-Whitney U (two-sided) compare BIMT with L1 at each lambda.")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        points: dict[tuple[str, float], list] = defaultdict(list)
        for r in sorted(records, key=lambda r: r["run"]["seed"]):
            points[(condition(r), strength(r))].append(r)
        methods = [c for c in CONDITIONS if any(m == c for m, _ in points)]
        means: dict[tuple[str, float], dict[str, tuple[float, float, int]]] = {}
        for key, runs in points.items():
            means[key] = {"error": mean_sem([1 - _final(r, "perf_mean") for r in runs])}
            for metric, _, _ in SPARSITY:
                means[key][metric] = mean_sem([_final(r, metric) for r in runs])
        fronts: dict[tuple[str, str], list[tuple[str, float]]] = {}
        with style():
            fig = new_figure(7.2, 3.3)
            axes = fig.subplots(1, 2)
            for ax, (metric, label, panel) in zip(axes, SPARSITY):
                for method in methods:
                    keys = sorted(k for k in points if k[0] == method)
                    xy = [(means[k][metric][0], means[k]["error"][0]) for k in keys]
                    front = [keys[i] for i in pareto_front(xy)]
                    fronts[(method, metric)] = front
                    for k in keys:
                        runs = points[k]
                        ax.scatter([_final(r, metric) for r in runs], [1 - _final(r, "perf_mean") for r in runs],
                                   s=6, color=COLORS[method], alpha=0.3, lw=0)
                        (mx, sx, _), (my, sy, _) = means[k][metric], means[k]["error"]
                        ax.errorbar(mx, my, xerr=np.nan_to_num(sx), yerr=np.nan_to_num(sy), fmt="o", ms=3.5,
                                    color=COLORS[method], lw=0.8)
                        ax.annotate(f"{k[1]:g}", (mx, my), fontsize=5.5, xytext=(3, 2), textcoords="offset points")
                    fx = [means[k][metric][0] for k in front]
                    fy = [means[k]["error"][0] for k in front]
                    ax.plot(fx, fy, "-", color=COLORS[method], lw=1.2, label=f"{method} (n = {min(len(points[k]) for k in keys)}"
                            f"{'' if len({len(points[k]) for k in keys}) == 1 else '+'} per point)")
                ax.set_xlabel(label)
                ax.set_ylabel("error (1 - mean performance)")
                ax.set_title(f"Fig. 1{panel}")
                ax.legend(loc="best", fontsize=6.5)
            fig.suptitle(f"{protocol}: Liu et al. Fig. 1g-h, sparsity against error (labels: lambda)")
        _save(fig, out_dir / "figures" / f"{protocol}_fig1gh.png", out)

        table = []
        for key in sorted(points, key=lambda k: (CONDITIONS.index(k[0]), k[1])):
            m = means[key]
            on = [panel for metric, _, panel in SPARSITY if key in fronts.get((key[0], metric), [])]
            iso = anatomy_test(points[key], "isolated_fraction")
            table.append([key[0], f"{key[1]:g}", str(m["error"][2]), *(f"{fmt(m[k][0], 4 if k == 'error' else 1)} ± "
                                                                        f"{fmt(m[k][1], 4 if k == 'error' else 1)}"
                                                                        for k in ("error", *(s for s, _, _ in SPARSITY))),
                          ", ".join(on) or "–", f"{fmt(iso['median_percentile'], 1)} ({iso['n_below']} of {iso['n']})"])
            rows_csv += [dict(protocol=protocol, method=key[0], strength=key[1], metric="fn_isolated_fraction", statistic=k, value=v)
                         for k, v in iso.items()]
            for name, (mu, se, n) in m.items():
                rows_csv += [dict(protocol=protocol, method=key[0], strength=key[1], metric=name, statistic=st, value=v)
                             for st, v in (("n", n), ("mean", mu), ("sem", se))]
        compare = []
        for lam in sorted({k[1] for k in points if k[0] == "BIMT"} & {k[1] for k in points if k[0] == "L1"}):
            b, l1 = points[("BIMT", lam)], points[("L1", lam)]
            for metric, label in (("error", "error"), *((s, lab) for s, lab, _ in SPARSITY)):
                def value(r, metric=metric):
                    return 1 - _final(r, "perf_mean") if metric == "error" else _final(r, metric)
                t = two_sample([value(r) for r in b], [value(r) for r in l1])
                compare.append([f"{lam:g}", label, f"{len(b)} / {len(l1)}", *fmt_tests(t, 4)])
                rows_csv += [dict(protocol=protocol, method="BIMT-L1", strength=lam, metric=metric, statistic=k, value=v)
                             for k, v in t.items()]
        dominance = []
        for metric, label, panel in SPARSITY:
            for a, b in (("BIMT", "L1"), ("L1", "BIMT"), ("BIMT", "none"), ("L1", "none")):
                if (a, metric) not in fronts or not any(k[0] == b for k in points):
                    continue
                theirs = [k for k in points if k[0] == b]
                beaten = [k for k in theirs if any(
                    means[f][metric][0] <= means[k][metric][0] and means[f]["error"][0] <= means[k]["error"][0]
                    and (means[f][metric][0] < means[k][metric][0] or means[f]["error"][0] < means[k]["error"][0])
                    for f in fronts[(a, metric)])]
                dominance.append([f"1{panel} ({label})", f"{a} over {b}", f"{len(beaten)} of {len(theirs)}"])
                rows_csv += [dict(protocol=protocol, method=f"{a} over {b}", strength="", metric=metric, statistic=k, value=v)
                             for k, v in (("dominated", len(beaten)), ("points", len(theirs)))]
        md += [markdown_table(["method", "lambda", "runs", "error", *(lab for _, lab, _ in SPARSITY), "on the front of",
                               f"isolated fraction: median percentile (runs below {BELOW:g}%)"], table), "",
               "### Dominance: points of one method that a point on the other's front beats in both error and sparsity", "",
               markdown_table(["panel", "fronts", "points dominated"], dominance), "",
               "### BIMT against L1 at the same lambda (BIMT − L1)", "",
               markdown_table(["lambda", "metric", "n BIMT / L1", "difference", "Welch t (p)", "Mann-Whitney U (p)"], compare), "",
               "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs at {len(points)} points")
    _write_tables(out_dir, md, rows_csv, out)
    return out
