"""A task suite plugin: the K-bit flip-flop (Sussillo & Barak 2013, Neural Computation 25:626).

Each of K input channels carries rare pulses of +1 or -1; the network must hold, on its
output, the sign of the last pulse each channel received (a K-bit memory). Here the K
bits are read out as one class among 2^K (bit k of the class is 1 when channel k's last
pulse was +1), so the masked squared error and the cross-entropy both apply, and a trial
is scored by the largest output at its last step (growsim's default score). Channels that
have had no pulse yet count as 0 (-1).

Name this file in a spec's `plugins` and the suite in `task.suite`:

    task:
      suite: flipflop
      n_bits: 3
    plugins:
      - ../plugins/flipflop_task.py
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from growsim.tasks import TaskContext, TaskParams, TrialBatch, TrialSuite, task_suite


class FlipFlopParams(TaskParams):
    n_bits: int = Field(3, ge=1, le=8, description="How many bits the network holds (K); 2^K output classes.")
    steps: int = Field(50, ge=2, le=10_000, description="Time steps per trial.")
    pulse_prob: float = Field(0.05, gt=0, le=1, description="Probability of a pulse on a channel at a step.")
    dt_ms: float = Field(20.0, gt=0, description="The time step, ms.")


class FlipFlopSuite(TrialSuite):
    """The K-bit flip-flop as one task."""

    def __init__(self, params: FlipFlopParams):
        self.params = params
        self.tasks = ("flipflop",)
        self.n_input = params.n_bits
        self.n_output = 2**params.n_bits
        self.dt_ms = params.dt_ms

    def make_batch(self, rng: np.random.Generator, batch_size: int, task: str) -> TrialBatch:
        p = self.params
        shape = (p.steps, batch_size, p.n_bits)
        pulse = rng.random(shape) < p.pulse_prob
        sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        x = np.where(pulse, sign, 0.0)
        # The state of each bit: the sign of its last pulse, carried forward (0 before the first).
        last = np.where(pulse, np.arange(p.steps)[:, None, None], -1)
        last = np.maximum.accumulate(last, axis=0)
        held = np.take_along_axis(x, np.maximum(last, 0), axis=0) * (last >= 0)
        target = ((held > 0) * (2 ** np.arange(p.n_bits))).sum(axis=-1)  # (T, B) class of the K bits
        y = np.eye(self.n_output, dtype=np.float32)[target]
        c_mask = np.ones_like(y)
        return TrialBatch.from_dense(task, x=x, y=y, c_mask=c_mask, target_class=target)


@task_suite("flipflop", params=FlipFlopParams)
def flipflop(params: FlipFlopParams, context: TaskContext) -> FlipFlopSuite:
    """The K-bit flip-flop (Sussillo & Barak 2013): hold the sign of each channel's last pulse."""
    return FlipFlopSuite(params)
