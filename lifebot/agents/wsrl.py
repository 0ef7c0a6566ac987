"""Warm-start RL (WSRL: Zhou et al., "Efficient Online Reinforcement Learning Fine-Tuning Need Not Retain
Offline Data", ICLR 2025), on stable-baselines3's SAC.

Three phases:

1. Offline pretraining of actor and critics on demonstrations with Cal-QL (or CQL): :func:`pretrain_offline`.
2. Warmup: the pretrained policy (not uniform noise) fills an empty online buffer for ``warmup_steps`` steps.
3. Online SAC on that buffer only, never sampling offline data again, with the paper's critic: an ensemble of
   ``n_critics`` (10) LayerNorm critics whose target is the minimum of a random 2, and several critic updates
   per environment step (``gradient_steps``).

SB3 keeps the replay buffer, logging, callbacks and save/load; WSRL overrides the update (``train``: random-2
target, ensemble-mean actor objective) and the warmup action choice (``_sample_action``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.sac.policies import SACPolicy
from torch import nn

from lifebot.demos.dataset import DemoDataset


class EnsembleCritic(ContinuousCritic):
    """SB3's critic with LayerNorm after every hidden layer; with ``target_subset`` set, a random subset answers."""

    def __init__(
        self,
        observation_space,
        action_space,
        net_arch,
        features_extractor,
        features_dim,
        activation_fn=nn.ReLU,
        normalize_images=True,
        n_critics=2,
        share_features_extractor=True,
    ):
        super().__init__(
            observation_space,
            action_space,
            net_arch,
            features_extractor,
            features_dim,
            activation_fn,
            normalize_images,
            n_critics,
            share_features_extractor,
        )
        action_dim = int(np.prod(action_space.shape))
        self.q_networks = []
        for index in range(n_critics):  # replaces the plain critics SB3 registered under the same names
            layers = create_mlp(
                features_dim + action_dim, 1, net_arch, activation_fn, post_linear_modules=[nn.LayerNorm]
            )
            network = nn.Sequential(*layers)
            self.add_module(f"qf{index}", network)
            self.q_networks.append(network)
        self.target_subset: int | None = None

    def forward(self, obs: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, ...]:
        with th.set_grad_enabled(not self.share_features_extractor):
            features = self.extract_features(obs, self.features_extractor)
        q_input = th.cat([features, actions], dim=1)
        networks = self.q_networks
        if self.target_subset is not None:
            chosen = th.randperm(len(networks))[: self.target_subset].tolist()
            networks = [networks[i] for i in chosen]
        return tuple(q(q_input) for q in networks)


class WSRLPolicy(SACPolicy):
    """SAC policy whose critics are an :class:`EnsembleCritic`; the target copy answers with a random 2."""

    target_subset = 2

    def make_critic(self, features_extractor=None) -> ContinuousCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return EnsembleCritic(**critic_kwargs).to(self.device)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.critic_target.target_subset = self.target_subset


@dataclass(frozen=True)
class WSRLConfig:
    n_critics: int = 10
    """Critic ensemble size (paper: 10)."""
    gradient_steps: int = 4
    """Critic (and actor) updates per environment step: the update-to-data ratio."""
    warmup_steps: int = 5000
    """Steps of pretrained-policy rollouts put in the empty online buffer before updates start (paper: 5,000)."""
    net_arch: tuple[int, ...] = (256, 256)
    """Hidden widths of actor and critics (the actor matches lifebot's BC trunk for weight transfer)."""
    learning_rate: float = 3e-4
    batch_size: int = 256
    gamma: float = 0.99
    buffer_size: int = 1_000_000
    offline_method: str = "calql"
    """``calql`` (Cal-QL: CQL with the push-down bounded below by Monte-Carlo returns) or ``cql``."""
    cql_alpha: float = 5.0
    """Weight of the conservative regulariser during offline pretraining."""
    cql_actions: int = 10
    """Random and policy actions per state in the conservative regulariser."""
    seed: int = 0
    device: str = "auto"


