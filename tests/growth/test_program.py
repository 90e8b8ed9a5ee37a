"""The growth program is a pure function of the step and the connection count."""

from __future__ import annotations

from types import SimpleNamespace

from growsim.growth import due_events, fires_at, schedule


def ev(**kw):
    base = dict(op="add_connections", every=None, start=None, stop=None, at=None, count=10, until=None, reset_optimizer=False)
    base.update(kw)
    return SimpleNamespace(**base)


def test_periodic_event_fires_at_multiples_from_every():
    e = ev(every=500)
    assert [s for s in range(0, 2001) if fires_at(e, s)] == [500, 1000, 1500, 2000]


def test_start_and_stop():
    e = ev(every=3, start=1, stop=10)
    assert [s for s in range(20) if fires_at(e, s)] == [1, 4, 7, 10]


def test_explicit_steps():
    e = ev(at=[2, 5])
    assert [s for s in range(10) if fires_at(e, s)] == [2, 5]


def test_until_caps_the_count_and_stops_the_event():
    e = ev(every=500, until=25)
    assert due_events([e], 500, 0)[0].count == 10
    assert due_events([e], 1500, 20)[0].count == 5
    assert due_events([e], 2000, 25) == []


def test_wu_gu_schedule_reaches_800_at_batch_40000():
    e = ev(every=500, count=10, until=800)
    plan = schedule([e], 46875, initial=0, capacity=83 * 82)
    assert plan[0] == (500, 10)
    assert plan[-1] == (40000, 800)
    assert len(plan) == 80
    assert all(b - a == 500 for (a, _), (b, _) in zip(plan, plan[1:]))


def test_two_events_at_one_step_share_the_cap():
    a = ev(every=10, count=6, until=10)
    b = ev(every=10, count=6, until=10)
    due = due_events([a, b], 10, 0)
    assert [d.count for d in due] == [6, 4]


def test_schedule_respects_capacity():
    e = ev(every=1, count=5)
    plan = schedule([e], 10, initial=0, capacity=12)
    assert plan == [(1, 5), (2, 10), (3, 12)]
