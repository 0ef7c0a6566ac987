"""Moving offline-trained actor weights into a stable-baselines3 policy (SB3 issues #1414, #1453).

lifebot's behaviour-cloning policy is built to mirror SB3's SAC actor: ``trunk`` has the layout of
``actor.latent_pi`` (Linear, ReLU, ..., Linear, ReLU), and the Gaussian head's ``mu`` / ``log_std`` are the
actor's. The SB3 side must see the same observations, so environments are wrapped in
:class:`NormalizedStateObservation` with the agent's normalizer.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from lifebot.demos.dataset import Normalizer, flatten_state

DETERMINISTIC_LOG_STD = math.log(0.1)  # a deterministic head becomes a narrow Gaussian around the same mean


class NormalizedStateObservation(gym.ObservationWrapper):
    """Dict state observations -> one flat, normalised float32 vector (what lifebot's agents are trained on)."""

    def __init__(self, env: gym.Env, normalizer: Normalizer):
        super().__init__(env)
        self.normalizer = normalizer
        size = len(normalizer.mean)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)

    def observation(self, observation):
        return self.normalizer(flatten_state(observation))


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [layer for layer in module.modules() if isinstance(layer, nn.Linear)]


def copy_actor_into_sac(source, sac_policy) -> None:
    """Copy a lifebot actor (``BCPolicy``) into an SB3 SAC policy's actor, layer by layer, shapes checked.

    After the copy, ``sac.predict(obs, deterministic=True)`` equals the source's deterministic action.
    """
    if not getattr(source, "transferable", True):
        raise ValueError(
            "this actor sees part of the state through its encoder and the rest beside it; SAC's actor "
            "is one MLP on the whole state: use encoder_input state and policy_hidden []"
        )
    if not (source.gaussian or source.regression):
        raise ValueError("a Gaussian-mixture actor has no single-Gaussian SAC equivalent: use head gaussian")
    actor = sac_policy.actor
    source_layers, target_layers = _linears(source.trunk), _linears(actor.latent_pi)
    if [tuple(s.weight.shape) for s in source_layers] != [tuple(t.weight.shape) for t in target_layers]:
        raise ValueError(
            f"network shapes differ: lifebot {[tuple(s.weight.shape) for s in source_layers]} vs SB3 "
            f"{[tuple(t.weight.shape) for t in target_layers]}; build SAC with net_arch = the agent's hidden sizes"
        )
    with torch.no_grad():
        for src, dst in zip(source_layers, target_layers, strict=True):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
        if source.gaussian:
            actor.mu.weight.copy_(source.head.mu.weight)
            actor.mu.bias.copy_(source.head.mu.bias)
            actor.log_std.weight.copy_(source.head.log_std.weight)
            actor.log_std.bias.copy_(source.head.log_std.bias)
        else:
            actor.mu.weight.copy_(source.head.weight)
            actor.mu.bias.copy_(source.head.bias)
            actor.log_std.weight.zero_()
            actor.log_std.bias.fill_(DETERMINISTIC_LOG_STD)
    if hasattr(sac_policy, "restart_average"):  # a WSRL policy acting with an average of its actor: from the copy
        sac_policy.restart_average()
