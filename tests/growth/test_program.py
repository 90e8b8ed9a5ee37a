"""The growth program is a pure function of the step; add_connections caps by `until`."""

from __future__ import annotations


import numpy as np

from growsim.growth import GrowthContext, ScheduledOp, Trigger, fires_at, get_operation, on_condition, planned_connections, scheduled_at


def ev(index=0, op="add_connections", trigger=None, **params):
    base = {"count": 10, "until": None, "reset_optimizer": False} if op == "add_connections" else {}
    base.update(params)
    return ScheduledOp(index, op, get_operation(op).func, base, trigger or Trigger(every=500))


def test_periodic_event_fires_at_multiples_from_every():
    t = Trigger(every=500)
    assert [s for s in range(0, 2001) if fires_at(t, s)] == [500, 1000, 1500, 2000]


def test_start_and_stop():
    t = Trigger(every=3, start=1, stop=10)
    assert [s for s in range(20) if fires_at(t, s)] == [1, 4, 7, 10]


def test_explicit_steps():
    t = Trigger(at=(2, 5))
    assert [s for s in range(10) if fires_at(t, s)] == [2, 5]


def test_a_condition_never_fires_on_a_schedule_and_is_found_by_name():
    solved = ev(1, "add_readout", Trigger(when="level_solved"))
    periodic = ev(0, trigger=Trigger(every=1))
    assert not any(fires_at(solved.trigger, s) for s in range(100))
    assert scheduled_at([periodic, solved], 7) == [periodic]
    assert on_condition([periodic, solved], "level_solved") == [solved]
    assert on_condition([periodic, solved], "other") == []


class _Net:
    """Just what add_connections asks of a network: its synapse count."""

    def __init__(self, n):
        self.n_connections = n


def _context(connections, grown):
    def grow(count):
        grown.append(count)
        return np.zeros((count, 2), dtype=np.int64)

    return GrowthContext(step=0, network=_Net(connections), optimizer=None, rng=np.random.default_rng(0), grow=grow)


def test_until_caps_the_count_and_stops_the_event():
    op = get_operation("add_connections").func
    grown: list[int] = []
    assert op(_context(0, grown), count=10, until=25).details["requested"] == 10
    assert op(_context(20, grown), count=10, until=25).details == {"count": 5, "requested": 5, "reset_optimizer": False}
    assert op(_context(25, grown), count=10, until=25) is None  # the cap is reached: nothing fires
    assert grown == [10, 5]


def test_wu_gu_schedule_reaches_800_at_batch_40000():
    plan = planned_connections([ev(count=10, until=800)], 46875, initial=0, capacity=83 * 82)
    assert plan[0] == (500, 10)
    assert plan[-1] == (40000, 800)
    assert len(plan) == 80
    assert all(b - a == 500 for (a, _), (b, _) in zip(plan, plan[1:]))


def test_two_events_at_one_step_share_the_cap():
    a = ev(0, trigger=Trigger(every=10), count=6, until=10)
    b = ev(1, trigger=Trigger(every=10), count=6, until=10)
    assert planned_connections([a, b], 11, initial=0, capacity=100) == [(10, 10)]


def test_schedule_respects_capacity():
    plan = planned_connections([ev(trigger=Trigger(every=1), count=5)], 10, initial=0, capacity=12)
    assert plan == [(1, 5), (2, 10), (3, 12)]


def test_planning_ignores_other_operations():
    swaps = ev(op="swap_neurons", trigger=Trigger(every=1), top_k=5)
    assert planned_connections([swaps], 10, initial=0, capacity=12) == []