class WSRL(SAC):
    """SAC with WSRL's update and warmup. Build with :func:`make_wsrl`."""

    policy_aliases = {**SAC.policy_aliases, "WSRLPolicy": WSRLPolicy}

    def _sample_action(self, learning_starts, action_noise=None, n_envs=1):
        # The warmup rolls out the (pretrained) policy rather than uniform random actions.
        return super()._sample_action(0, action_noise, n_envs)

    def _entropy_step(self, log_prob: th.Tensor) -> th.Tensor:
        if self.ent_coef_optimizer is None:
            return self.ent_coef_tensor
        ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
        self.ent_coef_optimizer.zero_grad()
        ent_coef_loss.backward()
        self.ent_coef_optimizer.step()
        return th.exp(self.log_ent_coef.detach())

    def td_target(self, rewards, next_obs, dones, ent_coef) -> th.Tensor:
        """r + γ (1 − done) (min of a random 2 target critics − α log π) at the next state."""
        with th.no_grad():
            next_actions, next_log_prob = self.actor.action_log_prob(next_obs)
            next_q = th.cat(self.critic_target(next_obs, next_actions), dim=1).min(dim=1, keepdim=True).values
            next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
            return rewards + (1 - dones) * self.gamma * next_q

    def actor_step(self, obs: th.Tensor, ent_coef: th.Tensor) -> float:
        """Maximise the ensemble-mean Q minus the entropy penalty (REDQ's actor objective)."""
        actions_pi, log_prob = self.actor.action_log_prob(obs)
        q_pi = th.cat(self.critic(obs, actions_pi), dim=1).mean(dim=1, keepdim=True)
        actor_loss = (ent_coef * log_prob.reshape(-1, 1) - q_pi).mean()
        self.actor.optimizer.zero_grad()
        actor_loss.backward()
        self.actor.optimizer.step()
        return float(actor_loss.detach())

    def critic_step(self, loss: th.Tensor) -> float:
        self.critic.optimizer.zero_grad()
        loss.backward()
        self.critic.optimizer.step()
        polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
        return float(loss.detach())

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        critic_losses, actor_losses = [], []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            _, log_prob = self.actor.action_log_prob(data.observations)
            ent_coef = self._entropy_step(log_prob.reshape(-1, 1))
            target = self.td_target(data.rewards, data.next_observations, data.dones, ent_coef)
            current = self.critic(data.observations, data.actions)
            critic_losses.append(self.critic_step(0.5 * sum(F.mse_loss(q, target) for q in current)))
            actor_losses.append(self.actor_step(data.observations, ent_coef))
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/critic_loss", float(np.mean(critic_losses)))
        self.logger.record("train/actor_loss", float(np.mean(actor_losses)))


def make_wsrl(env, config: WSRLConfig, warmup: bool = True, **sac_kwargs) -> WSRL:
    """A WSRL learner for ``env`` (flat, normalised observations); ``warmup=False`` is the paper's ablation."""
    return WSRL(
        "WSRLPolicy",
        env,
        learning_rate=config.learning_rate,
        buffer_size=config.buffer_size,
        learning_starts=config.warmup_steps if warmup else 0,
        batch_size=config.batch_size,
        gamma=config.gamma,
        train_freq=1,
        gradient_steps=config.gradient_steps,
        seed=config.seed,
        device=config.device,
        policy_kwargs={"net_arch": list(config.net_arch), "n_critics": config.n_critics},
        **sac_kwargs,
    )


