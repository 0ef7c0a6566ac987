"""A torch dataset over one or many demonstration files: transitions, or short sequences on request.

State observations are concatenated in a fixed key order and normalised with statistics computed over the
dataset (:class:`Normalizer`, which agents save with their checkpoints); actions are already in [-1, 1].
Image keys, when asked for, come as uint8 tensors (H, W, 3), untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from lifebot.demos.format import DemoFile, DemoFileError
from lifebot.envs.observations import STATE_KEYS

MIN_STD = 1e-3
ACTION_LABELS = ("expert", "executed")


@dataclass
class Normalizer:
    """Per-dimension mean and standard deviation; constant dimensions keep a unit scale."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Normalizer:
        std = values.std(axis=0)
        return cls(values.mean(axis=0).astype(np.float32), np.where(std < MIN_STD, 1.0, std).astype(np.float32))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.std).astype(np.float32)

    def state_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}


def flatten_state(obs: dict[str, np.ndarray], keys=STATE_KEYS) -> np.ndarray:
    """Concatenate state keys (batched or not) in the canonical order."""
    return np.concatenate([np.asarray(obs[k], dtype=np.float32) for k in keys], axis=-1)


def _labels(path, name: str, episode, noise: float, which: str) -> np.ndarray:
    if which == "executed" or episode.expert_actions is not None:
        return episode.actions if which == "executed" else episode.expert_actions
    if noise > 0:
        raise DemoFileError(
            path, f"data/{name} was collected with noise {noise} but has no expert_actions (the clean labels)"
        )
    return episode.actions  # an older file collected without noise: executed and expert actions are one


class DemoDataset(Dataset):
    """Transitions from demonstration files, each item a dict of tensors.

    ``sequence_length`` > 1 yields windows of consecutive steps from one demo (shape (L, ...)).
    ``filter_key`` restricts to a mask (``train`` / ``valid``); ``max_demos_per_file`` takes the first N.
    ``action_labels`` picks what ``actions`` holds: ``expert`` (the default) the scripted expert's clean actions,
    the label to imitate, or ``executed`` the actions the simulator saw, noise included (what replay and
    offline RL need). Files without ``expert_actions`` collected without noise have the same in both.
    """

    def __init__(
        self,
        paths: list[str | Path] | str | Path,
        sequence_length: int = 1,
        filter_key: str | None = None,
        max_demos_per_file: int | None = None,
        image_keys: tuple[str, ...] = (),
        normalizer: Normalizer | None = None,
        action_labels: str = "expert",
    ):
        if action_labels not in ACTION_LABELS:
            raise ValueError(f"action_labels must be one of {ACTION_LABELS}, got {action_labels!r}")
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not paths:
            raise ValueError("DemoDataset needs at least one demonstration file")
        self.sequence_length = sequence_length
        obs, next_obs, actions, rewards, dones, images = [], [], [], [], [], {k: [] for k in image_keys}
        episode_ends: list[np.ndarray] = []
        self.windows: list[int] = []
        offset = 0
        self.instructions: list[str] = []
        modes = set()
        for path in paths:
            with DemoFile(path) as demo_file:
                modes.add(demo_file.header.control_mode)
                if len(modes) > 1:
                    raise DemoFileError(path, f"mixes control modes with the other files ({sorted(modes)})")
                missing = [k for k in (*STATE_KEYS, *image_keys) if k not in demo_file.obs_keys()]
                if demo_file.demo_names and missing:
                    raise DemoFileError(path, f"has no observation key(s) {missing}")
                names = demo_file.mask(filter_key) if filter_key else demo_file.demo_names
                self.instructions.append(demo_file.task_spec.instruction)
                for name in names[:max_demos_per_file]:
                    episode = demo_file.episode(name)
                    length = episode.num_samples
                    obs.append(flatten_state(episode.obs))
                    next_obs.append(flatten_state(episode.next_obs))
                    actions.append(_labels(path, name, episode, demo_file.header.action_noise, action_labels))
                    rewards.append(episode.rewards)
                    dones.append(episode.dones)
                    for k in image_keys:
                        images[k].append(episode.obs[k])
                    episode_ends.append(np.full(length, offset + length - 1, dtype=np.int64))
                    self.windows += range(offset, offset + length - sequence_length + 1)
                    offset += length
        self.control_mode = modes.pop()  # what a policy trained on this data expects at evaluation
        if not obs:
            raise ValueError(f"no demonstrations in {', '.join(str(p) for p in paths)}")
        raw_obs = np.concatenate(obs)
        self.normalizer = normalizer or Normalizer.fit(raw_obs)
        self.obs = torch.from_numpy(self.normalizer(raw_obs))
        self.next_obs = torch.from_numpy(self.normalizer(np.concatenate(next_obs)))
        self.actions = torch.from_numpy(np.concatenate(actions).astype(np.float32))
        self.rewards = torch.from_numpy(np.concatenate(rewards).astype(np.float32))
        self.dones = torch.from_numpy(np.concatenate(dones).astype(np.float32))
        self.images = {k: torch.from_numpy(np.concatenate(v)) for k, v in images.items()}
        # the row of each row's episode's last step: next_obs[t + k - 1] is o_{t+k} while it is not past it
        self.episode_end = torch.from_numpy(np.concatenate(episode_ends))

    @property
    def obs_dim(self) -> int:
        return int(self.obs.shape[1])

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        start = self.windows[index]
        span = slice(start, start + self.sequence_length) if self.sequence_length > 1 else start
        item = {
            "obs": self.obs[span],
            "next_obs": self.next_obs[span],
            "action": self.actions[span],
            "reward": self.rewards[span],
            "done": self.dones[span],
        }
        item.update({k: v[span] for k, v in self.images.items()})
        return item
