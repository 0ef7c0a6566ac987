"""Silence robosuite's import-time notices that do not apply to lifebot (it prints them on every import)."""

import logging

_NOISE = (
    "private macro file",
    "setup_macros.py",
    "robosuite_models",
    "mink-based whole-body IK",
    "Loading controller configuration",
)


class _DropKnownNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in _NOISE)


logging.getLogger("robosuite_logs").addFilter(_DropKnownNoise())
