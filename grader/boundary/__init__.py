"""The one boundary with student code. Nothing outside this package starts,
signals or talks to a process that runs student code."""

from grader.boundary.sandbox import (
    STRICT_LAYERS,
    Limits,
    Plan,
    default_read_only,
    gpu_devices,
    readable,
)
from grader.boundary.session import IsolationError, Outcome, StudentProcess
from grader.boundary.zygote import TRAINING_PRELOAD, Zygote, shared_zygote

__all__ = ["Limits", "Plan", "STRICT_LAYERS", "default_read_only", "gpu_devices", "readable", "IsolationError", "Outcome", "StudentProcess", "TRAINING_PRELOAD", "Zygote", "shared_zygote"]
