"""Ensembles: the seeds of one spec trained together as one stacked model.

Each member is a whole run of its own (an `Engine`, built from the spec with its seed): its
own weights, masks, wiring and growth events, task and noise streams, optimizer, HDF5 file.
`Ensemble` drives the members in lock-step and replaces only the expensive part, the
recurrence: at every batch each member draws its batch and its noise from its own streams
and computes its own input drive, then one batched product per time step runs every
member's recurrent weights at once (`growsim.network.stacked_rates`). Each member's
loss, regularisers, gradient clipping and optimizer step stay its own, so each file holds,
to float rounding, what a run of that seed alone writes.

On a CPU the groups of stacked members train side by side on a pool of worker threads,
one per core, each computing with one torch thread: small products of one network keep
only one core busy, so the cores are better spent on different groups than on splitting
each product. How many members a group stacks depends on their size (`cpu_group_size`):
Wu & Gu's 84 neurons at batch 64 already make products large enough that stacking them
only adds padding, so there each member is a group of its own, and the ensemble's gain
is its members training on every core at once. A GPU takes every member in one group,
on the calling thread.

Members that could not keep in step (a chain of modules grows on conditions that differ
between seeds) are not stacked: `why_not_stacked` says why, and the caller runs them one
after another instead.
"""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Callable, Sequence

import torch

from growsim.network import LeakyRNN, stacked_rates
from growsim.train.engine import DivergenceError, Engine, RunInterrupted
from growsim.train.step import train_step


CPU_GROUP_SIZE = 8  # the most members stacked in one group on a CPU
CPU_GROUP_WORK = 500_000  # the multiply-adds per time step a stacked group aims at on a CPU


def cpu_group_size(batch_size: int, n_neurons: int) -> int:
    """Members per stacked group on a CPU, for members of this batch size and size.

    Stacking pays on a CPU only while one member's recurrent product per time step is
    small (batch x N x N multiply-adds): it shares the per-operation cost, and costs the
    padding of shorter trials to the longest of the group. Measured on 2 cores
    (benchmarks/RESULTS.md), the best group did about 0.2 to 0.9 million multiply-adds
    per step: 4 to 8 members of 84 neurons at batch 8 to 16, 2 at batch 32, 1 (no
    stacking) at batch 64 and for larger networks.
    """
    work = batch_size * n_neurons * n_neurons
    return max(1, min(CPU_GROUP_SIZE, round(CPU_GROUP_WORK / work)))


def group_sizes(members: int, workers: int, most: int = CPU_GROUP_SIZE) -> list[int]:
    """How many members each stacked group takes on a CPU with `workers` worker threads.

    As few groups as keep every group within `most` members, rounded up to a multiple of
    the workers so that each has work, and sizes as even as possible. 30 members on 2
    workers: [8, 8, 7, 7]; 3 members on 2 workers: [2, 1].
    """
    if members < 1 or workers < 1 or most < 1:
        raise ValueError("members, workers and group size must be positive")
    n_groups = min(members, workers * math.ceil(members / (workers * most)))
    base, extra = divmod(members, n_groups)
    return [base + 1] * extra + [base] * (n_groups - extra)


