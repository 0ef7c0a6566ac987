"""Small network builders shared by the agents: MLPs, action heads over [-1, 1] and a camera encoder."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, MixtureSameFamily, Normal
from torch.nn import functional as F

ACTION_CLAMP = 0.999  # atanh(±1) is infinite: demonstrated actions at the bounds are scored just inside them


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


def squashed_log_prob(distribution: Distribution, actions: torch.Tensor) -> torch.Tensor:
    """Log-density of actions under tanh(x), x ~ ``distribution`` (one event = a whole action vector)."""
    clamped = actions.clamp(-ACTION_CLAMP, ACTION_CLAMP)
    correction = torch.log(1 - clamped.pow(2) + 1e-6).sum(-1)  # change of variables through tanh
    return distribution.log_prob(torch.atanh(clamped)) - correction


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
        return squashed_log_prob(Independent(Normal(mu, log_std.exp()), 1), actions)

    def sample(self, features: torch.Tensor, deterministic: bool) -> torch.Tensor:
        mu, log_std = self(features)
        if deterministic:
            return torch.tanh(mu)
        return torch.tanh(mu + log_std.exp() * torch.randn_like(mu))


class GaussianMixtureHead(nn.Module):
    """A mixture of K tanh-squashed diagonal Gaussians over actions (robomimic's BC-GMM).

    One Gaussian averages the modes of multimodal demonstrations (around an obstacle left *or* right) into an
    action no demonstrator took; a mixture keeps them apart. As in robomimic, the scale is softplus plus a
    small floor, and acting deterministically returns the mean of the most likely component.
    """

    MIN_STD = 1e-4

    def __init__(self, in_dim: int, action_dim: int, modes: int):
        super().__init__()
        self.modes, self.action_dim = modes, action_dim
        self.mu = nn.Linear(in_dim, modes * action_dim)
        self.std = nn.Linear(in_dim, modes * action_dim)
        self.logits = nn.Linear(in_dim, modes)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Component means and scales (B, K, A) before the tanh, and the mixture logits (B, K)."""
        shape = (*features.shape[:-1], self.modes, self.action_dim)
        std = F.softplus(self.std(features)).view(shape) + self.MIN_STD
        return self.mu(features).view(shape), std, self.logits(features)

    def distribution(self, features: torch.Tensor) -> MixtureSameFamily:
        mu, std, logits = self(features)
        return MixtureSameFamily(Categorical(logits=logits), Independent(Normal(mu, std), 1))

    def log_prob(self, features: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return squashed_log_prob(self.distribution(features), actions)

    def sample(self, features: torch.Tensor, deterministic: bool) -> torch.Tensor:
        if not deterministic:
            return torch.tanh(self.distribution(features).sample())
        mu, _, logits = self(features)
        best = logits.argmax(-1, keepdim=True)  # (B, 1)
        return torch.tanh(mu.gather(-2, best[..., None].expand(*best.shape, self.action_dim)).squeeze(-2))


class SpatialSoftmax(nn.Module):
    """Feature maps -> the expected image coordinates of K learned keypoints, in [-1, 1] (Levine et al., 2016).

    Keeps *where* things are, which manipulation needs and global pooling throws away; robomimic's and LIBERO's
    image encoders end the same way.
    """

    def __init__(self, in_channels: int, keypoints: int):
        super().__init__()
        self.project = nn.Conv2d(in_channels, keypoints, kernel_size=1)
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        maps = self.project(maps)
        height, width = maps.shape[-2:]
        attention = torch.softmax(maps.flatten(2) / self.log_temperature.exp(), dim=-1)  # (B, K, H*W)
        ys = torch.linspace(-1.0, 1.0, height, device=maps.device)
        xs = torch.linspace(-1.0, 1.0, width, device=maps.device)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        expected_x = (attention * grid_x.reshape(-1)).sum(-1)
        expected_y = (attention * grid_y.reshape(-1)).sum(-1)
        return torch.cat([expected_x, expected_y], dim=-1)  # (B, 2K)


class ImageEncoder(nn.Module):
    """One camera's uint8 (B, H, W, 3) images -> 2K keypoint features: stride-2 3×3 convolutions, spatial softmax.

    A ResNet-lite small enough to train on a CPU; any image size works (keypoints are image coordinates).
    """

    def __init__(self, channels: tuple[int, ...], keypoints: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = 3
        for size in channels:
            layers += [nn.Conv2d(width, size, kernel_size=3, stride=2, padding=1), nn.ReLU()]
            width = size
        self.conv = nn.Sequential(*layers)
        self.keypoints = SpatialSoftmax(width, keypoints)
        self.out_dim = 2 * keypoints

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images.permute(0, 3, 1, 2).float() / 255.0  # HWC uint8 -> CHW float in [0, 1]
        return self.keypoints(self.conv(pixels))
