"""The engine: the one training loop, shared by every kind of growing network.

At each step boundary (`step` batches done): growth events due at `step` fire, then
metrics due at `step` are taken and logged, then the next batch trains:

    batch = task.sample() -> network.forward -> loss -> backward
    -> gradient masks (in the network's hook) -> clipping -> optimizer.step

The engine emits plain numbers and arrays to its loggers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from growsim import losses
from growsim.growth import due_events
from growsim.growth.ops import add_connections, reset_optimizer
from growsim.log.base import Loggers, RunInfo
from growsim.metrics import communities
from growsim.wiring import RuleInfo, WiringRequest, candidate_mask, choose_synapses


class RunInterrupted(BaseException):
    """Stops a run: the file is closed as interrupted (after a checkpoint, when there was time)."""


class DivergenceError(RuntimeError):
    """The loss, a weight or a gradient became NaN or infinite."""


@dataclass
class EngineConfig:
    """Flat settings of the loop (from the spec's train, growth and log sections)."""

    batches: int
    batch_size: int
    loss: str  # "mse" | "cross_entropy"
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
        suite,
        wiring: Wiring,
        events: Sequence[Any],
        config: EngineConfig,
        task_rng: np.random.Generator,
        noise_generator: torch.Generator,
        loggers: Loggers,
        info: RunInfo,
        device: torch.device,
    ):
        self.network = network
        self.optimizer = optimizer
        self.suite = suite
        self.wiring = wiring
        self.events = list(events)
        self.cfg = config
        self.task_rng = task_rng
        self.noise_generator = noise_generator
        self.loggers = loggers
        self.info = info
        self.device = device
        self.step = 0
        self._loss_fn = losses.masked_mse if config.loss == "mse" else losses.masked_cross_entropy
        self._pending_losses: list[torch.Tensor] = []
        self._pending_first = 0
        self._losses_since_log = np.zeros(0)  # flushed, but part of the next log step's mean
        self._params = [p for p in network.parameters() if p.requires_grad]
        self._stop_reason: str | None = None

    def request_stop(self, reason: str) -> None:
        """Stop at the next step boundary, after a checkpoint (safe to call from a signal handler)."""
        self._stop_reason = reason

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
        texts = {
            "optimizer_param_groups": json.dumps(opt["param_groups"]),
            "rng_task": json.dumps(self.task_rng.bit_generator.state),
            "rng_wiring": json.dumps(self.wiring.rng.bit_generator.state),
        }
        return arrays, texts

    def load_state(self, step: int, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        """Restore what `state()` saved at `step`; the run then continues from `step`."""
        device = self.device
        network = {k.split("/", 1)[1]: torch.from_numpy(v).to(device) for k, v in arrays.items() if k.startswith("network/")}
        self.network.load_state_dict(network)
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, index, name = key.split("/")
                opt_state.setdefault(int(index), {})[name] = torch.from_numpy(np.array(value))
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": json.loads(texts["optimizer_param_groups"])})
        self.task_rng.bit_generator.state = json.loads(texts["rng_task"])
        self.wiring.rng.bit_generator.state = json.loads(texts["rng_wiring"])
        self.noise_generator.set_state(torch.from_numpy(arrays["rng/noise"]))
        self._losses_since_log = np.asarray(arrays["engine/losses_since_log"], dtype=np.float64)
        self.step = step
        self._pending_first = step

    def _checkpoint(self, step: int) -> None:
        self._check_finite()  # before the flush: it looks at the pending losses too
        self._flush_losses()
        arrays, texts = self.state()
        self.loggers.log_checkpoint(step, arrays, texts)

    # --- divergence -----------------------------------------------------------------------

    def _check_finite(self) -> None:
        """Raise DivergenceError if a pending loss, a weight or a gradient is NaN or infinite."""
        bad_loss = None
        if self._pending_losses:
            losses = torch.stack(self._pending_losses)
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
            self.network, self.optimizer, pairs, init=self.cfg.new_synapse_init, value=self.cfg.new_synapse_value
        )
        return pairs

    def _apply_growth(self, step: int) -> None:
        connections = self.network.n_connections
        for due in due_events(self.events, step, connections):
            if due.reset_optimizer:
                reset_optimizer(self.optimizer)
            pairs = self.grow(due.count)
            connections = self.network.n_connections
            details = {
                "event": due.index,
                "count": len(pairs),
                "requested": due.count,
                "connections": connections,
                "reset_optimizer": due.reset_optimizer,
            }
            self.loggers.log_event(step, due.op, details, pairs)

    # --- training ---------------------------------------------------------------------

    def _tensors(self, batch) -> dict[str, torch.Tensor]:
        dev = self.device
        out = {
            "x": torch.from_numpy(batch.x).to(dev, non_blocking=True),
            "c_mask": torch.from_numpy(batch.c_mask).to(dev, non_blocking=True),
        }
        if self.cfg.loss == "mse":
            out["y"] = torch.from_numpy(batch.y).to(dev, non_blocking=True)
        else:
            out["target"] = torch.from_numpy(batch.target_class).to(dev, non_blocking=True)
        return out

    def _loss(self, out: torch.Tensor, t: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.cfg.loss == "mse":
            return self._loss_fn(out, t["y"], t["c_mask"])
        return self._loss_fn(out, t["target"], t["c_mask"])

    def train_step(self, batch) -> torch.Tensor:
        """One optimisation step on a task batch; returns the loss (a 0-d tensor, not synced)."""
        t = self._tensors(batch)
        out, _ = self.network(t["x"], noise=True, generator=self.noise_generator)
        loss = self._loss(out, t)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip_mode == "value":
            torch.nn.utils.clip_grad_value_(self._params, self.cfg.grad_clip_max)
        elif self.cfg.grad_clip_mode == "norm":
            torch.nn.utils.clip_grad_norm_(self._params, self.cfg.grad_clip_max)
        self.optimizer.step()
        return loss.detach()

    # --- metrics ----------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-task test loss and performance on the same test trials at every evaluation."""
        # Re-seeded each time: every evaluation sees the same test trials and noise.
        rng = np.random.Generator(np.random.PCG64(self.cfg.eval_seed))
        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.cfg.eval_seed)
        task_loss, perf = [], []
        self.network.eval()
        for task in self.suite.tasks:
            batch = self.suite.sample(rng, self.cfg.eval_batch_size, task=task)
            t = self._tensors(batch)
            out, _ = self.network(t["x"], noise=self.cfg.eval_noise, generator=gen)
            task_loss.append(float(self._loss(out, t)))
            y_hat = losses.readout(out, self.cfg.loss).cpu().numpy()
            perf.append(float(np.mean(self.suite.performance(y_hat, batch.y_loc))))
        self.network.train()
        return np.array(task_loss), np.array(perf)

    def _flush_losses(self) -> None:
        """Write the pending per-batch losses; keep them until the next log step for its mean."""
        if not self._pending_losses:
            return
        values = torch.stack(self._pending_losses).cpu().numpy().astype(np.float64)
        steps = np.arange(self._pending_first, self._pending_first + len(values), dtype=np.int64)
        self.loggers.log_train_losses(steps, values)
        self._pending_first += len(values)
        self._pending_losses = []
        self._losses_since_log = np.concatenate([self._losses_since_log, values])

    def _train_loss_since_log(self) -> float | None:
        """Mean training loss over the batches since the previous log step (however often flushed)."""
        self._flush_losses()
        values, self._losses_since_log = self._losses_since_log, np.zeros(0)
        return float(values.mean()) if values.size else None

    def log_metrics(self, step: int) -> None:
        train_loss = self._train_loss_since_log()
        task_loss, perf = self.evaluate()
        w = self.network.w_rec.detach().cpu().numpy().astype(np.float64)
        scalars: dict[str, float] = {
            "loss": float(task_loss.mean()),
            "perf_mean": float(perf.mean()),
            "connections": float(self.network.n_connections),
            "lr": float(self.optimizer.param_groups[0]["lr"]),
        }
        if train_loss is not None:
            scalars["train_loss"] = train_loss
        arrays: dict[str, np.ndarray] = {"perf": perf, "task_loss": task_loss}
        if self.cfg.modularity != "none":
            labels, q = communities(np.abs(w), method=self.cfg.modularity, seed=self.cfg.eval_seed % (2**32))
            scalars["modularity_q"] = q
            scalars["n_communities"] = float(labels.max() + 1 if labels.size else 0)
            arrays["communities"] = labels.astype(np.int32)
        self.loggers.log_metrics(step, scalars, arrays)

    def weights(self) -> dict[str, np.ndarray]:
        net = self.network
        return {
            "w_rec": net.w_rec.detach().cpu().numpy(),
            "mask": net.mask.detach().cpu().numpy().astype(np.uint8),
            "w_in": net.w_in.detach().cpu().numpy(),
            "w_out": net.w_out.detach().cpu().numpy(),
            "b_rec": net.b_rec.detach().cpu().numpy(),
            "b_out": net.b_out.detach().cpu().numpy(),
        }

    # --- the loop ---------------------------------------------------------------------

    def run(self, start_step: int = 0) -> str:
        """Train to the end; return the final status. Loggers are closed whatever happens.

        With `start_step` > 0 the run continues from a state restored by `load_state`: the
        boundary at `start_step` was fully processed before its checkpoint.
        """
        cfg = self.cfg
        self.loggers.start(self.info)
        status, reason = "failed", "unknown"
        self.step = start_step
        try:
            if start_step == 0 and cfg.initial_connections:
                pairs = self.grow(cfg.initial_connections)
                details = {"count": len(pairs), "requested": cfg.initial_connections,
                           "connections": self.network.n_connections, "initial": True}
                self.loggers.log_event(0, "add_connections", details, pairs)
            for step in range(start_step, cfg.batches + 1):
                self.step = step
                if step > start_step or start_step == 0:
                    self._boundary(step)
                if self._stop_reason is not None:
                    self._checkpoint(step)
                    self.loggers.commit(step)
                    raise RunInterrupted(self._stop_reason)
                if step == cfg.batches:
                    break
                loss = self.train_step(self.suite.sample(self.task_rng, cfg.batch_size))
                self._pending_losses.append(loss)
                if (step + 1) % cfg.progress_every == 0:
                    self._check_recent_losses()
                    self.loggers.progress(step + 1, {"loss": float(loss)})
            status, reason = "completed", None
        except KeyboardInterrupt:
            status, reason = "interrupted", f"stopped by the user (Ctrl-C) at batch {self.step}"
            raise
        except RunInterrupted as exc:
            status, reason = "interrupted", f"{exc} at batch {self.step}"
            raise
        except DivergenceError as exc:
            status, reason = "failed", f"{exc} (the checkpoint before it is kept)"
            raise
        except BaseException as exc:
            status, reason = "failed", f"{type(exc).__name__} at batch {self.step}: {exc}"
            raise
        finally:
            try:
                self._flush_losses()
            finally:
                final = self.weights()
                final["w_rec_initial"] = self.network.w_rec_initial.detach().cpu().numpy()
                self.loggers.close(status, reason, self.step, final)
        return status

    def _boundary(self, step: int) -> None:
        """Growth, metrics, snapshot and checkpoint due at `step`, then commit the log."""
        cfg = self.cfg
        if 0 < step < cfg.batches:
            self._apply_growth(step)
        logged = step % cfg.log_every == 0 or step == cfg.batches
        if logged:
            self._check_finite()
            self.log_metrics(step)
        if cfg.snapshot_every and (step % cfg.snapshot_every == 0 or step == cfg.batches):
            self.loggers.log_snapshot(step, self.weights())
        if cfg.checkpoint_every and (step % cfg.checkpoint_every == 0 or step == cfg.batches):
            self._checkpoint(step)
        if logged:
            self.loggers.commit(step)

    def _check_recent_losses(self) -> None:
        recent = torch.stack(self._pending_losses[-self.cfg.progress_every :])
        if not bool(torch.isfinite(recent).all()):  # one host sync per progress update
            self._check_finite()
