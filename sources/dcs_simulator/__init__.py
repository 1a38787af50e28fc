"""Local stand-in for the DCS v2 API: a seeded world of instances and restores behind HTTP."""

from dcs_simulator.faults import FAULT_KINDS, FaultPlan, FaultRule
from dcs_simulator.records import ERROR_CODES
from dcs_simulator.server import (
    DEMO_ACCESS_KEY,
    DEMO_AUTH_TOKEN,
    DEMO_SECRET_KEY,
    DcsSimulator,
    RequestRecord,
)
from dcs_simulator.world import DEFAULT_PROJECT_ID, DEFAULT_START, InstanceNotFound, World

__all__ = [
    "DEFAULT_PROJECT_ID",
    "DEFAULT_START",
    "DEMO_ACCESS_KEY",
    "DEMO_AUTH_TOKEN",
    "DEMO_SECRET_KEY",
    "ERROR_CODES",
    "FAULT_KINDS",
    "DcsSimulator",
    "FaultPlan",
    "FaultRule",
    "InstanceNotFound",
    "RequestRecord",
    "World",
]
