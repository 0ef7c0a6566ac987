"""The offline agents by name (``bc``, ``idm``): what ``--agent`` selects and what a checkpoint's name means.

Each entry is an agent class with ``config_class``, a constructor ``(config, obs_dim, normalizer,
control_mode)``, ``learn``, ``predict`` and ``save``/``load``. Its default config is ``policies/<name>.yaml``.
"""

from __future__ import annotations

from pathlib import Path

from lifebot.agents.bc import BCAgent
from lifebot.agents.checkpoint import CheckpointError, load_checkpoint
from lifebot.agents.config import load_config
from lifebot.agents.idm import IDMAgent
from lifebot.registry import Registry

AGENTS: Registry[type[BCAgent]] = Registry("agent", "lifebot.agents", {a.name: a for a in (BCAgent, IDMAgent)})
POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"


def agent_class(name: str) -> type[BCAgent]:
    return AGENTS[name]


def load_agent_config(name: str, path: str | Path | None = None):
    """The agent's typed config from ``path``, or from ``policies/<name>.yaml``."""
    return load_config(agent_class(name).config_class, path or POLICIES_DIR / f"{name}.yaml")


def load_agent(path: str | Path, device: str | None = None) -> BCAgent:
    """Any offline agent's checkpoint, whichever agent wrote it."""
    name = load_checkpoint(path)["agent"]
    if name not in AGENTS:
        raise CheckpointError(path, f"holds an agent lifebot does not know ({name!r})")
    return AGENTS[name].load(path, device=device)


AGENTS.load_plugins()  # agents of other packages (entry-point group lifebot.agents)
