"""The agents by name (``bc``, ``chunking``, ``idm``, ``idm_chunking``, ``wsrl``): what ``--agent`` selects and
what a checkpoint means.

Each entry is an :class:`~lifebot.agents.base.Agent` (the contract the runner and the strategies use); its
default config is ``policies/<name>.yaml`` (or the file its ``default_config`` names).
"""

from __future__ import annotations

from pathlib import Path

from lifebot.agents.base import Agent
from lifebot.agents.bc import BCAgent
from lifebot.agents.checkpoint import CheckpointError, load_checkpoint
from lifebot.agents.chunking import ChunkingAgent
from lifebot.agents.config import load_config
from lifebot.agents.idm import IDMAgent
from lifebot.agents.idm_chunking import IDMChunkingAgent
from lifebot.agents.wsrl import WSRLAgent
from lifebot.registry import Registry
from lifebot.resources import data_folder

AGENTS: Registry[type[Agent]] = Registry(
    "agent", "lifebot.agents", {a.name: a for a in (BCAgent, ChunkingAgent, IDMAgent, IDMChunkingAgent, WSRLAgent)}
)
POLICIES_DIR = data_folder("policies")


def agent_class(name: str) -> type[Agent]:
    return AGENTS[name]


def encoder_agents() -> list[str]:
    """The agents whose encoder ``lifebot pretrain`` pretrains (``idm`` and the agents built on it)."""
    return sorted(name for name, cls in AGENTS.items() if issubclass(cls, IDMAgent))


def load_agent_config(name: str, path: str | Path | None = None):
    """The agent's typed config from ``path``, or from its default file in ``policies/``."""
    cls = agent_class(name)
    return load_config(cls.config_class, path or POLICIES_DIR / (cls.default_config or f"{name}.yaml"))


def load_agent(path: str | Path, device: str | None = None) -> Agent:
    """Any agent's checkpoint, whichever agent wrote it."""
    name = load_checkpoint(path)["agent"]
    if name not in AGENTS:
        raise CheckpointError(path, f"holds an agent lifebot does not know ({name!r})")
    return AGENTS[name].load(path, device=device)


AGENTS.load_plugins()  # agents of other packages (entry-point group lifebot.agents)
