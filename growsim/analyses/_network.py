"""The chain network of a stored step (``network.kind: chain``, Hamidi et al.), rebuilt from its weights."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from growsim.reader import Run, RunFileError, Snapshot

if TYPE_CHECKING:
    from growsim.network import ChainRNN

__all__ = ["network_at", "parameter_arrays", "require_chain", "structure_of"]

# Parts of a module in the order of ChainRNN.PARTS (the columns of `trainable`).
_PARTS = ("recurrent", "feedforward", "input", "bias", "tau")


def require_chain(run: Run, what: str) -> None:
    """Raise :class:`RunFileError` unless ``run`` is a chain run."""
    if run.network_kind != "chain":
        raise RunFileError(
            f"{run.path}: {what} needs a chain run (network.kind: chain, Hamidi et al.'s parity curriculum); "
            f"this is a {run.network_kind} run"
        )


def _arrays(snap: Snapshot) -> dict[str, np.ndarray]:
    if not snap.is_chain:
        raise RunFileError(f"the weights at step {snap.step} are not a chain's (w_rec is not (K, M, M))")
    out = {"w_rec": snap.w_rec, "w_in": snap.w_in, **snap.extra}
    missing = [k for k in ("w_in", "w_ff", "bias", "tau", "head_w", "head_b", "head_module") if out.get(k) is None]
    if missing:
        raise RunFileError(f"the chain weights at step {snap.step} lack {', '.join(missing)}")
    return out


def structure_of(snap: Snapshot) -> dict[str, Any]:
    """``ChainRNN.structure()`` of the stored network (heads' freezing is not stored: unfrozen)."""
    a = _arrays(snap)
    k, m = a["w_rec"].shape[:2]
    trainable = a.get("trainable")
    if trainable is None:
        trainable = np.ones((k, len(_PARTS)), np.uint8)
    frozen = []
    for i in range(k):
        parts = [p for p in _PARTS if not (p == "feedforward" and i == 0)]
        frozen.append({p: not bool(trainable[i, _PARTS.index(p)]) for p in parts})
    heads = [int(h) for h in a["head_module"]]
    return {"n_input": int(a["w_in"].shape[2]), "n_modules": int(k), "module_size": int(m), "head_module": heads,
            "frozen": frozen, "frozen_heads": [False] * len(heads)}


def _network_kwargs(run: Run) -> dict[str, Any]:
    net = run.spec.get("network", {})
    return {
        "zero_diagonal": bool(net.get("zero_diagonal", True)),
        "h0_scale": float(net.get("h0_scale", 0.1)),
        "negative_slope": float(net.get("negative_slope", 0.01)),
        "tau_init": tuple(float(v) for v in net.get("tau_init", (1.0, 2.0))),
    }


def parameter_arrays(snap: Snapshot) -> dict[str, np.ndarray]:
    """The stored arrays under the network's ``state_dict`` names (``blocks.3.w_ff``, ``heads.0.weight``...)."""
    a = _arrays(snap)
    out: dict[str, np.ndarray] = {}
    for i in range(a["w_rec"].shape[0]):
        out[f"blocks.{i}.w_rec"] = a["w_rec"][i]
        if i >= 1:
            out[f"blocks.{i}.w_ff"] = a["w_ff"][i]
        out[f"blocks.{i}.w_in"] = a["w_in"][i]
        out[f"blocks.{i}.bias"] = a["bias"][i]
        out[f"blocks.{i}.tau"] = a["tau"][i]
    for h in range(a["head_w"].shape[0]):
        out[f"heads.{h}.weight"] = a["head_w"][h]
        out[f"heads.{h}.bias"] = a["head_b"][h]
    return out


def network_at(run: Run, step: int | None = None) -> tuple[ChainRNN, Snapshot]:
    """The chain network at ``step`` (default: the end) and the snapshot it was built from.

    ``ChainRNN.from_structure`` with the spec's network settings, then the stored arrays
    loaded as its state_dict (every key must match), in eval mode; its parameters'
    ``requires_grad`` follow the stored ``trainable`` flags (heads all trainable: their
    flags are not stored). The stored arrays are used rather than /checkpoint, which holds
    one step only: snapshots and /final hold every array of the network (values exactly
    as trained), at every stored step. Imports torch. Raises :class:`RunFileError` for a
    leaky-RNN run.
    """
    import torch

    from growsim.network import ChainRNN

    require_chain(run, "rebuilding the network")
    snap = run.weights(step)
    net = ChainRNN.from_structure(structure_of(snap), **_network_kwargs(run))
    state = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in parameter_arrays(snap).items()}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise RunFileError(f"{run.path}: the weights at step {snap.step} do not fit a chain network ({exc})") from None
    net.eval()
    return net, snap
