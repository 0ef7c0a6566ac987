"""Inverse-dynamics pretraining (Brandfonbrener, Nachum and Bruna, NeurIPS 2023).

An encoder φ is pretrained on multitask demonstrations by predicting a_t from (φ(o_t), φ(o_{t+1})); then a
behaviour-cloning head is trained on a few demonstrations of a new task on top of φ, frozen by default.
The encoder has exactly the layout of the behaviour-cloning trunk, so the result is an ordinary
:class:`~lifebot.agents.bc.BCPolicy` (and moves into SB3 like one).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm import tqdm

from lifebot.agents.bc import ACTION_DIM, BCAgent, BCConfig
from lifebot.agents.networks import mlp
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.control import DEFAULT_CONTROL_MODE


@dataclass(frozen=True)
class IDMConfig(BCConfig):
    idm_steps: int = 5000
    """Gradient steps of inverse-dynamics pretraining per call to ``pretrain``."""
    idm_hidden: tuple[int, ...] = (256,)
    """Hidden widths of the inverse-dynamics head g(φ(o_t), φ(o_t+1))."""
    freeze_encoder: bool = True
    """Keep φ fixed while the behaviour-cloning head learns (the paper's protocol); False fine-tunes it."""

    def __post_init__(self):
        super().__post_init__()
        if self.observation != "state":
            raise ValueError("inverse-dynamics pretraining runs on state observations (demos keep no next images)")


class IDMAgent(BCAgent):
    name = "idm"
    config_class = IDMConfig

    def __init__(self, config: IDMConfig, obs_dim, normalizer, control_mode=DEFAULT_CONTROL_MODE):
        super().__init__(config, obs_dim, normalizer, control_mode)
        latent = config.hidden[-1]
        self.inverse_head = mlp(2 * latent, config.idm_hidden, ACTION_DIM).to(self.device)
        self.idm_optimizer = torch.optim.Adam(
            [*self.policy.trunk.parameters(), *self.inverse_head.parameters()], lr=config.learning_rate
        )
        if config.freeze_encoder:
            self.optimizer = torch.optim.Adam(
                self.policy.head.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
            )

    def state_dict(self) -> dict:
        return {**super().state_dict(), "inverse_head": self.inverse_head.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.inverse_head.load_state_dict(state["inverse_head"])

    def inverse_dynamics_loss(self, obs: torch.Tensor, next_obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        encoder = self.policy.trunk
        predicted = torch.tanh(self.inverse_head(torch.cat([encoder(obs), encoder(next_obs)], dim=-1)))
        return (predicted - actions).pow(2).sum(-1).mean()

    def pretrain(self, dataset: DemoDataset, steps: int | None = None, progress: bool = False) -> list[float]:
        """Train φ (the policy trunk) and the inverse head on (o_t, o_t+1) -> a_t; returns the losses."""
        losses, steps = [], self.config.idm_steps if steps is None else steps
        for _ in tqdm(range(steps), desc="idm", unit="step", disable=not progress):
            index = torch.from_numpy(self.rng.integers(0, len(dataset.obs), size=self.config.batch_size))
            loss = self.inverse_dynamics_loss(
                dataset.obs[index].to(self.device),
                dataset.next_obs[index].to(self.device),
                dataset.actions[index].to(self.device),
            )
            self.idm_optimizer.zero_grad()
            loss.backward()
            self.idm_optimizer.step()
            losses.append(float(loss.detach()))
        return losses
