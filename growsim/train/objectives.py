"""Objectives: what a network is trained on, and how it is scored.

An objective joins a task suite, a loss and a kind of network output. The engine asks it
for a batch, for the loss of the network on that batch, and for an evaluation; it never
looks inside batches itself. Two objectives serve every registered task suite:

- `TrialObjective`: any suite of trials (growsim.tasks.TrialSuite: Yang's 20 tasks,
  Mod-Cog's 82, a neurogym environment, a plugin's), read out by a `LeakyRNN` (Wu & Gu;
  Liu et al.), each trial scored at its last step by the suite.
- `ParityObjective`: the N-parity curriculum, read out by the heads of a `ChainRNN`
  (Hamidi et al.). It owns the curriculum state, and an evaluation that solves the
  newest level reports the condition `level_solved`, on which growth events fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from growsim.train import losses
from growsim.streams import substream_seed
from growsim.tasks import CurriculumState, ParityCurriculum, ParitySuite, Piecewise, TrialSuite, advance, parity_accuracy


EVAL_BLOCK = 128  # test trials per block of an evaluation (its memory and its noise draws)


@dataclass
class Evaluation:
    """What one evaluation found: logged scalars and arrays, and the conditions it met."""

    scalars: dict[str, float]
    arrays: dict[str, np.ndarray]
    conditions: set[str] = field(default_factory=set)


def on_device(piece: Piecewise, device: torch.device, trials: slice = slice(None)) -> torch.Tensor:
    """The dense (T, B, ...) tensor of a piecewise-constant array (of some of its trials),
    gathered on `device`."""
    table = torch.from_numpy(piece.table[:, trials]).to(device, non_blocking=True)
    return table.index_select(0, torch.from_numpy(piece.index).to(device, non_blocking=True))


def _seeded(seed: int, device: torch.device) -> tuple[np.random.Generator, torch.Generator]:
    """Fresh streams for an evaluation: every evaluation sees the same test trials and noise."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return np.random.Generator(np.random.PCG64(seed)), gen


