"""The growth program (pure: what fires when) and the operations it applies."""

from growsim.growth.program import DueEvent, due_events, fires_at, schedule

__all__ = ["DueEvent", "due_events", "fires_at", "schedule"]
