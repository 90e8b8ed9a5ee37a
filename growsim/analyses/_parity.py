"""Fixed parity test sequences of a chain run, and a network's accuracy on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from growsim.reader import Run, RunFileError

__all__ = ["ParityTestSet", "parity_test_set"]

# The training evaluation's number of batches (ParityObjective's eval_batches).
_EVAL_BATCHES = 8


@dataclass
class ParityTestSet:
    """Fixed parity test sequences for one set of levels, and the seed of the initial rates.

    ``accuracy(net)`` runs every batch through the network (no gradient) and returns the
    fraction correct of each head (n_levels,), exactly as ``ParityObjective.evaluate``
    does: the initial rates come from a torch generator seeded with ``seed`` at each call,
    so the same network always gets the same accuracy.
    """

    levels: list[int]
    batches: list[Any]
    seed: int

    @property
    def n_trials(self) -> int:
        return sum(b.batch_size for b in self.batches)

    def accuracy(self, net) -> np.ndarray:
        import torch

        from growsim.tasks import parity_accuracy

        gen = torch.Generator()
        gen.manual_seed(self.seed)
        correct = np.zeros(len(self.levels))
        with torch.no_grad():
            for batch in self.batches:
                logits, _ = net(torch.from_numpy(batch.x), generator=gen, keep_rates=False)
                if logits.shape[0] != len(self.levels):
                    raise RunFileError(f"the network has {logits.shape[0]} heads for {len(self.levels)} levels")
                correct += parity_accuracy(logits.numpy(), batch.labels) * batch.batch_size
        return correct / self.n_trials


def parity_test_set(run: Run, levels: Sequence[int], *, trials: int | None = None, seed: int | None = None) -> ParityTestSet:
    """Test sequences for ``levels`` as the run's evaluations draw them.

    Batches of ``log.eval_batch_size`` sequences (the last one smaller if ``trials`` is
    not a multiple), lengths and p(1) as in ``task``. Default ``trials``: 8 batches, as
    every evaluation during training; default ``seed``: the run's evaluation stream, so
    that with both defaults these are the very sequences (and initial rates) the logged
    ``series/perf`` was measured on.
    """
    from growsim.streams import stream_seed
    from growsim.tasks import ParitySuite

    task, log = run.spec.get("task", {}), run.spec.get("log", {})
    if task.get("suite") != "parity":
        raise RunFileError(f"{run.path}: parity test sequences need the parity task suite, not {task.get('suite')!r}")
    if not levels:
        raise RunFileError(f"{run.path}: the network has no readout head yet: no level to test")
    batch_size = int(log.get("eval_batch_size", 256))
    trials = _EVAL_BATCHES * batch_size if trials is None else int(trials)
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    seed = stream_seed(int(run.seed or 0), "eval") if seed is None else int(seed)
    suite = ParitySuite(list(levels), length=task.get("length", "paper"), p_one=task.get("p_one"),
                        p_one_scope=task.get("p_one_scope", "batch"))
    rng = np.random.Generator(np.random.PCG64(seed))
    sizes = [batch_size] * (trials // batch_size) + ([trials % batch_size] if trials % batch_size else [])
    return ParityTestSet(list(levels), [suite.sample(rng, b) for b in sizes], seed)
