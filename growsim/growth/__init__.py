"""The growth program (pure: what fires when), the registry of operations, and the operations."""

from growsim.growth.program import ScheduledOp, Trigger, fires_at, on_condition, planned_connections, scheduled_at
from growsim.growth.registry import (
    ENTRY_POINT_GROUP,
    TRIGGER_KEYS,
    GrowthContext,
    OperationInfo,
    Outcome,
    applies_to,
    available_operations,
    get_operation,
    growth_operation,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "TRIGGER_KEYS",
    "GrowthContext",
    "OperationInfo",
    "Outcome",
    "ScheduledOp",
    "Trigger",
    "applies_to",
    "available_operations",
    "fires_at",
    "get_operation",
    "growth_operation",
    "on_condition",
    "planned_connections",
    "scheduled_at",
]
