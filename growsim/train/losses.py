"""Training losses on a task batch (tensors already on the device)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def masked_mse(out: torch.Tensor, y: torch.Tensor, c_mask: torch.Tensor) -> torch.Tensor:
    """Yang et al.: mean over (T, B, outputs) of ((sigmoid(out) - y) * c_mask)^2."""
    return ((torch.sigmoid(out) - y) * c_mask).square().mean()


def masked_cross_entropy(out: torch.Tensor, target_class: torch.Tensor, c_mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per time step over (fixation + ring) classes, weighted by a ring column
    of the cost mask (0 / 1 / 5) and normalised by the total weight."""
    total, weight = masked_cross_entropy_parts(out, target_class, c_mask)
    return total / weight.clamp_min(1e-12)


def masked_mse_parts(out: torch.Tensor, y: torch.Tensor, c_mask: torch.Tensor) -> tuple[torch.Tensor, float]:
    """`masked_mse` as (sum, count): losses of blocks of trials add up to the whole's.
    (Evaluation's: no gradient; one temporary instead of four.)"""
    error = torch.sigmoid(out).sub_(y).mul_(c_mask).reshape(-1)
    return torch.dot(error, error), float(out.numel())


def masked_cross_entropy_parts(
    out: torch.Tensor, target_class: torch.Tensor, c_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """`masked_cross_entropy` as (weighted sum, total weight)."""
    n_out = out.shape[-1]
    ce = F.cross_entropy(out.reshape(-1, n_out), target_class.reshape(-1), reduction="none")
    weight = c_mask[..., -1].reshape(-1)
    return (ce * weight).sum(), weight.sum()


def readout(out: torch.Tensor, loss: str) -> torch.Tensor:
    """Outputs as the task scores them: sigmoid rates (mse) or class probabilities (cross-entropy)."""
    return torch.sigmoid(out) if loss == "mse" else torch.softmax(out, dim=-1)