class TrialObjective:
    """A suite of trials with the masked squared error or the cross-entropy loss."""

    def __init__(
        self, suite: TrialSuite, *, loss: str, eval_batch_size: int, eval_noise: bool, eval_seed: int, device: torch.device
    ):
        self.suite = suite
        self.loss_kind = loss
        self._loss_fn = losses.masked_mse if loss == "mse" else losses.masked_cross_entropy
        self.eval_batch_size = eval_batch_size
        self.eval_noise = eval_noise
        self.eval_seed = eval_seed
        self.device = device

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(self.suite.tasks)

    @property
    def n_input(self) -> int:
        return self.suite.n_input

    @property
    def n_output(self) -> int:
        return self.suite.n_output

    def sample(self, rng: np.random.Generator, batch_size: int):
        return self.suite.sample(rng, batch_size)

    def tensors(self, batch, trials: slice = slice(None), with_x: bool = True) -> dict[str, torch.Tensor]:
        """A batch's inputs, cost mask and targets as (T, B, ...) tensors, made on the device.

        Only the few distinct rows of each array and the row of every step cross to the
        device; the gather that makes the dense tensor runs there.
        """
        target = ("y", "y") if self.loss_kind == "mse" else ("target", "target_class")
        names = {"c_mask": "c_mask", target[0]: target[1]}  # tensor: the batch's array
        if with_x:
            names["x"] = "x"
        return {key: on_device(batch.pieces[name], self.device, trials) for key, name in names.items()}

    def inputs(self, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """What training feeds the network (x, (T, B, n_input)) and what `loss_of` scores its
        outputs against (the batch's tensors)."""
        t = self.tensors(batch)
        return t["x"], t

    def loss_of(self, out: torch.Tensor, t: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss of outputs `out` (before the readout nonlinearity) on a batch's tensors."""
        target = t["y"] if self.loss_kind == "mse" else t["target"]
        return self._loss_fn(out, target, t["c_mask"])

    @torch.no_grad()
    def evaluate(self, network) -> Evaluation:
        """Per-task test loss and performance on the same test trials at every evaluation.

        The test trials of every task, and the noise, are the same at every evaluation. The
        trials run in blocks of `EVAL_BLOCK`: trial i of every task gets the noise of row
        i mod EVAL_BLOCK of block i // EVAL_BLOCK, drawn once per block (from its own seed)
        for all tasks. So each task is scored exactly as if its own noise had been drawn
        (independent across its trials and steps); only the tasks share one draw, which
        costs one draw where there were twenty, and memory stays bounded by the block.
        """
        rng = np.random.Generator(np.random.PCG64(self.eval_seed))
        batches = [self.suite.sample(rng, self.eval_batch_size, task=task) for task in self.suite.tasks]
        n_trials, longest = self.eval_batch_size, max(b.n_steps for b in batches)
        parts = losses.masked_mse_parts if self.loss_kind == "mse" else losses.masked_cross_entropy_parts
        loss_sum, loss_weight, correct = np.zeros(len(batches)), np.zeros(len(batches)), np.zeros(len(batches))
        steps = [torch.from_numpy(b.pieces["x"].index).to(self.device) for b in batches]  # each step's input row
        for block, first in enumerate(range(0, n_trials, EVAL_BLOCK)):
            trials = slice(first, min(first + EVAL_BLOCK, n_trials))
            noise = None
            if self.eval_noise:
                gen = torch.Generator(device=self.device)
                gen.manual_seed(substream_seed(self.eval_seed, block))
                noise = network.external_noise(longest, trials.stop - first, gen)
            for i, batch in enumerate(batches):
                total, weight, n_correct = self._score(network, batch, trials, steps[i], noise, parts)
                loss_sum[i] += total
                loss_weight[i] += weight
                correct[i] += n_correct
        task_loss_a = loss_sum / np.maximum(loss_weight, 1e-12)
        perf_a = correct / n_trials
        return Evaluation(
            scalars={"loss": float(task_loss_a.mean()), "perf_mean": float(perf_a.mean())},
            arrays={"perf": perf_a, "task_loss": task_loss_a},
        )

    def _score(self, network, batch, trials: slice, steps: torch.Tensor, noise, parts) -> tuple[float, float, float]:
        """Loss (sum, weight) and correct trials of one task's block: its tensors live only
        here, so that one task's are freed before the next task's are made."""
        t = self.tensors(batch, trials, with_x=False)
        rows = torch.from_numpy(batch.pieces["x"].table[:, trials]).to(self.device)
        out = network.readout(network.rates(network.piecewise_drive(rows, steps, noise), consume=True))
        total, weight = parts(out, t["y"] if self.loss_kind == "mse" else t["target"], t["c_mask"])
        y_hat = losses.readout(out[-1], self.loss_kind).cpu().numpy()  # scored at the last step
        return float(total), float(weight), float(self.suite.score(y_hat, batch, trials).sum())

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


class ParityObjective:
    """The N-parity curriculum: one head per level, cross-entropy summed over the heads.

    Evaluation draws `eval_batches` batches of `eval_batch_size` sequences from a fixed
    stream (the same every time for a given set of levels), reports each level's
    accuracy, and advances the curriculum when the criterion holds.
    """

    def __init__(
        self,
        curriculum: ParityCurriculum,
        *,
        eval_batch_size: int,
        eval_seed: int,
        device: torch.device,
        eval_batches: int = 8,
    ):
        c = curriculum
        self.curriculum = CurriculumState(n_start=c.n_start, n_max=c.n_max)
        self.criterion = c.criterion
        self._suite_args = {"length": c.length, "p_one": c.p_one, "p_one_scope": c.p_one_scope}
        self.eval_batch_size = eval_batch_size
        self.eval_batches = eval_batches
        self.eval_seed = eval_seed
        self.device = device
        self._suite = self._make_suite()

    def _make_suite(self) -> ParitySuite:
        return ParitySuite(self.curriculum.levels, **self._suite_args)

    @property
    def task_names(self) -> tuple[str, ...]:
        """Every level the curriculum can reach, as `parity_N` (one column of the accuracy series each)."""
        c = self.curriculum
        return tuple(f"parity_{n}" for n in range(c.n_start, c.n_max + 1))

    n_input = ParitySuite.n_input
    n_output = ParitySuite.n_classes

    @property
    def n_levels(self) -> int:
        return self.curriculum.n_levels

    def sample(self, rng: np.random.Generator, batch_size: int):
        return self._suite.sample(rng, batch_size)

    def inputs(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequences (T, B, 1) and their labels (one row per level), on the device."""
        x = torch.from_numpy(batch.x).to(self.device, non_blocking=True)
        labels = torch.from_numpy(batch.labels).to(self.device, non_blocking=True)
        return x, labels

    @staticmethod
    def _check_heads(logits: torch.Tensor, labels: torch.Tensor) -> None:
        if logits.shape[0] != labels.shape[0]:
            raise RuntimeError(
                f"the network has {logits.shape[0]} readout heads for {labels.shape[0]} curriculum levels "
                "(an add_readout event must fire when a level is solved)"
            )

    def loss_of(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each head (logits (H, B, 2)) on its level's labels, summed over
        heads (Hamidi et al.)."""
        self._check_heads(logits, labels)
        return F.cross_entropy(logits.reshape(-1, 2), labels.reshape(-1), reduction="mean") * logits.shape[0]

    def _logits(self, network, batch, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, labels = self.inputs(batch)
        logits = network.outputs(x, generator=generator)
        self._check_heads(logits, labels)
        return logits, labels

    @torch.no_grad()
    def evaluate(self, network) -> Evaluation:
        # r(0) from a CPU stream on any device, so that the reader's test set on a CPU
        # (growsim.analyses.parity_test_set) draws the very same.
        rng, gen = _seeded(self.eval_seed, torch.device("cpu"))
        correct = np.zeros(self.n_levels)
        loss, seen = 0.0, 0
        for _ in range(self.eval_batches):
            batch = self._suite.sample(rng, self.eval_batch_size)
            logits, labels = self._logits(network, batch, gen)
            loss += float(F.cross_entropy(logits.reshape(-1, 2), labels.reshape(-1), reduction="sum"))
            correct += parity_accuracy(logits.cpu().numpy(), batch.labels) * batch.batch_size
            seen += batch.batch_size
        acc = correct / seen
        before = self.curriculum
        self.curriculum, solved = advance(before, acc, criterion=self.criterion)
        # One column per reachable level, NaN where a level is not yet trained.
        padded = np.full(len(self.task_names), np.nan)
        padded[: acc.size] = acc
        scalars = {
            "loss": loss / seen / max(1, self.n_levels),
            "perf_mean": float(acc.mean()),
            "perf_newest": float(acc[-1]),
            "n_solved": float(self.curriculum.n_solved),
            "n_current": float(before.n_current),
        }
        conditions = set()
        if self.curriculum.n_levels > before.n_levels:
            # A new level to learn, and a head and module to grow for it. Solving the last level
            # (n_max) finishes the curriculum: nothing is added, so nothing grows.
            conditions.add("level_solved")
        if self.curriculum != before:
            self._suite = self._make_suite()
        return Evaluation(scalars=scalars, arrays={"perf": padded}, conditions=conditions)

    def state(self) -> dict[str, Any]:
        return {"n_solved": int(self.curriculum.n_solved)}

    def load_state(self, state: dict[str, Any]) -> None:
        c = self.curriculum
        self.curriculum = CurriculumState(n_start=c.n_start, n_solved=int(state["n_solved"]), n_max=c.n_max)
        self._suite = self._make_suite()


class FunctionalProbe:
    """Liu et al.'s functional and anatomical measures of a LeakyRNN during training.

    Task variance on fixed test trials per task (noise off), functional clusters of the
    active neurons, and how they sit on the grid against shuffles of the active neurons
    (growsim.metrics.functional). Called by the engine at `log.functional.every`.
    """

    def __init__(
        self,
        suite: TrialSuite,
        *,
        coords: np.ndarray,
        distances: np.ndarray,
        trials_per_task: int,
        method: str,
        active_threshold: float,
        connection_threshold: float,
        n_shuffles: int,
        seed: int,
        k_range: tuple[int, int] = (2, 29),
    ):
        self.batches = suite.test_batches(trials_per_task, seed=seed % (2**32))
        self.coords = coords
        self.distances = distances
        self.options = {
            "method": method,
            "active_threshold": active_threshold,
            "connection_threshold": connection_threshold,
            "n_shuffles": n_shuffles,
            "k_range": tuple(k_range),
            "cluster_seed": seed % (2**32),
        }
        self.seed = seed

    def __call__(self, network, step: int | None = None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """The report of `network` at batch `step`. Rates that are NaN or infinite end the
        run as diverged (growsim.train.engine.DivergenceError), as a NaN loss does."""
        from growsim.metrics.functional import network_task_variance, report_from_task_variance
        from growsim.metrics.taskvar import NonFiniteRates

        try:
            tv = network_task_variance(network, self.batches)
        except NonFiniteRates as exc:
            from growsim.train.engine import DivergenceError

            at = f" at batch {step}" if step is not None else ""
            raise DivergenceError(
                f"diverged: the rates became NaN or infinite{at}, in the functional report's trials of task {exc.task}"
            ) from None
        w = network.w_rec.detach().cpu().numpy().astype(np.float64)
        # The same shuffles at every log step: changes over training are the network's.
        rng = np.random.Generator(np.random.PCG64(self.seed))
        scalars, arrays = report_from_task_variance(tv, self.coords, w, self.distances, rng=rng, **self.options)
        return (
            {f"fn_{k}": float(v) for k, v in scalars.items()},
            {f"fn_{k}": np.asarray(v) for k, v in arrays.items() if k != "null_quantile_levels"},
        )
