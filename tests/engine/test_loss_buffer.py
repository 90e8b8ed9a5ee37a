"""The engine's buffer of per-batch training losses (one reused tensor, not a list)."""

from __future__ import annotations

import torch

from growsim.train.engine import _LossBuffer


def test_keeps_every_loss_in_order_past_its_capacity_and_reuses_its_tensor():
    buf = _LossBuffer(capacity=4)
    assert not buf and buf.values().numel() == 0
    for i in range(11):  # doubles twice: 4 -> 8 -> 16
        buf.append(torch.tensor(float(i)))
    assert len(buf) == 11
    assert buf.values().tolist() == [float(i) for i in range(11)]
    assert buf.values(last=3).tolist() == [8.0, 9.0, 10.0]
    assert buf.values(last=50).tolist() == buf.values().tolist()
    storage = buf.values().untyped_storage().data_ptr()
    buf.clear()
    assert len(buf) == 0 and buf.values().numel() == 0
    for i in range(16):
        buf.append(torch.tensor(-float(i)))
    assert buf.values().untyped_storage().data_ptr() == storage  # no new allocation after a flush
    assert buf.values()[-1].item() == -15.0


def test_takes_the_losses_dtype_and_detaches():
    buf = _LossBuffer()
    w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    buf.append((w * 3).sum())
    assert buf.values().dtype == torch.float64 and not buf.values().requires_grad
    assert buf.values().tolist() == [6.0]