def why_not_stacked(engines: Sequence[Engine]) -> str | None:
    """Why these engines cannot train as one stacked model, or None when they can."""
    first = engines[0]
    if not all(isinstance(e.network, LeakyRNN) for e in engines):
        return "only leaky RNNs stack (a chain of modules grows differently for each seed)"
    if any(ev.trigger.when is not None for e in engines for ev in e.events):
        return "growth on a condition (when:) happens at different steps for different seeds"
    net = first.network
    if any(e.network.per_neuron_tau for e in engines):
        return "per-neuron time constants (network.tau) differ from neuron to neuron, and the stacked recurrence takes one alpha"
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
        workers: int | None = None,
    ):
        reason = why_not_stacked(engines)
        if reason is not None:
            raise ValueError(f"these runs cannot be stacked: {reason}")
        self.engines = list(engines)
        self.active = list(engines)
        self.on_retire = on_retire  # told when a member fails and leaves the ensemble
        # On a CPU, groups of as many members as pay (cpu_group_size) on one worker thread
        # per torch thread; a GPU wants them all at once, on this thread.
        on_cpu = engines[0].device.type == "cpu"
        if workers is None:
            workers = torch.get_num_threads() if on_cpu else 0
        if workers < 0:
            raise ValueError("workers must be >= 0")
        self.workers = workers  # threads training groups side by side (0: the calling thread)
        if group_size is None:
            net = engines[0].network
            group_size = cpu_group_size(engines[0].cfg.batch_size, net.n_neurons) if on_cpu else 0
        self.group_size = group_size  # 0: every member in one group
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.step = 0
        self._stop_reason: str | None = None

    def request_stop(self, reason: str) -> None:
        """Stop every member at the next step boundary, after its checkpoint (signal-safe)."""
        self._stop_reason = reason

    @property
    def stop_requested(self) -> bool:
        return self._stop_reason is not None

    # --- one batch ----------------------------------------------------------------------

    def layout(self) -> str:
        """How the members are grouped and where the groups train, in words."""
        device = self.engines[0].device
        if not self.group_size:
            return f"stacked in one group on {device}"
        most = max(group_sizes(len(self.engines), max(self.workers, 1), self.group_size))
        if self.group_size == 1:
            stacked = "each member on its own (too large to gain from stacking)"
        else:
            stacked = "each member on its own" if most == 1 else f"stacked in groups of up to {most}"
        threads = f"{self.workers} at a time on {self.workers} worker threads" if self.workers > 1 else "one at a time"
        return f"{stacked}, {threads}, on {device}"

    def groups(self, order: Sequence[int]) -> list[list[int]]:
        """Split members (indices, in order of trial length) into the groups stacked together."""
        if not self.group_size:
            return [list(order)]
        sizes = group_sizes(len(order), max(self.workers, 1), self.group_size)
        out, start = [], 0
        for size in sizes:
            out.append(list(order[start : start + size]))
            start += size
        return out

    def train_step(self, engines: Sequence[Engine], batches: Sequence) -> list[torch.Tensor]:
        """One optimisation step of every member on its own batch; their task losses (not synced).

        Members are stacked in groups of similar trial length, so little time goes to
        padding; with worker threads the groups train side by side.
        """
        losses: list[torch.Tensor | None] = [None] * len(engines)
        order = sorted(range(len(engines)), key=lambda i: batches[i].n_steps)
        groups = self.groups(order)
        if self.workers > 1 and len(groups) > 1:
            pool = self._worker_pool()
            _wait_all([pool.submit(_train_group, engines, g, batches, losses) for g in groups])
        else:
            for group in groups:
                _train_group(engines, group, batches, losses)
        return losses

    def _worker_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            # One torch thread in each worker: the workers are the parallelism. (torch's
            # thread count belongs to the thread that sets it, so the caller keeps its own.)
            self._pool = concurrent.futures.ThreadPoolExecutor(
                self.workers, thread_name_prefix="growsim-ensemble", initializer=torch.set_num_threads, initargs=(1,)
            )
        return self._pool

    def shutdown(self) -> None:
        """Stop the worker threads (a later step starts them again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

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
        closing: dict[Engine, tuple[str, str | None]] = {}
        try:
            for e in self.engines:  # inside the try: a member that cannot begin closes the others
                e.begin()
            batches = self.engines[0].cfg.batches
            batch_size = self.engines[0].cfg.batch_size
            for step in range(start, batches + 1):
                self.step = step
                if self._stop_reason is not None:
                    for e in self.active:
                        e.request_stop(self._stop_reason)
                done = self._at_boundary(step, statuses)
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
            self.shutdown()
            failed: BaseException | None = None
            for e in self.active:  # every member, also when closing one fails (a full disk)
                status, reason = closing.get(e, ("failed", "unknown"))
                statuses[e] = status
                try:
                    e.close(status, reason)
                except BaseException as exc:
                    failed = failed or exc
            if failed is not None:
                raise failed
        return statuses

    def _at_boundary(self, step: int, statuses: dict[Engine, str]) -> bool:
        """Every member's step boundary (growth, evaluation, logging, checkpoint); True when
        training is over. With worker threads the members' boundaries run side by side: an
        evaluation is as costly as many batches. Divergent members retire; a stop request
        is raised once every member has checkpointed."""
        members = list(self.active)
        if self.workers > 1 and len(members) > 1:
            futures = [self._worker_pool().submit(_outcome, e.at_boundary, step) for e in members]
            _wait_all(futures)
            outcomes = [f.result() for f in futures]
        else:
            outcomes = [_outcome(e.at_boundary, step) for e in members]
        done, interrupted = False, None
        for e, (value, exc) in zip(members, outcomes):
            if exc is None:
                done = done or value
            elif isinstance(exc, RunInterrupted):
                interrupted = exc
            elif isinstance(exc, DivergenceError):
                self._retire(e, exc, statuses)
            else:
                raise exc
        if interrupted is not None:
            raise interrupted
        return done

    def _retire(self, engine: Engine, exc: BaseException, statuses: dict[Engine, str]) -> None:
        """Close a failed member with its reason; the rest of the ensemble goes on."""
        self.active.remove(engine)
        status, reason = engine.status_of(exc)
        statuses[engine] = status
        engine.close(status, reason)
        if self.on_retire is not None:
            self.on_retire(engine, reason)


def _train_group(engines: Sequence[Engine], group: list[int], batches: Sequence, losses: list) -> None:
    """The training step (growsim.train.step) of one group of members, their recurrence stacked.

    Touches only the group's own engines (and its slots of `losses`), so groups can train
    on different threads at once.
    """
    members = [engines[i] for i in group]
    for i, loss in zip(group, train_step(members, [batches[i] for i in group], forward=stacked)):
        losses[i] = loss


def stacked(engines: Sequence[Engine], inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The members' outputs, their recurrence run as one stacked model: each member's drive
    (its noise from its own stream), one batched product per time step, each its readout."""
    nets = [e.network for e in engines]
    drives = [net.drive(x, noise=True, generator=e.noise_generator) for net, e, x in zip(nets, engines, inputs)]
    return [net.readout(h) for net, h in zip(nets, stacked_rates(nets, drives))]


def _outcome(fn: Callable, *args) -> tuple[object, BaseException | None]:
    """fn(*args) as (its value, None), or (None, the exception it raised: a stop request
    is a BaseException), which the caller handles member by member."""
    try:
        return fn(*args), None
    except BaseException as exc:
        return None, exc


def _wait_all(futures: list[concurrent.futures.Future]) -> None:
    """Wait for every future; then raise the first failure, if any.

    Even when the wait is interrupted (Ctrl-C), no worker may still be changing weights
    when the caller goes on to checkpoint them, so every future is waited for first.
    """
    try:
        for future in futures:
            future.result()
    finally:
        concurrent.futures.wait(futures)
