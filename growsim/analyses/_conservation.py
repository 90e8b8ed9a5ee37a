"""How much of W_rec and of W_ff a chain keeps from one module to the next (Hamidi et al., Fig. 5c).

Reads the stored weights of one step and applies
:func:`growsim.metrics.conservation.weight_change_variance` to the modules' W_rec and to
their W_ff; no network is run, so torch is not imported.
"""

from __future__ import annotations

import numpy as np

from growsim.analyses._data import AnalysisData, check_applicable
from growsim.analyses._network import parameter_arrays
from growsim.reader import Run

__all__ = ["summary", "weight_conservation"]


def _variances(matrices: list[np.ndarray], first_module: int, what: str, step: int,
               exclude_diagonal: bool) -> np.ndarray:
    """The metric of ``matrices`` (module ``first_module`` first); a constant module named in the error."""
    from growsim.metrics.conservation import ConstantMatrixError, weight_change_variance

    try:
        return weight_change_variance(matrices, exclude_diagonal=exclude_diagonal)
    except ConstantMatrixError as exc:
        module = first_module + exc.index
        raise ValueError(f"{what} of module {module} at step {step} is constant: its normalised weights "
                         "are undefined") from None


def weight_conservation(run: Run, *, step: int | None = None) -> AnalysisData:
    """Variance of the normalised weight change between consecutive modules, for W_rec and W_ff.

    The weights at ``step`` (default: the end, /final) are split per module: module m's
    W_rec (M, M) and its W_ff (M, M), the projection from module m - 1 into m (module 0
    has none). For every m >= 1, the variance compares module m with module m - 1
    (:func:`growsim.metrics.conservation.weight_change_variance`: each matrix z-scored over
    its entries, population variance of the difference). W_rec's diagonal is left out when
    the chain has no autapses (``network.zero_diagonal``, the default): it is held at 0 and
    the network never uses it. W_ff is compared from m = 2 on; at m = 1 it is NaN.

    Raises :class:`growsim.reader.RunFileError` for a run that is not a chain, ValueError
    for a network of one module or a module whose matrix is constant.
    """
    check_applicable(run, "weight_conservation")
    snap = run.weights(step)
    arrays = parameter_arrays(snap)
    k, m = snap.w_rec.shape[:2]
    if k < 2:
        raise ValueError(f"{run.path}: weight_conservation compares consecutive modules; the network at step "
                         f"{snap.step} has one module")
    exclude_diagonal = bool(run.spec.get("network", {}).get("zero_diagonal", True))
    w_rec = [arrays[f"blocks.{i}.w_rec"] for i in range(k)]
    w_ff = [arrays[f"blocks.{i}.w_ff"] for i in range(1, k)]
    recurrent = _variances(w_rec, 0, "W_rec", snap.step, exclude_diagonal)
    feedforward = np.concatenate([[np.nan], _variances(w_ff, 1, "W_ff", snap.step, False)])
    return AnalysisData(
        metric="weight_conservation",
        description="Variance of the normalised weight change between consecutive modules, W_rec and W_ff: each "
        "module's matrix z-scored over its entries, then the population variance over entries of module m's minus "
        "module m-1's (Hamidi et al., Fig. 5c; lower: more conserved).",
        parameters={"step": int(snap.step)},
        datasets={
            "step": (np.array([snap.step], np.int64), "batches", "The step whose weights were compared."),
            "module": (np.arange(1, k, dtype=np.int64), "1", "The later module m of each pair (m-1, m)."),
            "recurrent": (recurrent, "1", "Variance of the normalised change of W_rec from module m-1 to m "
                          "(diagonal left out when the chain has no autapses)."),
            "feedforward": (feedforward, "1", "Variance of the normalised change of W_ff (the projection into "
                            "module m) from module m-1 to m; NaN at m = 1 (module 0 has no W_ff)."),
        },
        attrs={"n_modules": int(k), "module_size": int(m), "diagonal_excluded": exclude_diagonal},
    )


def summary(result: AnalysisData) -> str:
    """One line: the number of pairs and the mean variance of each kind of weight."""
    data = {key: value[0] for key, value in result.datasets.items()}
    rec, ff = data["recurrent"], data["feedforward"][np.isfinite(data["feedforward"])]
    ff_text = f"W_ff {ff.mean():.3g} ({ff.size} pairs)" if ff.size else "W_ff n/a (needs 3 modules)"
    return (f"step {int(data['step'][0])}: {result.attrs['n_modules']} modules of {result.attrs['module_size']}; "
            f"mean variance of the normalised weight change W_rec {rec.mean():.3g} ({rec.size} pairs), {ff_text}")
