"""Small network builders shared by the agents."""

from __future__ import annotations

import torch
from torch import nn


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, layer_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if layer_norm:
            layers.append(nn.LayerNorm(size))
        layers.append(nn.ReLU())
        width = size
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class GaussianHead(nn.Module):
    """Maps features to a tanh-squashed diagonal Gaussian over actions; the mean action is tanh(mu)."""

    LOG_STD_RANGE = (-5.0, 2.0)

    def __init__(self, in_dim: int, action_dim: int):
        super().__init__()
        self.mu = nn.Linear(in_dim, action_dim)
        self.log_std = nn.Linear(in_dim, action_dim)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low, high = self.LOG_STD_RANGE
        return self.mu(features), self.log_std(features).clamp(low, high)

    def log_prob(self, features: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        mu, log_std = self(features)
        pre_tanh = torch.atanh(actions.clamp(-0.999, 0.999))
        normal = torch.distributions.Normal(mu, log_std.exp())
        correction = torch.log(1 - actions.clamp(-0.999, 0.999).pow(2) + 1e-6)
        return (normal.log_prob(pre_tanh) - correction).sum(-1)

    def sample(self, features: torch.Tensor, deterministic: bool) -> torch.Tensor:
        mu, log_std = self(features)
        if deterministic:
            return torch.tanh(mu)
        return torch.tanh(mu + log_std.exp() * torch.randn_like(mu))
