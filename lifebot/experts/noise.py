"""Noise for recovery data (DART-style): the expert's action is perturbed before it is executed.

The executed action is what the simulator saw (stored as ``actions``, so replays stay exact); the expert's clean
action for the same state is the training label (``expert_actions``). Because the expert is closed-loop, the
states the noise drives it into come with the expert's correction back, which is what a policy needs to learn.
"""

from __future__ import annotations

import numpy as np

ARM = slice(0, 6)  # end-effector delta position and rotation; the gripper command is never perturbed


def perturb(action: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``action`` plus Gaussian noise of std ``noise`` on the arm part, clipped to [-1, 1]."""
    executed = np.array(action, dtype=np.float64)
    if noise > 0:
        executed[ARM] += rng.normal(0.0, noise, size=executed[ARM].shape)
    return np.clip(executed, -1.0, 1.0)
