"""A pretrained encoder under an action-chunking policy: :mod:`lifebot.agents.idm`'s encoder and pretraining,
:mod:`lifebot.agents.chunking`'s head, loss and temporal ensemble.

Why: on the goal tasks a single-step policy with a Gaussian head learns little from a few demonstrations from
scratch (0.07 at 10 demos), so an encoder's lead under it is a lead over a weak policy; the chunking agent is the
suite's standard imitation baseline (docs/demo_count). Measured under it (docs/idm_vs_scratch.md), frozen
inverse dynamics is level with scratch (0.56 and 0.56 at 10 demos) and fine-tuned 0.65. Everything here is
composition; the classes add no behaviour of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from lifebot.agents.chunking import ChunkingAgent, ChunkingConfig, ChunkingPolicy
from lifebot.agents.idm import EncoderPolicy, IDMAgent, IDMConfig


@dataclass(frozen=True)
class IDMChunkingConfig(IDMConfig, ChunkingConfig):
    """:class:`IDMConfig`'s encoder and pretraining fields with :class:`ChunkingConfig`'s ``chunk`` and
    ``ensemble_decay``."""

    head: str = "deterministic"
    """Chunking regresses its actions (IDMConfig's inherited default, BC's ``gaussian``, would shadow it)."""


class EncoderChunkingPolicy(EncoderPolicy, ChunkingPolicy):
    """φ and the policy MLP of :class:`EncoderPolicy`; the chunk head, loss and ``act`` of :class:`ChunkingPolicy`."""


class IDMChunkingAgent(IDMAgent, ChunkingAgent):
    """Pretrains φ as ``idm`` does; learns and acts as ``chunking`` does (action chunks, temporal ensemble)."""

    name = "idm_chunking"
    config_class = IDMChunkingConfig
    policy_class = EncoderChunkingPolicy
