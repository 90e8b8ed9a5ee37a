"""The growth program (pure: what fires when) and the operations it applies."""

from growsim.growth.program import DueEvent, conditional_events, due_events, fires_at, schedule

__all__ = ["DueEvent", "conditional_events", "due_events", "fires_at", "schedule"]
