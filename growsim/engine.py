"""The engine: the one training loop, shared by every kind of growing network.

At each step boundary (`step` batches done): growth events due at `step` fire, then
metrics due at `step` are taken and logged, then the next batch trains:

    batch = task.sample() -> network.forward -> loss -> backward
    -> gradient masks (in the network's hook) -> clipping -> optimizer.step

The engine emits plain numbers and arrays to its loggers.
"""

from __future__ import annotations

import math
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
    """Raised (from a signal handler) to stop a run cleanly: the file is closed as interrupted."""


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
    progress_every: int = 25


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
        self._params = [p for p in network.parameters() if p.requires_grad]

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

    def _flush_losses(self) -> float | None:
        if not self._pending_losses:
            return None
        values = torch.stack(self._pending_losses).cpu().numpy().astype(np.float64)
        steps = np.arange(self._pending_first, self._pending_first + len(values), dtype=np.int64)
        self.loggers.log_train_losses(steps, values)
        self._pending_first += len(values)
        self._pending_losses = []
        return float(values.mean())

    def log_metrics(self, step: int) -> None:
        train_loss = self._flush_losses()
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

    def run(self) -> str:
        """Train to the end; return the final status. Loggers are closed whatever happens."""
        cfg = self.cfg
        self.loggers.start(self.info)
        status, reason = "failed", "unknown"
        try:
            if cfg.initial_connections:
                pairs = self.grow(cfg.initial_connections)
                details = {"count": len(pairs), "requested": cfg.initial_connections,
                           "connections": self.network.n_connections, "initial": True}
                self.loggers.log_event(0, "add_connections", details, pairs)
            progress_loss = math.nan
            for step in range(cfg.batches + 1):
                self.step = step
                if 0 < step < cfg.batches:
                    self._apply_growth(step)
                if step % cfg.log_every == 0 or step == cfg.batches:
                    self.log_metrics(step)
                if cfg.snapshot_every and (step % cfg.snapshot_every == 0 or step == cfg.batches):
                    self.loggers.log_snapshot(step, self.weights())
                if step == cfg.batches:
                    break
                loss = self.train_step(self.suite.sample(self.task_rng, cfg.batch_size))
                self._pending_losses.append(loss)
                if (step + 1) % cfg.progress_every == 0:
                    progress_loss = float(loss)
                    self.loggers.progress(step + 1, {"loss": progress_loss})
            status, reason = "completed", None
        except KeyboardInterrupt:
            status, reason = "interrupted", f"stopped by the user (Ctrl-C) at batch {self.step}"
            raise
        except RunInterrupted as exc:
            status, reason = "interrupted", f"{exc} at batch {self.step}"
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
