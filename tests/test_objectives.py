"""Yang et al.'s evaluation, made in blocks of trials with one noise draw for all tasks,
against the whole-batch computation it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growsim.train import losses
from growsim.network import LeakyRNN
from growsim.train.objectives import EVAL_BLOCK, TrialObjective
from growsim.tasks import YangSuite

TASKS = ["fdgo", "delayanti", "dm1"]


def _setup(loss: str, eval_noise: bool, n_trials: int):
    suite = YangSuite(TASKS, n_eachring=8)
    rng = np.random.default_rng(0)
    n = 12
    net = LeakyRNN(
        w_in=torch.tensor(rng.standard_normal((n, suite.n_input)) * 0.3, dtype=torch.float32),
        w_rec=torch.tensor(rng.standard_normal((n, n)) * 0.3, dtype=torch.float32),
        w_out=torch.tensor(rng.standard_normal((suite.n_output, n)), dtype=torch.float32),
        mask=torch.tensor(rng.random((n, n)) < 0.6),
        alpha=0.2,
    )
    with torch.no_grad():  # from the test's own stream: torch's global one made the network differ per run
        net.b_rec.copy_(torch.tensor(rng.standard_normal(n), dtype=torch.float32))
        net.b_out.copy_(torch.tensor(rng.standard_normal(suite.n_output), dtype=torch.float32))
    objective = TrialObjective(
        suite, loss=loss, eval_batch_size=n_trials, eval_noise=eval_noise, eval_seed=7, device=torch.device("cpu")
    )
    return suite, net, objective


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_blocks_add_up_to_the_whole_batch(loss):
    # Without noise, the blocked evaluation must give each task's loss and performance on its
    # whole test batch, computed in one piece the plain way.
    n_trials = 2 * EVAL_BLOCK + 37  # two full blocks and a partial one
    suite, net, objective = _setup(loss, eval_noise=False, n_trials=n_trials)
    got = objective.evaluate(net)
    rng = np.random.Generator(np.random.PCG64(7))
    loss_fn = losses.masked_mse if loss == "mse" else losses.masked_cross_entropy
    for i, task in enumerate(suite.tasks):
        batch = suite.sample(rng, n_trials, task=task)
        with torch.no_grad():
            out, _ = net(torch.from_numpy(batch.x), noise=False)
        target = batch.y if loss == "mse" else batch.target_class
        want_loss = float(loss_fn(out, torch.from_numpy(target), torch.from_numpy(batch.c_mask)))
        want_perf = suite.performance(losses.readout(out, loss).numpy(), batch.y_loc).mean()
        assert got.arrays["task_loss"][i] == pytest.approx(want_loss, rel=1e-5)
        assert got.arrays["perf"][i] == pytest.approx(want_perf, abs=1e-12)
    assert got.scalars["perf_mean"] == pytest.approx(got.arrays["perf"].mean())
    assert 0 < got.scalars["perf_mean"] < 1  # not a degenerate network: some trials right, some wrong


def test_same_trials_and_noise_at_every_evaluation_and_noise_matters():
    _, net, objective = _setup("mse", eval_noise=True, n_trials=EVAL_BLOCK + 5)
    first, again = objective.evaluate(net), objective.evaluate(net)
    np.testing.assert_array_equal(first.arrays["task_loss"], again.arrays["task_loss"])
    np.testing.assert_array_equal(first.arrays["perf"], again.arrays["perf"])
    objective.eval_noise = False
    quiet = objective.evaluate(net)
    assert not np.array_equal(first.arrays["task_loss"], quiet.arrays["task_loss"])


def test_each_block_draws_its_own_noise():
    # Trials of different blocks must not repeat one another's noise: with identical trials in
    # every row (one repeated input), rates differ between blocks only through the noise.
    _, net, objective = _setup("mse", eval_noise=True, n_trials=2 * EVAL_BLOCK)
    seen = []
    original = net.rates

    def spy(drive, **how):
        seen.append(drive.detach().clone())
        return original(drive, **how)

    net.rates = spy
    objective.evaluate(net)
    per_block = len(seen) // 2
    first_block, second_block = seen[0], seen[per_block]  # task 0 in block 0 and block 1
    assert first_block.shape == second_block.shape
    with torch.no_grad():
        noise_a = first_block - net.piecewise_drive(*_rows(objective, slice(0, EVAL_BLOCK)))
        noise_b = second_block - net.piecewise_drive(*_rows(objective, slice(EVAL_BLOCK, 2 * EVAL_BLOCK)))
        noise_task1 = seen[1] - net.piecewise_drive(*_rows(objective, slice(0, EVAL_BLOCK), task=1))
    assert noise_a.std() > 0 and noise_b.std() > 0
    assert abs(np.corrcoef(noise_a.flatten().numpy(), noise_b.flatten().numpy())[0, 1]) < 0.05
    # and task 1 of block 0 sees block 0's noise (one draw shared by the tasks)
    steps = min(noise_a.shape[0], noise_task1.shape[0])
    torch.testing.assert_close(noise_task1[:steps], noise_a[:steps])


def _rows(objective, trials, task=0):
    rng = np.random.Generator(np.random.PCG64(objective.eval_seed))
    batches = [objective.suite.sample(rng, objective.eval_batch_size, task=t) for t in objective.suite.tasks]
    x = batches[task].pieces["x"]
    return torch.from_numpy(x.table[:, trials]), torch.from_numpy(x.index)