class SymmetricReplayBuffer(ReplayBuffer):
    """RLPD's symmetric sampling (the "offline data retained" baseline): half of every batch from the demos."""

    offline: ReplayBufferSamples | None = None

    def set_offline(self, dataset: DemoDataset) -> None:
        as_column = lambda t: t.reshape(-1, 1).to(self.device)  # noqa: E731
        self.offline = ReplayBufferSamples(
            dataset.obs.to(self.device),
            dataset.actions.to(self.device),
            dataset.next_obs.to(self.device),
            as_column(dataset.dones),
            as_column(dataset.rewards),
        )

    def sample(self, batch_size: int, env=None) -> ReplayBufferSamples:
        if self.offline is None:
            raise RuntimeError("SymmetricReplayBuffer needs set_offline(dataset) before sampling")
        online = super().sample(batch_size - batch_size // 2, env)
        index = th.randint(0, len(self.offline.observations), (batch_size // 2,), device=self.device)
        offline = [field[index] for field in self.offline[:5]]
        return ReplayBufferSamples(*(th.cat([on, off]) for on, off in zip(online[:5], offline, strict=True)))


def make_rlpd(env, config: WSRLConfig, dataset: DemoDataset, **sac_kwargs) -> WSRL:
    """The baseline that keeps the offline data: WSRL's learner sampling half of each batch from the demos."""
    model = make_wsrl(env, config, warmup=False, replay_buffer_class=SymmetricReplayBuffer, **sac_kwargs)
    model.replay_buffer.set_offline(dataset)
    return model


def returns_to_go(dataset: DemoDataset, gamma: float) -> th.Tensor:
    """Discounted Monte-Carlo return of every transition within its demonstration (Cal-QL's lower bound)."""
    rewards, dones = dataset.rewards.numpy(), dataset.dones.numpy()
    returns = np.zeros_like(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running * (1.0 - dones[t])
        returns[t] = running
    return th.from_numpy(returns)


def pretrain_offline(model: WSRL, dataset: DemoDataset, steps: int, config: WSRLConfig) -> list[float]:
    """Cal-QL / CQL pretraining of ``model``'s actor and critic ensemble on demonstration transitions."""
    if config.offline_method not in ("calql", "cql"):
        raise ValueError(f"offline_method must be 'calql' or 'cql', got {config.offline_method!r}")
    device = model.device
    mc_returns = returns_to_go(dataset, config.gamma).to(device)
    rng = np.random.default_rng(config.seed)
    action_dim = dataset.actions.shape[1]
    log_uniform_density = action_dim * np.log(0.5)  # uniform on [-1, 1]^d
    model.policy.set_training_mode(True)
    losses = []
    for _ in range(steps):
        index = th.from_numpy(rng.integers(0, len(dataset.obs), size=config.batch_size))
        obs, next_obs = dataset.obs[index].to(device), dataset.next_obs[index].to(device)
        actions = dataset.actions[index].to(device)
        rewards, dones = dataset.rewards[index].to(device)[:, None], dataset.dones[index].to(device)[:, None]
        _, log_prob = model.actor.action_log_prob(obs)
        ent_coef = model._entropy_step(log_prob.reshape(-1, 1))
        target = model.td_target(rewards, next_obs, dones, ent_coef)
        q_data = model.critic(obs, actions)
        td_loss = 0.5 * sum(F.mse_loss(q, target) for q in q_data)

        # Conservative regulariser: push down Q on random and policy actions, push up on the data's.
        n, k = len(obs), config.cql_actions
        repeated = obs.repeat_interleave(k, dim=0)
        random_actions = th.rand(n * k, action_dim, device=device) * 2 - 1
        with th.no_grad():
            pi_actions, pi_log_prob = model.actor.action_log_prob(repeated)
        q_random = th.stack(model.critic(repeated, random_actions)).view(-1, n, k) - log_uniform_density
        q_pi = th.stack(model.critic(repeated, pi_actions)).view(-1, n, k)
        if config.offline_method == "calql":  # Cal-QL: never push below the Monte-Carlo return
            q_pi = th.maximum(q_pi, mc_returns[index].to(device).view(1, n, 1))
        q_pi = q_pi - pi_log_prob.view(1, n, k)
        pushed_down = th.logsumexp(th.cat([q_random, q_pi], dim=2), dim=2)  # (critics, n)
        # Summed over critics like td_loss, so each critic gets CQL's ½ TD² + α · regulariser whatever the
        # ensemble size (a mean here would divide α by n_critics).
        conservative = (pushed_down - th.stack(q_data).squeeze(-1)).mean(dim=1).sum()
        losses.append(model.critic_step(td_loss + config.cql_alpha * conservative))
        model.actor_step(obs, ent_coef)
    return losses
