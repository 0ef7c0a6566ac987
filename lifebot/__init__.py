"""lifebot: procedurally generated manipulation task suites for lifelong robot learning.

Importing lifebot registers every task of every suite with gymnasium (``lifebot/<Suite>-<Task>-v0``).
"""

__version__ = "0.1.0"

from lifebot import _quiet  # noqa: E402,F401  (must run before robosuite is imported)
from lifebot.envs.registration import register_all  # noqa: E402

register_all()
