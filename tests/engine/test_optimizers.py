"""growsim's optimizers against torch.optim's (the oracle): the same steps bit for bit, state
dicts that cross between the two, and no import of torch's compiler."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch

from growsim.train import optimizers

CASES = {
    "adam": (optimizers.Adam, torch.optim.Adam, {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}),
    "adam_l2": (optimizers.Adam, torch.optim.Adam, {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    "adamw": (optimizers.AdamW, torch.optim.AdamW, {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.05}),
    "sgd": (optimizers.SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0}),
    "sgd_momentum_l2": (optimizers.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": False, "weight_decay": 0.01}),
    "sgd_nesterov": (optimizers.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.0}),
}


def _params(seed: int) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=g)) for shape in ((7, 5), (5,), (3, 7))]


def _grads(step: int, params, skip: int | None = None) -> None:
    g = torch.Generator().manual_seed(1000 + step)
    for i, p in enumerate(params):
        # a parameter without a gradient at some steps (frozen, or not in the loss) is skipped
        p.grad = None if i == skip else torch.randn(p.shape, generator=g) * 10.0 ** (i - 1)


def _state_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])), key


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_are_torchs_bit_for_bit(case):
    ours_cls, theirs_cls, kwargs = CASES[case]
    ours_p, theirs_p = _params(0), _params(0)
    ours, theirs = ours_cls(ours_p, **kwargs), theirs_cls(theirs_p, **kwargs)
    for step in range(40):
        skip = 1 if step % 7 == 3 else None
        _grads(step, ours_p, skip)
        _grads(step, theirs_p, skip)
        if step == 20:  # a learning-rate schedule writes into the groups
            for opt in (ours, theirs):
                for group in opt.param_groups:
                    group["lr"] *= 0.5
        ours.step()
        theirs.step()
        for a, b in zip(ours_p, theirs_p):
            assert torch.equal(a, b), f"{case}: parameters differ at step {step}"
    for a, b in zip(ours_p, theirs_p):
        _state_equal(ours.state[a], theirs.state[b])


@pytest.mark.parametrize("case", ["adam_l2", "sgd_nesterov", "adamw"])
def test_state_dicts_cross_between_torchs_and_ours(case):
    """A checkpoint written with torch's optimizer (every run file before growsim had its
    own) resumes with growsim's, and growsim's with torch's: the same steps afterwards."""
    ours_cls, theirs_cls, kwargs = CASES[case]
    source_p = _params(1)
    source = theirs_cls(source_p[:2], **kwargs)
    source.add_param_group({"params": [source_p[2]], "lr": kwargs["lr"] * 2})  # a group added by growth
    for step in range(5):
        _grads(step, source_p)
        source.step()
    saved = copy.deepcopy(source.state_dict())  # a checkpoint: torch's state dict holds its live tensors

    ours_p = [torch.nn.Parameter(p.detach().clone()) for p in source_p]
    ours = ours_cls(ours_p[:2], **kwargs)
    ours.add_param_group({"params": [ours_p[2]]})
    ours.load_state_dict(saved)
    assert ours.param_groups[1]["lr"] == kwargs["lr"] * 2
    back_p = [torch.nn.Parameter(p.detach().clone()) for p in source_p]
    back = theirs_cls(back_p[:2], **kwargs)
    back.add_param_group({"params": [back_p[2]]})
    back.load_state_dict(copy.deepcopy(ours.state_dict()))  # torch's load keeps the tensors it gets
    for step in range(5, 15):
        for params, opt in ((source_p, source), (ours_p, ours), (back_p, back)):
            _grads(step, params)
            opt.step()
    for a, b, c in zip(source_p, ours_p, back_p):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_state_dict_layout_is_torchs():
    ours_p, theirs_p = _params(2), _params(2)
    ours, theirs = optimizers.Adam(ours_p, lr=1e-3), torch.optim.Adam(theirs_p, lr=1e-3)
    _grads(0, ours_p, skip=2)
    _grads(0, theirs_p, skip=2)
    ours.step()
    theirs.step()
    a, b = ours.state_dict(), theirs.state_dict()
    assert a["state"].keys() == b["state"].keys() == {0, 1}  # the parameter without a gradient has no state
    for index in a["state"]:
        _state_equal(a["state"][index], b["state"][index])
    assert [g["params"] for g in a["param_groups"]] == [g["params"] for g in b["param_groups"]]
    for key in ("lr", "betas", "eps", "weight_decay"):
        assert a["param_groups"][0][key] == b["param_groups"][0][key]


def test_refuses_what_it_does_not_do():
    p = _params(3)
    saved = torch.optim.Adam(p, lr=1e-3, amsgrad=True).state_dict()
    with pytest.raises(ValueError, match="amsgrad"):
        optimizers.Adam(p, lr=1e-3).load_state_dict(saved)
    with pytest.raises(ValueError, match="dampening"):
        optimizers.SGD(p, lr=1e-3).load_state_dict(torch.optim.SGD(p, lr=1e-3, dampening=0.5).state_dict())
    with pytest.raises(ValueError, match="more than once"):
        optimizers.Adam([p[0], p[0]])
    opt = optimizers.SGD(p[:1])
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [p[0]]})
    with pytest.raises(ValueError, match="group"):
        optimizers.Adam(p[:1]).load_state_dict(torch.optim.Adam(p[:2]).state_dict())
    with pytest.raises(ValueError, match="betas"):
        optimizers.Adam(p, betas=(1.0, 0.9))


def test_zero_grad():
    p = _params(4)
    opt = optimizers.SGD(p, lr=0.1)
    _grads(0, p)
    opt.zero_grad(set_to_none=False)
    assert all(q.grad is not None and not q.grad.any() for q in p)
    opt.zero_grad()
    assert all(q.grad is None for q in p)


def test_a_run_imports_neither_torchs_compiler_nor_the_timescale_fits(tmp_path):
    """torch.optim's optimizers import torch._dynamo (and sympy) when made or stepped: about
    1 s and 73 MB per run; growsim.metrics imported scipy.optimize for the timescale fits,
    which a Wu & Gu run never makes (9 MB). A whole short run must import neither."""
    code = (
        "import sys\n"
        "from growsim.cli import main\n"
        f"sys.argv = ['growsim', 'run', 'specs/add_conn_distance.yaml', '-o', {str(tmp_path / 'r.h5')!r}, '-q',"
        " '--set', 'train.batches=30', '--set', 'log.every=15', '--set', 'log.eval_batch_size=8']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted(m for m in ('torch._dynamo', 'sympy', 'scipy.optimize') if m in sys.modules))\n"
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_adam_and_adamw_state_dicts_do_not_mix():
    p = _params(5)
    with pytest.raises(ValueError, match="AdamW's"):
        optimizers.Adam(p).load_state_dict(torch.optim.AdamW(p).state_dict())
    with pytest.raises(ValueError, match="Adam's"):
        optimizers.AdamW(p).load_state_dict(optimizers.Adam(p).state_dict())
