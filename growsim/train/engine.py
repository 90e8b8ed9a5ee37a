"""The engine: the one training loop, shared by every kind of growing network.

At each step boundary (`step` batches done): growth events due at `step` fire, then
metrics due at `step` are taken and logged (and events whose condition the evaluation
met fire), then the next batch trains:

    batch = objective.sample() -> network.forward -> loss (+ regularisers) -> backward
    -> gradient masks (in the network's hooks) -> clipping -> optimizer.step

What is trained on, and how it is scored, is the objective's business
(growsim.train.objectives). The network is anything that answers growsim.network.Network (a
LeakyRNN, a ChainRNN); the engine never tells kinds apart. Growth events are operations
from the growth registry, called with a GrowthContext and their own parameters: the
engine names none of them. The engine emits plain numbers and arrays to its loggers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from growsim.growth import GrowthContext, ScheduledOp, on_condition, scheduled_at
from growsim.growth.ops import add_connections
from growsim.log.base import Loggers, RunInfo
from growsim.metrics import communities
from growsim.train.step import train_step
from growsim.wiring import RuleInfo, WiringRequest, candidate_mask, choose_synapses


class Evaluated(Protocol):
    """What an objective's evaluation gives the engine (growsim.train.objectives.Evaluation is one):
    numbers and arrays to log, and the conditions it met (level_solved)."""

    scalars: Mapping[str, float]
    arrays: Mapping[str, np.ndarray]
    conditions: set[str]


class RunInterrupted(BaseException):
    """Stops a run: the file is closed as interrupted (after a checkpoint, when there was time)."""


class DivergenceError(RuntimeError):
    """The loss, a weight or a gradient became NaN or infinite."""


class _LossBuffer:
    """The per-batch training losses since the last flush, kept on their device (no host sync
    per batch) in one tensor that is reused.

    Kept as a list of 0-d tensors, these small long-lived allocations sat among each batch's
    large temporary ones and fragmented the C heap: a loop of 1,000 training steps that kept
    them grew from 360 to 522 MB (benchmarks/RESULTS.md).
    """

    def __init__(self, capacity: int = 512):
        self._buffer: torch.Tensor | None = None
        self._capacity = capacity
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, loss: torch.Tensor) -> None:
        if self._buffer is None:  # the first loss gives the device and dtype
            self._buffer = torch.empty(self._capacity, dtype=loss.dtype, device=loss.device)
        elif self._n == self._buffer.numel():  # more batches between flushes than it holds: double it
            bigger = self._buffer.new_empty(2 * self._n)
            bigger[: self._n].copy_(self._buffer)
            self._buffer = bigger
        self._buffer[self._n].copy_(loss.detach())
        self._n += 1

    def values(self, last: int | None = None) -> torch.Tensor:
        """The losses (the `last` ones when given), oldest first: a view of the buffer."""
        if self._buffer is None:
            return torch.zeros(0)
        first = 0 if last is None else max(0, self._n - last)
        return self._buffer[first : self._n]

    def clear(self) -> None:
        self._n = 0


@dataclass
class EngineConfig:
    """Flat settings of the loop (from the spec's train, growth and log sections)."""

    batches: int
    batch_size: int
    grad_clip_mode: str  # "value" | "norm" | "none"
    grad_clip_max: float
    log_every: int
    snapshot_every: int | None  # None: no snapshots
    eval_batch_size: int
    eval_noise: bool
    modularity: str  # "spectral" | "louvain" | "none"
    initial_connections: int
    new_synapse_init: str  # "initial" | "constant"
    new_synapse_value: float
    allow_autapses: bool
    eval_seed: int
    checkpoint_every: int | None = None  # None: no checkpoints
    progress_every: int = 25  # batches between progress updates (and divergence checks)
    # (pairs (k, 2) post, pre; starting weights (k,) or None: the initial draw) from a
    # connectivity file; None: the wiring rule places `initial_connections` synapses.
    initial_synapses: tuple[np.ndarray, np.ndarray | None] | None = None
    lr_at: Callable[[int], float] | None = None  # the learning rate of the batch at a step; None: the optimizer's own


@dataclass
class Wiring:
    rule: RuleInfo
    params: Any
    distances: np.ndarray  # (N, N)
    rng: np.random.Generator


class Engine:
    def __init__(
        self,
        *,
        network: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        objective,
        wiring: Wiring | None,
        events: Sequence[ScheduledOp],
        config: EngineConfig,
        task_rng: np.random.Generator,
        noise_generator: torch.Generator,
        loggers: Loggers,
        info: RunInfo,
        device: torch.device,
        growth_rng: np.random.Generator | None = None,
        regularisers=None,
        probes: Sequence[tuple[int, Callable]] = (),
    ):
        self.network = network
        self.optimizer = optimizer
        self.objective = objective
        self.growth_rng = growth_rng if growth_rng is not None else np.random.default_rng(0)
        self.regularisers = regularisers  # callable(named params, step, batches) -> (total, {name: value})
        # (every, probe(network, step) -> (scalars, arrays)): metrics taken every `every` batches
        # at log steps (functional anatomy, in-run analyses)
        self.probes = list(probes)
        self.wiring = wiring
        self.events = list(events)
        self.cfg = config
        self.task_rng = task_rng
        self.noise_generator = noise_generator
        self.loggers = loggers
        self.info = info
        self.device = device
        self.step = 0
        self._pending_losses = _LossBuffer()
        self._closed = False  # close() has run
        self._pending_first = 0
        self._losses_since_log = np.zeros(0)  # flushed, but part of the next log step's mean
        self._refresh_params()
        self._stop_reason: str | None = None
        self._reg_sums: dict[str, torch.Tensor] = {}
        self._reg_counts: dict[str, int] = {}
        self._probe_shapes: dict[int, tuple[list[str], dict[str, Any]]] = {}
        self._resumed_step: int | None = None  # the checkpoint's step, once load_state ran
        self._checkpointed = False  # whether the file holds a checkpoint of this run (a resumed one does)

    def _refresh_params(self) -> None:
        """The parameters by name (for the regularisers) and those that train (for clipping):
        fixed between growth events, so not rebuilt per batch."""
        self._named = dict(self.network.named_parameters())
        self._params = [p for p in self._named.values() if p.requires_grad]

    def request_stop(self, reason: str) -> None:
        """Stop at the next step boundary, after a checkpoint (safe to call from a signal handler)."""
        self._stop_reason = reason

    @property
    def stop_requested(self) -> bool:
        return self._stop_reason is not None

    # --- saving and restoring -----------------------------------------------------------

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """The whole state of the run: arrays, and JSON texts (random streams, optimizer settings)."""
        arrays = {f"network/{k}": v.detach().cpu().numpy() for k, v in self.network.state_dict().items()}
        opt = self.optimizer.state_dict()
        for index, entries in opt["state"].items():
            for key, value in entries.items():
                arrays[f"optimizer/{index}/{key}"] = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
        arrays["rng/noise"] = self.noise_generator.get_state().numpy()
        arrays["engine/losses_since_log"] = self._losses_since_log
        for term in self.regularisers.terms if self.regularisers is not None else ():
            # Every term, always: a checkpoint replaces the previous one key by key.
            total, count = self._reg_sums.get(term.name, 0.0), self._reg_counts.get(term.name, 0)
            arrays[f"engine/reg_sums/{term.name}"] = np.array([float(total), count], dtype=np.float64)
        names = {id(p): n for n, p in self.network.named_parameters()}
        texts = {
            "optimizer_param_groups": json.dumps(opt["param_groups"]),
            "optimizer_param_names": json.dumps([[names[id(p)] for p in g["params"]] for g in self.optimizer.param_groups]),
            "rng_task": json.dumps(self.task_rng.bit_generator.state),
            "rng_growth": json.dumps(self.growth_rng.bit_generator.state),
            "objective": json.dumps(self.objective.state()),
        }
        if self.wiring is not None:
            texts["rng_wiring"] = json.dumps(self.wiring.rng.bit_generator.state)
        structure = self.network.structure()
        if structure is not None:
            texts["network_structure"] = json.dumps(structure)
        return arrays, texts

    def load_state(self, step: int, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        """Restore what `state()` saved at `step`; the run then continues from `step`."""
        device = self.device
        if "network_structure" in texts:
            # Values are overwritten by the state_dict below: any stream will do for the shapes.
            self.network.grow_to(json.loads(texts["network_structure"]), np.random.default_rng(0))
        network = {k.split("/", 1)[1]: torch.from_numpy(v).to(device) for k, v in arrays.items() if k.startswith("network/")}
        self.network.load_state_dict(network)
        if "optimizer_param_names" in texts:
            # Growth may have added parameter groups: rebuild the optimizer's groups by name.
            named = dict(self.network.named_parameters())
            groups = [{"params": [named[n] for n in g]} for g in json.loads(texts["optimizer_param_names"])]
            self.optimizer = type(self.optimizer)(groups, **self.optimizer.defaults)
            self._refresh_params()
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, index, name = key.split("/")
                opt_state.setdefault(int(index), {})[name] = torch.from_numpy(np.array(value))
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": json.loads(texts["optimizer_param_groups"])})
        self.task_rng.bit_generator.state = json.loads(texts["rng_task"])
        if self.wiring is not None:
            self.wiring.rng.bit_generator.state = json.loads(texts["rng_wiring"])
        if "rng_growth" in texts:
            self.growth_rng.bit_generator.state = json.loads(texts["rng_growth"])
        if "objective" in texts:
            self.objective.load_state(json.loads(texts["objective"]))
        self.noise_generator.set_state(torch.from_numpy(arrays["rng/noise"]))
        self._losses_since_log = np.asarray(arrays["engine/losses_since_log"], dtype=np.float64)
        prefix = "engine/reg_sums/"
        saved = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix) and v[1] > 0}
        self._reg_sums = {name: torch.tensor(float(v[0]), dtype=torch.float32, device=device) for name, v in saved.items()}
        self._reg_counts = {name: int(v[1]) for name, v in saved.items()}
        self.step = step
        self._pending_first = step
        self._resumed_step = step
        self._checkpointed = True

    def _checkpoint(self, step: int) -> None:
        self._check_finite()  # before the flush: it looks at the pending losses too
        self._flush_losses()
        arrays, texts = self.state()
        self.loggers.log_checkpoint(step, arrays, texts)
        self._checkpointed = True

    # --- divergence -----------------------------------------------------------------------

    def _check_finite(self) -> None:
        """Raise DivergenceError if a pending loss, a weight or a gradient is NaN or infinite."""
        bad_loss = None
        if self._pending_losses:
            losses = self._pending_losses.values()
            finite = torch.isfinite(losses)
            if not bool(finite.all()):
                first = int((~finite).nonzero()[0, 0])
                bad_loss = (self._pending_first + first, float(losses[first]))
        named = dict(self.network.named_parameters())
        bad_weights = [n for n, p in named.items() if not bool(torch.isfinite(p).all())]
        bad_grads = [n for n, p in named.items() if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
        if bad_loss is None and not bad_weights and not bad_grads:
            return
        parts = []
        if bad_loss is not None:
            parts.append(f"the training loss became {bad_loss[1]} at batch {bad_loss[0]}")
        if bad_weights:
            parts.append(f"non-finite weights in {', '.join(bad_weights)}")
        if bad_grads:
            parts.append(f"non-finite gradients in {', '.join(bad_grads)}")
        raise DivergenceError("diverged: " + "; ".join(parts))

    # --- growth ----------------------------------------------------------------------

    def grow(self, count: int) -> np.ndarray:
        """Add `count` synapses chosen by the wiring rule; return them ((k, 2): post, pre)."""
        mask = self.network.mask.detach().cpu().numpy() > 0
        candidates = candidate_mask(mask, allow_autapses=self.cfg.allow_autapses)
        n = min(count, int(candidates.sum()))
        if n <= 0:
            return np.zeros((0, 2), dtype=np.int64)
        request = WiringRequest(
            distances=self.wiring.distances,
            mask=mask,
            candidates=candidates,
            n=n,
            rng=self.wiring.rng,
            weights=self.network.w_rec.detach().cpu().numpy().astype(np.float64),
        )
        pairs = choose_synapses(self.wiring.rule, self.wiring.params, request)
        add_connections(
            self.network, self.optimizer, pairs, init=self.cfg.new_synapse_init, value=self.cfg.new_synapse_value,
            step=self.step,
        )
        return pairs

    def _apply_growth(self, step: int) -> None:
        for event in scheduled_at(self.events, step):
            self._fire(step, event)

    def _apply_conditional(self, step: int, conditions: set[str]) -> None:
        for condition in sorted(conditions):
            for event in on_condition(self.events, condition):
                self._fire(step, event, condition)

    def _fire(self, step: int, event: ScheduledOp, condition: str | None = None) -> None:
        """Apply one event's operation to the network and the optimizer together, and log it."""
        context = GrowthContext(
            step=step,
            network=self.network,
            optimizer=self.optimizer,
            rng=self.growth_rng,
            condition=condition,
            distances=self.wiring.distances if self.wiring is not None else None,
            grow=self.grow if self.wiring is not None else None,
        )
        outcome = event.func(context, **event.params)
        if outcome is None:  # the operation had nothing to do (a cap reached): no event
            return
        details: dict[str, Any] = {"event": event.index}
        if condition is not None:
            details["when"] = condition
        details.update(outcome.details)
        details.update(self._sizes())
        self._refresh_params()
        self.loggers.log_event(step, event.op, details, outcome.pairs)

    def _sizes(self) -> dict[str, float | int]:
        """The network's sizes (synapses, modules, ...), integers where they are counts."""
        return {k: int(v) if float(v).is_integer() else v for k, v in self.network.sizes().items()}

    # --- training ---------------------------------------------------------------------

    def train_step(self, batch) -> torch.Tensor:
        """One optimisation step on a task batch (growsim.train.step, the step an ensemble's
        members take too); returns the task loss (a 0-d tensor, not synced)."""
        return train_step([self], [batch])[0]

    def with_penalty(self, loss: torch.Tensor) -> torch.Tensor:
        """The task loss plus the regularisers at this step (their values kept for the log)."""
        if self.regularisers is None:
            return loss
        penalty, values = self.regularisers(self._named, self.step, self.cfg.batches)
        for name, value in values.items():  # terms at strength 0 are absent
            total = self._reg_sums.get(name)
            if total is None:
                self._reg_sums[name] = value.detach().clone()
            else:
                total.add_(value.detach())  # in place: no new small tensor per batch among its large ones
            self._reg_counts[name] = self._reg_counts.get(name, 0) + 1
        return loss + penalty

    def clip_and_step(self) -> None:
        """Clip this network's gradients (by value or by its own norm) and take the optimizer
        step, at the learning rate the schedule gives this step."""
        if self.cfg.lr_at is not None:
            lr = self.cfg.lr_at(self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        if self.cfg.grad_clip_mode == "value":
            torch.nn.utils.clip_grad_value_(self._params, self.cfg.grad_clip_max)
        elif self.cfg.grad_clip_mode == "norm":
            torch.nn.utils.clip_grad_norm_(self._params, self.cfg.grad_clip_max)
        self.optimizer.step()
        self.network.constrain()

    # --- metrics ----------------------------------------------------------------------

    def evaluate(self) -> Evaluated:
        """The objective's evaluation of the network (noise and test trials as configured)."""
        self.network.eval()
        try:
            return self.objective.evaluate(self.network)
        finally:
            self.network.train()

    def _flush_losses(self) -> None:
        """Write the pending per-batch losses; keep them until the next log step for its mean."""
        if not self._pending_losses:
            return
        values = self._pending_losses.values().cpu().numpy().astype(np.float64)
        steps = np.arange(self._pending_first, self._pending_first + len(values), dtype=np.int64)
        self.loggers.log_train_losses(steps, values)
        self._pending_first += len(values)
        self._pending_losses.clear()
        self._losses_since_log = np.concatenate([self._losses_since_log, values])

    def _train_loss_since_log(self) -> float | None:
        """Mean training loss over the batches since the previous log step (however often flushed)."""
        self._flush_losses()
        values, self._losses_since_log = self._losses_since_log, np.zeros(0)
        return float(values.mean()) if values.size else None

    def log_metrics(self, step: int) -> set[str]:
        """Evaluate and log; return the conditions the evaluation met (e.g. level_solved)."""
        train_loss = self._train_loss_since_log()
        result = self.evaluate()
        scalars: dict[str, float] = dict(result.scalars)
        arrays: dict[str, np.ndarray] = dict(result.arrays)
        scalars.update(self.network.sizes())
        # The rate the next batch trains at (the schedule's, or the optimizer's own).
        lr_at = self.cfg.lr_at
        scalars["lr"] = float(lr_at(step) if lr_at is not None else self.optimizer.param_groups[0]["lr"])
        if train_loss is not None:
            scalars["train_loss"] = train_loss
        if self.regularisers is not None:
            # Each term's unscaled value, averaged over the batches since the last log where
            # it was on (NaN if it was off throughout), and its strength from now on.
            strengths = self.regularisers.strengths(step, self.cfg.batches)
            for term in self.regularisers.terms:
                count = self._reg_counts.get(term.name, 0)
                scalars[f"reg_{term.name}"] = float(self._reg_sums[term.name]) / count if count else float("nan")
                scalars[f"reg_{term.name}_strength"] = strengths[term.name]
            self._reg_sums, self._reg_counts = {}, {}
        if self.cfg.modularity != "none":
            w = self.network.w_rec.detach().cpu().numpy().astype(np.float64)
            labels, q = communities(np.abs(w), method=self.cfg.modularity, seed=self.cfg.eval_seed % (2**32))
            scalars["modularity_q"] = q
            scalars["n_communities"] = float(labels.max() + 1 if labels.size else 0)
            arrays["communities"] = labels.astype(np.int32)
        for index, (every, probe) in enumerate(self.probes):
            p_scalars, p_arrays = self._probe(index, every, probe, step)
            scalars.update(p_scalars)
            arrays.update(p_arrays)
        self.loggers.log_metrics(step, scalars, arrays)
        return result.conditions

    def _probe(self, index: int, every: int, probe, step: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """A probe's report at a log step where it is due (every `every` batches, and at the
        end); elsewhere NaN (or -1) in the same names and shapes, so that every series has a
        row per log step."""
        due = step % every == 0 or step == self.cfg.batches
        if due or index not in self._probe_shapes:
            p_scalars, p_arrays = probe(self.network, step)
            self._probe_shapes[index] = (list(p_scalars), {k: (v.shape, v.dtype) for k, v in p_arrays.items()})
            if due:
                return p_scalars, p_arrays
        names, shapes = self._probe_shapes[index]
        return dict.fromkeys(names, float("nan")), {
            k: np.full(shape, -1 if np.issubdtype(dtype, np.integer) else np.nan, dtype=dtype)
            for k, (shape, dtype) in shapes.items()
        }

    def weights(self) -> dict[str, np.ndarray]:
        return self.network.weights()

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> str:
        """Train to the end; return the final status. Loggers are closed whatever happens.

        After `load_state` the run continues from the restored step: the boundary there
        was fully processed before its checkpoint, also at step 0.
        """
        cfg = self.cfg
        status, reason = "failed", "unknown"
        self.begin()
        try:
            for step in range(self.start_step, cfg.batches + 1):
                if self.at_boundary(step):
                    break
                loss = self.train_step(self.objective.sample(self.task_rng, cfg.batch_size))
                self.after_batch(step, loss)
            status, reason = "completed", None
        except BaseException as exc:
            status, reason = self.status_of(exc)
            raise
        finally:
            self.close(status, reason)
        return status

    @property
    def start_step(self) -> int:
        """Where training (re)starts: 0, or the step `load_state` restored."""
        return 0 if self._resumed_step is None else self._resumed_step

    def begin(self) -> None:
        """Open the loggers and, on a fresh run, make the initial synapses.

        If the synapses cannot be made (a plugin rule that raises, say), the loggers are
        closed with the run's status and reason before the error goes on: the file never
        stays `running`."""
        self.loggers.start(self.info)
        self.step = self.start_step
        if self._resumed_step is None and self.cfg.initial_connections:
            try:
                pairs, source = self._initial_synapses()
            except BaseException as exc:
                self.close(*self.status_of(exc))
                raise
            details = {"count": len(pairs), "requested": self.cfg.initial_connections, **self._sizes(),
                       "initial": True, "source": source}
            self.loggers.log_event(0, "add_connections", details, pairs)

    def _initial_synapses(self) -> tuple[np.ndarray, str]:
        """Place the synapses of a connectivity file, or those the wiring rule chooses."""
        if self.cfg.initial_synapses is None:
            return self.grow(self.cfg.initial_connections), "wiring"
        pairs, values = self.cfg.initial_synapses
        init = "initial" if values is None else "given"
        add_connections(self.network, self.optimizer, pairs, init=init, values=values, step=0)
        return pairs, "file"

    def at_boundary(self, step: int) -> bool:
        """Process the step boundary `step`; True when training is over (step == batches).

        Raises RunInterrupted, after a checkpoint, when a stop was requested.
        """
        self.step = step
        if step != self._resumed_step:
            self._boundary(step)
        if self._stop_reason is not None:
            self._checkpoint(step)
            self.loggers.commit(step)
            raise RunInterrupted(self._stop_reason)
        return step == self.cfg.batches

    def after_batch(self, step: int, loss: torch.Tensor) -> None:
        """Keep batch `step`'s loss; check for divergence and report progress on schedule."""
        self._pending_losses.append(loss)
        if (step + 1) % self.cfg.progress_every == 0:
            self._check_recent_losses()
            self.loggers.progress(step + 1, {"loss": float(loss)})

    def status_of(self, exc: BaseException) -> tuple[str, str]:
        """The status and reason a run file records when `exc` stopped the run."""
        if isinstance(exc, KeyboardInterrupt):
            return "interrupted", f"stopped by the user (Ctrl-C) at batch {self.step}"
        if isinstance(exc, RunInterrupted):
            return "interrupted", f"{exc} at batch {self.step}"
        if isinstance(exc, DivergenceError):
            kept = "the checkpoint before it is kept" if self._checkpointed else "before the first checkpoint"
            return "failed", f"{exc} ({kept})"
        return "failed", f"{type(exc).__name__} at batch {self.step}: {exc}"

    def close(self, status: str, reason: str | None) -> None:
        """Flush what is pending, write the final weights and close the loggers with `status`.

        Only the first call closes: a run closed where it failed is not closed again."""
        if self._closed:
            return
        self._closed = True
        try:
            self._flush_losses()
        finally:
            self.loggers.close(status, reason, self.step, self.network.final_weights())

    def _boundary(self, step: int) -> None:
        """Growth, metrics, snapshot and checkpoint due at `step`, then commit the log."""
        cfg = self.cfg
        if 0 < step < cfg.batches:
            self._apply_growth(step)
        logged = step % cfg.log_every == 0 or step == cfg.batches
        if logged:
            self._check_finite()
            conditions = self.log_metrics(step)
            if conditions and step < cfg.batches:  # after the last batch nothing trains
                self._apply_conditional(step, conditions)
        if cfg.snapshot_every and (step % cfg.snapshot_every == 0 or step == cfg.batches):
            self.loggers.log_snapshot(step, self.weights())
        if cfg.checkpoint_every and (step % cfg.checkpoint_every == 0 or step == cfg.batches):
            self._checkpoint(step)
        if logged:
            self.loggers.commit(step)

    def _check_recent_losses(self) -> None:
        recent = self._pending_losses.values(last=self.cfg.progress_every)
        if not bool(torch.isfinite(recent).all()):  # one host sync per progress update
            self._check_finite()
