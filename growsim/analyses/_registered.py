"""Any registered analysis (growsim.metrics.analyses: the built-in wiring_length, or a
plugin's) computed after the run at every stored step, as it is computed during one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from growsim.analyses._data import AnalysisData, weights_by_step
from growsim.reader import Run, RunFileError, Snapshot

__all__ = ["registered_analysis", "summary"]


def snapshot_arrays(snap: Snapshot) -> dict[str, np.ndarray]:
    """A snapshot's arrays by their names in the file, as the network's `weights()` gives them."""
    named = {k: getattr(snap, k) for k in ("w_rec", "mask", "w_in", "w_out", "b_rec", "b_out")}
    return {**{k: v for k, v in named.items() if v is not None}, **snap.extra}


def registered_analysis(run: Run, name: str, params: Mapping[str, Any] | None = None, *, seed: int = 0) -> AnalysisData:
    """The analysis registered as `name`, at every stored step of `run`.

    Its parameters are validated by its own model (pydantic's ValidationError when they
    are wrong). It sees what it sees during a run (`AnalysisContext`): a step's weight
    arrays, the neurons' distances and positions (None where the run has no geometry),
    and `seed`; so a deterministic analysis gives here, at a snapshot's step, the values
    it logged there. Each result key becomes a dataset over the steps: a number (k,), an
    array (k, ...) padded with NaN where the network was smaller.
    """
    from growsim.metrics.analyses import AnalysisContext, get_analysis

    entry = get_analysis(name)
    args = entry.params.model_validate(dict(params or {})).model_dump()
    try:
        geometry = run.geometry()
        distances, positions = geometry.distances, geometry.positions
    except RunFileError:
        distances = positions = None
    snaps = weights_by_step(run)
    rows: list[dict[str, np.ndarray]] = []
    for snap in snaps:
        context = AnalysisContext(step=snap.step, weights=snapshot_arrays(snap), distances=distances,
                                  positions=positions, seed=seed)
        results = entry.func(context, **args)
        if not isinstance(results, dict):
            raise TypeError(f"analysis {name!r} must return a dict of floats and arrays, not {type(results).__name__}")
        rows.append({str(k): np.asarray(v) for k, v in results.items()})
    keys = list(dict.fromkeys(k for row in rows for k in row))
    datasets: dict[str, tuple[np.ndarray, str, str]] = {
        "step": (np.array([s.step for s in snaps], np.int64), "batches", "Batches completed (the snapshot's step).")
    }
    for key in keys:
        if key == "step":
            raise ValueError(f"analysis {name!r} returns a key 'step', which names the steps of its results")
        datasets[key] = (_stack([row.get(key) for row in rows]), "", f"{key} of the analysis {name} at each step.")
    doc = (entry.func.__doc__ or "").strip().splitlines()
    return AnalysisData(
        metric=name,
        description=(doc[0] if doc else f"The analysis {name}") + " (at every stored step).",
        parameters={**args, "seed": seed},
        datasets=datasets,
        attrs={"origin": entry.origin},
    )


def _stack(values: list[np.ndarray | None]) -> np.ndarray:
    """Results of one key over the steps as one array: (k,) of numbers, (k, ...) of arrays
    padded with NaN to the largest shape (a missing result is all NaN)."""
    present = [v for v in values if v is not None]
    ndim = max(v.ndim for v in present)
    shape = tuple(max(v.shape[d] for v in present if v.ndim == ndim) for d in range(ndim))
    out = np.full((len(values), *shape), np.nan)
    for i, v in enumerate(values):
        if v is None:
            continue
        if v.ndim != ndim:
            raise ValueError(f"a result changes its number of dimensions between steps ({v.ndim} and {ndim})")
        out[(i, *(slice(0, n) for n in v.shape))] = v
    return out


def summary(result: AnalysisData) -> str:
    """One line: the steps, and the numbers at the last step."""
    steps = result.datasets["step"][0]
    numbers = [f"{k} {v[0][-1]:.4g}" for k, v in result.datasets.items() if k != "step" and v[0].ndim == 1]
    last = f"; at step {steps[-1]}: " + ", ".join(numbers) if numbers else ""
    return f"{result.metric} at {len(steps)} step{'s' * (len(steps) != 1)} ({steps[0]} to {steps[-1]}){last}"
