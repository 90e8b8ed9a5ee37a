"""Ensembles: the seeds of one spec trained together as one stacked model.

Each member is a whole run of its own (an `Engine`, built from the spec with its seed): its
own weights, masks, wiring and growth events, task and noise streams, optimizer, HDF5 file.
`Ensemble` drives the members in lock-step and replaces only the expensive part, the
recurrence: at every batch each member draws its batch and its noise from its own streams
and computes its own input drive, then one batched product per time step runs every
member's recurrent weights at once (`growsim.network.stacked_rates`). Each member's
loss, regularisers, gradient clipping and optimizer step stay its own, so each file holds,
to float rounding, what a run of that seed alone writes.

Members that could not keep in step (a chain of modules grows on conditions that differ
between seeds) are not stacked: `why_not_stacked` says why, and the caller runs them one
after another instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from growsim.engine import DivergenceError, Engine, RunInterrupted
from growsim.network import LeakyRNN, stacked_rates
from growsim.objectives import YangObjective


CPU_GROUP_SIZE = 8


def why_not_stacked(engines: Sequence[Engine]) -> str | None:
    """Why these engines cannot train as one stacked model, or None when they can."""
    first = engines[0]
    if not all(isinstance(e.network, LeakyRNN) for e in engines):
        return "only leaky RNNs stack (a chain of modules grows differently for each seed)"
    if not all(isinstance(e.objective, YangObjective) for e in engines):
        return "only the cognitive-task objective stacks"
    if any(getattr(ev, "when", None) is not None for e in engines for ev in e.events):
        return "growth on a condition (when:) happens at different steps for different seeds"
    net = first.network
    for e in engines[1:]:
        other = e.network
        same = (
            other.n_neurons == net.n_neurons
            and other.alpha == net.alpha
            and other.activation == net.activation
            and e.cfg.batches == first.cfg.batches
            and e.cfg.batch_size == first.cfg.batch_size
            and e.device == first.device
        )
        if not same:
            return "the members differ in shape, dynamics or schedule"
    return None


class Ensemble:
    """Several engines of one spec and different seeds, trained as one stacked model."""

    def __init__(
        self,
        engines: Sequence[Engine],
        *,
        on_retire: Callable[[Engine, str], None] | None = None,
        group_size: int | None = None,
    ):
        reason = why_not_stacked(engines)
        if reason is not None:
            raise ValueError(f"these runs cannot be stacked: {reason}")
        self.engines = list(engines)
        self.active = list(engines)
        self.on_retire = on_retire  # told when a member fails and leaves the ensemble
        # Members per stacked group: on a CPU small groups keep the arrays in cache; a GPU
        # wants them all at once.
        if group_size is None:
            group_size = 0 if engines[0].device.type == "cuda" else CPU_GROUP_SIZE
        self.group_size = group_size
        self.step = 0
        self._stop_reason: str | None = None

    def request_stop(self, reason: str) -> None:
        """Stop every member at the next step boundary, after its checkpoint (signal-safe)."""
        self._stop_reason = reason

    @property
    def stop_requested(self) -> bool:
        return self._stop_reason is not None

    # --- one batch ----------------------------------------------------------------------

    def train_step(self, engines: Sequence[Engine], batches: Sequence) -> list[torch.Tensor]:
        """One optimisation step of every member on its own batch; their task losses (not synced).

        Members are stacked in groups of similar trial length (`group_size` at a time), so
        little time goes to padding and each group's arrays stay small enough for the cache.
        """
        losses: list[torch.Tensor | None] = [None] * len(engines)
        tensors = [e.objective.tensors(b) for e, b in zip(engines, batches)]
        order = sorted(range(len(engines)), key=lambda i: tensors[i]["x"].shape[0])
        for e in engines:
            e.optimizer.zero_grad(set_to_none=True)
        size = self.group_size or len(engines)
        for start in range(0, len(order), size):
            group = order[start : start + size]
            drives = [
                engines[i].network.drive(tensors[i]["x"], noise=True, generator=engines[i].noise_generator)
                for i in group
            ]
            hidden = stacked_rates([engines[i].network for i in group], drives)
            total = None
            for i, h in zip(group, hidden):
                e = engines[i]
                loss = e.objective.loss_of(e.network.readout(h), tensors[i])
                losses[i] = loss.detach()
                member_total = e.with_penalty(loss)
                total = member_total if total is None else total + member_total
            total.backward()  # each member's parameters get the gradient of its own loss
        for e in engines:
            e.clip_and_step()
        return losses

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> dict[Engine, str]:
        """Train every member to the end; return each member's final status.

        A member that diverges is closed as failed and leaves; the others go on. A stop
        request stops them all at one step boundary, each after its checkpoint.
        """
        statuses: dict[Engine, str] = {}
        starts = {e.start_step for e in self.engines}
        if len(starts) > 1:
            raise ValueError(f"the members were restored at different steps: {sorted(starts)}")
        start = starts.pop()
        for e in self.engines:
            e.begin()
        closing: dict[Engine, tuple[str, str | None]] = {}
        try:
            batches = self.engines[0].cfg.batches
            batch_size = self.engines[0].cfg.batch_size
            for step in range(start, batches + 1):
                self.step = step
                if self._stop_reason is not None:
                    for e in self.active:
                        e.request_stop(self._stop_reason)
                interrupted: RunInterrupted | None = None
                done = False
                for e in list(self.active):
                    try:
                        done = e.at_boundary(step)
                    except RunInterrupted as exc:
                        interrupted = exc
                    except DivergenceError as exc:
                        self._retire(e, exc, statuses)
                if interrupted is not None:
                    raise interrupted
                if done or not self.active:
                    break
                members = list(self.active)
                losses = self.train_step(members, [e.objective.sample(e.task_rng, batch_size) for e in members])
                for e, loss in zip(members, losses):
                    try:
                        e.after_batch(step, loss)
                    except DivergenceError as exc:
                        self._retire(e, exc, statuses)
            for e in self.active:
                closing[e] = ("completed", None)
        except BaseException as exc:
            for e in self.active:
                closing[e] = e.status_of(exc)
            raise
        finally:
            for e in self.active:
                status, reason = closing.get(e, ("failed", "unknown"))
                statuses[e] = status
                e.close(status, reason)
        return statuses

    def _retire(self, engine: Engine, exc: BaseException, statuses: dict[Engine, str]) -> None:
        """Close a failed member with its reason; the rest of the ensemble goes on."""
        self.active.remove(engine)
        status, reason = engine.status_of(exc)
        statuses[engine] = status
        engine.close(status, reason)
        if self.on_retire is not None:
            self.on_retire(engine, reason)
