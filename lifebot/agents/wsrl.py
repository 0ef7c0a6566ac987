"""Warm-start RL (WSRL: Zhou et al., "Efficient Online Reinforcement Learning Fine-Tuning Need Not Retain
Offline Data", ICLR 2025), on stable-baselines3's SAC.

Three phases:

1. Offline pretraining of actor and critics on demonstrations with Cal-QL (or CQL): :func:`pretrain_offline`.
2. Warmup: the pretrained policy (not uniform noise) fills an empty online buffer for ``warmup_steps`` steps.
3. Online SAC on that buffer only, never sampling offline data again, with the paper's critic: an ensemble of
   ``n_critics`` (10) LayerNorm critics whose target is the minimum of a random 2, ``utd`` critic minibatches
   per environment step, then one actor update that maximises the minimum over all critics.

Every knob is a :class:`WSRLConfig` field whose default is the paper's code's, cited in its docstring, or says
why not. The CPU preset adds what docs/wsrl_probes.md measured keeps a BC offline start alive on this budget:
the actor kept at BC in pretraining (``actor_pretraining``), critic-only online updates first
(``actor_delay``), and a pull of the actor towards its online start (``actor_anchor``).
SB3 keeps the replay buffer, logging and callbacks; WSRL overrides the update (``train``) and the warmup
action choice (``_sample_action``). :class:`WSRLAgent` puts it behind lifebot's agent contract.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.sac.policies import SACPolicy
from torch import nn

from lifebot.agents.base import Agent
from lifebot.agents.bc import ACTION_DIM
from lifebot.agents.networks import ACTION_CLAMP
from lifebot.agents.transfer import NormalizedStateObservation
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.control import DEFAULT_CONTROL_MODE


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
    """SAC policy with an :class:`EnsembleCritic` (the target copy answers with a random subset), with
    ``layer_norm`` LayerNorm after every hidden layer of the actor too, and with ``actor_average`` an average of
    the actor's weights that gives the deterministic actions."""

    def __init__(self, *args, target_critics: int = 2, layer_norm: bool = True, actor_average: float = 0.0, **kwargs):
        self.target_critics, self.layer_norm, self.actor_average = target_critics, layer_norm, actor_average
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor=None):
        actor = super().make_actor(features_extractor)
        if self.layer_norm:
            kwargs = self.actor_kwargs
            layers = create_mlp(
                actor.features_dim, -1, kwargs["net_arch"], kwargs["activation_fn"], post_linear_modules=[nn.LayerNorm]
            )
            actor.latent_pi = nn.Sequential(*layers).to(self.device)
        return actor

    def make_critic(self, features_extractor=None) -> ContinuousCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return EnsembleCritic(**critic_kwargs).to(self.device)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.critic_target.target_subset = self.target_critics
        self.averaged_actor = None
        if self.actor_average > 0:
            with th.random.fork_rng(devices=[]):  # draws nothing from the run's generator: the same seed learns
                self.averaged_actor = self.make_actor()  # exactly as without the average, which only acts
            self.restart_average()
            self.averaged_actor.requires_grad_(False)

    def restart_average(self) -> None:
        """The average starts again from the actor as it is (each online phase averages its own updates)."""
        if self.averaged_actor is not None:
            self.averaged_actor.load_state_dict(self.actor.state_dict())

    def update_average(self) -> None:
        if self.averaged_actor is not None:
            polyak_update(self.actor.parameters(), self.averaged_actor.parameters(), 1.0 - self.actor_average)

    def acting_actor(self):
        """The actor whose mean action is the policy's deterministic action: the average where there is one."""
        return self.actor if self.averaged_actor is None else self.averaged_actor

    def _predict(self, observation, deterministic: bool = False):
        return (self.acting_actor() if deterministic else self.actor)(observation, deterministic)


REDUCTIONS = ("min", "mean")
ACTOR_PRETRAINING = ("calql", "bc", "none")


@dataclass(frozen=True)
class WSRLConfig:
    """WSRL's knobs. Defaults follow the paper's code (github.com/zhouzypaul/wsrl, cited per field) unless the
    docstring says why not; ``policies/wsrl_paper.yaml`` and ``policies/wsrl_cpu.yaml`` are the two presets."""

    n_critics: int = 10
    """Critic ensemble size (``experiments/configs/wsrl_config.py``: ``critic_ensemble_size = 10``)."""
    target_critics: int = 2
    """Target critics whose minimum is the TD target, drawn at random per update (``critic_subsample_size = 2``)."""
    actor_reduction: str = "min"
    """How the actor reduces the ensemble: ``min`` over all critics (``wsrl/agents/sac.py``, ``policy_loss_fn``:
    ``predicted_qs.min(axis=0)``) or ``mean`` (REDQ's)."""
    backup_entropy: bool = False
    """Subtract α log π in the TD target (``experiments/configs/sac_config.py``: ``backup_entropy = False``)."""
    layer_norm: bool = True
    """LayerNorm on actor and critic hidden layers (``wsrl_config.py``: ``use_layer_norm = True`` for both)."""
    actor_learning_rate: float = 1e-4
    """Actor Adam step size (``sac_config.py``: ``actor_optimizer_kwargs.learning_rate = 1e-4``)."""
    critic_learning_rate: float = 3e-4
    """Critic Adam step size (``sac_config.py``: ``critic_optimizer_kwargs.learning_rate = 3e-4``)."""
    temperature_learning_rate: float = 1e-4
    """Temperature Adam step size (``sac_config.py``: ``temperature_optimizer_kwargs.learning_rate = 1e-4``)."""
    initial_temperature: float = 1.0
    """Initial SAC temperature α (``sac_config.py``: ``temperature_init = 1.0``). With
    ``temperature_learning_rate: 0`` it stays fixed."""
    target_entropy: float | None = None
    """Entropy the temperature is tuned towards; ``None`` is SB3's −dim(A). (Not checked against the paper's
    ``sac_config.py`` here: jaxrl_m-style SAC agents, which the paper's code builds on, default to
    ``-action_dim / 2``.)"""
    actor_pretraining: str = "calql"
    """What the actor does in offline pretraining: ``calql`` (maximise the Cal-QL critic: the paper's code),
    ``bc`` (maximise the demonstrations' log-likelihood, while the critics learn the value of that policy with
    Cal-QL's regulariser) or ``none`` (the actor is left as it is, e.g. copied from a BC agent)."""
    imitation_learning_rate: float = 1e-3
    """Actor Adam step size while ``actor_pretraining: bc`` imitates the demonstrations: BC's own
    (``policies/bc.yaml``), under which BC reaches 0.9-1.0 on PickRedCubeLift from 50 demos. At the online
    actor's 1e-4, the lifelong runner's 1,000 pretraining steps per task left the actor at 0 success on every
    task (``docs/lifelong/goal_wsrl``). The paper's code has no imitation stage."""
    exploration_std_scale: float = 1.0
    """Online rollouts (warmup included) sample tanh(μ + scale · σ · ε): 1 is SAC's own policy (the paper's);
    below 1 explores closer to the mean action, which on lifebot's tasks succeeds far more often than the
    sampled policy (PickRedCubeLift: 35 % deterministic, 1 success in 10 sampled episodes), so the critic sees
    rewards at all. Learning is unchanged (SAC is off-policy)."""
    success_imitation: float = 0.0
    """Weight of the negative log-likelihood of the actions of this online phase's own successful episodes in
    the actor loss, scaled by mean |Q| as ``actor_anchor`` is (self-imitation; no offline data). The paper's
    code has none (0). Why it exists: with a few successes per thousand steps the critic's action-gradient
    carries little about success (docs/wsrl_probes.md), while the successful rollouts themselves are new
    demonstrations of the task."""
    actor_after_success: bool = False
    """Hold the actor (and temperature) until this online phase has stored a successful episode, warmup
    included; the critics learn from the first update. The paper's code has no such gate (False). Why: a critic
    that has seen no reward has an action-gradient that says nothing about success, yet following it took
    PickRedCubeLift seed 2 from 0.20 to 0.10 in 6,000 steps without one success (docs/wsrl_probes.md)."""
    online_horizon: int = 0
    """Online rollouts (warmup included) are cut (truncated, not terminal: SB3 bootstraps through the cut) after
    this many steps; 0 keeps the task's own horizon (the paper's code keeps the environment's). Why: lifebot's
    horizons (200-300 steps) are 4-7x a demonstration's steps to success, so a failing rollout spends a whole
    horizon where a success takes ~50 steps, and the online budget buys few episodes and fewer successes.
    Evaluation always runs the task's horizon. Measured at 100 (docs/wsrl_finetune.md, PickRedCubeLift): 67-71
    episodes in 6,000 steps instead of 42 but not more successes, and a lower end; so the presets leave it 0."""
    actor_average: float = 0.0
    """Decay of an exponential moving average of the actor's weights over each online phase's actor updates,
    which gives the deterministic action (evaluation, checkpoints' acting policy); rollouts sample from the actor
    itself. 0: no average (the paper's code has none). Why: lifebot's BC-family agents act with such an average
    (``ema_decay``), which took the long suite's chunking card from 0.51 to 0.72 (docs/baseline_probes.md), and
    WSRL's deterministic success swings by 0.2-0.4 between evaluations 1,000 steps apart. Measured at 0.999
    (docs/wsrl_finetune.md, 15 runs paired on the same trajectories): the end moves by -0.033 [-0.090, +0.017],
    the average lagging the actor's gains as often as it smooths a dip; so the presets leave it off."""
    actor_delay: int = 0
    """Online updates, after the warmup, that train the critics only; the actor and temperature start after
    them (the paper's code: 0; its warmup alone re-fits the critic to the policy's own rollouts)."""
    utd: int = 4
    """Update-to-data ratio: per environment step the batch is split into ``utd`` critic minibatches, then one
    actor and temperature update on the whole batch (``launch_wsrl_finetune.sh``: ``--utd 4``;
    ``SACAgent.update_high_utd``)."""
    batch_size: int = 1024
    """Online batch per environment step, ``utd`` critic minibatches of ``batch_size / utd``
    (``launch_wsrl_finetune.sh``: ``--batch_size 1024``)."""
    warmup_steps: int = 5000
    """Online steps of pretrained-policy rollouts into the empty buffer before updates start, counted in the
    online steps (``launch_wsrl_finetune.sh``: ``--warmup_steps 5000``)."""
    reward_scale: float = 10.0
    """Rewards become ``r * reward_scale + reward_bias`` for learning (``wsrl/envs/wrappers/reward_scale.py``).
    The paper's binary tasks map to {−5, +5}: Adroit (rewards {−1, 0}) with ×10 +5, AntMaze (rewards {0, 1})
    with ×10 −5. lifebot's sparse reward is {0, 1}, so AntMaze's scale and bias give the paper's {−5, +5}."""
    reward_bias: float = -5.0
    """See ``reward_scale`` (AntMaze's ``--reward_bias -5.0``; Adroit's +5 is for rewards in {−1, 0})."""
    net_arch: tuple[int, ...] = (256, 256)
    """Hidden widths of actor and critics (``sac_config.py``: ``hidden_dims = [256, 256]``; the Adroit config
    uses 512-wide nets, the GPU preset's choice)."""
    gamma: float = 0.99
    """Discount (``sac_config.py``: ``discount = 0.99``)."""
    tau: float = 0.005
    """Polyak rate of the target critics after every critic update (``soft_target_update_rate = 5e-3``)."""
    buffer_size: int = 1_000_000
    """Online replay capacity (``finetune.py``: ``replay_buffer_capacity``); empty at the start of each online
    phase (WSRL keeps no offline data)."""
    offline_method: str = "calql"
    """Offline pretraining: ``calql`` (CQL with the push-down bounded below by Monte-Carlo returns; the paper's
    WSRL starts from Cal-QL) or ``cql``."""
    actor_anchor: float = 0.0
    """Weight of a pull of the actor's mean action towards the one it had when the online phase began, on the
    online batch's states (no offline data): ``actor_anchor · mean|Q| · ‖tanh μ − tanh μ₀‖²`` is added to the
    actor loss, TD3+BC's scaling (its α = 2.5 is an anchor of 0.4). The paper's code has none (0); see
    docs/wsrl_probes.md for why the CPU preset uses one."""
    offline_until_success: bool = True
    """Offline transitions end at each demonstration's first rewarded step, made terminal there: lifebot's
    episodes terminate when the goal first holds, while its demonstrations go on holding it (PickRedCubeLift,
    10 demos: reward on the last 31 of ~55 steps), so without the cut Monte-Carlo returns and TD targets
    credit success with ~31 rewards offline and one online (the paper's D4RL data has no such mismatch; see
    docs/wsrl_probes.md)."""
    pretrain_batch_size: int = 256
    """Batch of each offline (Cal-QL) step (``finetune.py``'s default ``--batch_size 256`` for Cal-QL runs)."""
    pretrain_steps: int = 20_000
    """Offline gradient steps per call to ``learn`` (``launch_calql_finetune.sh`` for Adroit: 20,000)."""
    cql_alpha: float = 5.0
    """Weight of the conservative regulariser (``cql_config.py``: ``cql_alpha = 5.0``; Adroit uses 1.0)."""
    cql_actions: int = 10
    """Random and policy actions per state in the conservative regulariser (``cql_n_actions = 10``)."""
    seed: int = 0
    """Seeds initialisation, minibatches and each online phase's rollouts."""
    device: str = "auto"
    """``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self):
        checks = {
            "actor_reduction": (self.actor_reduction in REDUCTIONS, f"one of {REDUCTIONS}"),
            "offline_method": (self.offline_method in ("calql", "cql"), "'calql' or 'cql'"),
            "target_critics": (1 <= self.target_critics <= self.n_critics, "between 1 and n_critics"),
            "utd": (self.utd >= 1 and self.batch_size % self.utd == 0, "at least 1 and divide batch_size"),
            "actor_pretraining": (self.actor_pretraining in ACTOR_PRETRAINING, f"one of {ACTOR_PRETRAINING}"),
            "actor_delay": (self.actor_delay >= 0, "at least 0"),
            "exploration_std_scale": (self.exploration_std_scale > 0, "above 0"),
            "success_imitation": (self.success_imitation >= 0, "at least 0"),
            "actor_average": (0 <= self.actor_average < 1, "in [0, 1)"),
            "online_horizon": (self.online_horizon >= 0, "at least 0 (0: the task's horizon)"),
        }
        for name, (ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"wsrl config: {name} must be {expected}, got {getattr(self, name)!r}")


def actor_nll(actor, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
    """Negative log-likelihood of ``actions`` under SB3's tanh-Gaussian actor."""
    mean, log_std, _ = actor.get_action_dist_params(obs)
    distribution = actor.action_dist.proba_distribution(mean, log_std)
    return -distribution.log_prob(actions.clamp(-ACTION_CLAMP, ACTION_CLAMP)).mean()


class WSRL(SAC):
    """SAC with WSRL's update and warmup. Build with :func:`make_wsrl`."""

    policy_aliases = {**SAC.policy_aliases, "WSRLPolicy": WSRLPolicy}

    def __init__(self, *args, wsrl_config: WSRLConfig, **kwargs):
        self.wsrl = wsrl_config
        self.critic_losses: list[float] = []  # one per online update (the mean over its critic minibatches)
        super().__init__(*args, **kwargs)
        for optimizer, lr in (
            (self.actor.optimizer, wsrl_config.actor_learning_rate),
            (self.critic.optimizer, wsrl_config.critic_learning_rate),
            (self.ent_coef_optimizer, wsrl_config.temperature_learning_rate),
        ):
            set_learning_rate(optimizer, lr)

    anchor = None  # the actor at the start of the online phase (``actor_anchor``)

    def _setup_learn(self, *args, **kwargs):
        self.anchor = None  # each online phase anchors to the actor it starts from
        self.policy.restart_average()
        self.episode_rows: list[int] = []  # buffer rows of the episode under way
        self.success_rows: list[int] = []  # buffer rows of this phase's successful episodes (``success_imitation``)
        return super()._setup_learn(*args, **kwargs)

    def _store_transition(self, replay_buffer, buffer_action, new_obs, reward, dones, infos) -> None:
        self.episode_rows.append(replay_buffer.pos)  # one environment: the row this transition goes to
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)
        if dones[0]:
            if infos[0].get("success"):
                self.success_rows.extend(self.episode_rows)
            self.episode_rows = []

    def _sample_action(self, learning_starts, action_noise=None, n_envs=1):
        # The warmup rolls out the (pretrained) policy rather than uniform random actions.
        scale = self.wsrl.exploration_std_scale
        if scale == 1.0:
            return super()._sample_action(0, action_noise, n_envs)
        obs, _ = self.policy.obs_to_tensor(self._last_obs)
        with th.no_grad():
            mean, log_std, _ = self.actor.get_action_dist_params(obs)
            scaled = th.tanh(mean + scale * log_std.exp() * th.randn_like(mean)).cpu().numpy()
        return self.policy.unscale_action(scaled), scaled

    def scaled(self, rewards: th.Tensor) -> th.Tensor:
        return rewards * self.wsrl.reward_scale + self.wsrl.reward_bias

    def temperature_step(self, obs: th.Tensor) -> th.Tensor:
        with th.no_grad():
            _, log_prob = self.actor.action_log_prob(obs)
        loss = -(self.log_ent_coef * (log_prob.reshape(-1, 1) + self.target_entropy)).mean()
        self.ent_coef_optimizer.zero_grad()
        loss.backward()
        self.ent_coef_optimizer.step()
        return th.exp(self.log_ent_coef.detach())

    def td_target(self, rewards, next_obs, dones) -> th.Tensor:
        """scaled r + γ (1 − done) · min of a random ``target_critics`` target critics at the next state's
        policy action (minus α log π only with ``backup_entropy``)."""
        with th.no_grad():
            next_actions, next_log_prob = self.actor.action_log_prob(next_obs)
            next_q = th.cat(self.critic_target(next_obs, next_actions), dim=1).min(dim=1, keepdim=True).values
            if self.wsrl.backup_entropy:
                next_q = next_q - th.exp(self.log_ent_coef) * next_log_prob.reshape(-1, 1)
            return self.scaled(rewards) + (1 - dones) * self.gamma * next_q

    def actor_step(self, obs: th.Tensor, regularizer=None) -> float:
        """Maximise the ensemble's ``actor_reduction`` of Q minus α log π (then the temperature's step)."""
        ent_coef = th.exp(self.log_ent_coef.detach())
        if self.wsrl.actor_anchor > 0 and self.anchor is None:  # the actor as the online phase found it
            self.anchor = self.policy.make_actor()
            self.anchor.load_state_dict(self.actor.state_dict())
            self.anchor.requires_grad_(False)
        actions_pi, log_prob = self.actor.action_log_prob(obs)
        q_all = th.cat(self.critic(obs, actions_pi), dim=1)
        q_pi = q_all.min(dim=1).values if self.wsrl.actor_reduction == "min" else q_all.mean(dim=1)
        actor_loss = (ent_coef * log_prob - q_pi).mean()
        if self.wsrl.actor_anchor > 0:
            with th.no_grad():
                anchor_actions = self.anchor(obs, deterministic=True)
            pull = (self.actor(obs, deterministic=True) - anchor_actions).pow(2).sum(dim=1).mean()
            actor_loss = actor_loss + self.wsrl.actor_anchor * q_pi.abs().mean().detach() * pull
        if self.wsrl.success_imitation > 0 and self.success_rows:
            rows = self.success_rows
            pick = [rows[i] for i in np.random.randint(0, len(rows), size=min(len(obs), len(rows)))]
            own_obs = th.as_tensor(self.replay_buffer.observations[pick, 0], device=self.device)
            own_actions = th.as_tensor(self.replay_buffer.actions[pick, 0], device=self.device)
            nll = actor_nll(self.actor, own_obs, own_actions)
            actor_loss = actor_loss + self.wsrl.success_imitation * q_pi.abs().mean().detach() * nll
        if regularizer is not None:
            actor_loss = actor_loss + regularizer()
        self.actor.optimizer.zero_grad()
        actor_loss.backward()
        self.actor.optimizer.step()
        self.policy.update_average()
        self.temperature_step(obs)
        return float(actor_loss.detach())

    def imitation_step(self, obs: th.Tensor, actions: th.Tensor, regularizer=None) -> float:
        """One actor step on the negative log-likelihood of ``actions`` (``actor_pretraining: bc``)."""
        loss = actor_nll(self.actor, obs, actions)
        if regularizer is not None:
            loss = loss + regularizer()
        self.actor.optimizer.zero_grad()
        loss.backward()
        self.actor.optimizer.step()
        return float(loss.detach())

    def critic_step(self, loss: th.Tensor) -> float:
        self.critic.optimizer.zero_grad()
        loss.backward()
        self.critic.optimizer.step()
        polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
        return float(loss.detach())

    def td_loss(self, data: ReplayBufferSamples) -> th.Tensor:
        """Each critic's mean squared TD error, summed (``sac.py``, ``critic_loss_fn``: the squared error, no ½;
        the sum over critics only scales each critic's own gradient, which Adam ignores)."""
        target = self.td_target(data.rewards, data.next_observations, data.dones)
        return sum(F.mse_loss(q, target) for q in self.critic(data.observations, data.actions))

    def actor_may_update(self) -> bool:
        """Past the warmup and ``actor_delay``, and (with ``actor_after_success``) after a stored success."""
        delayed = self.num_timesteps > self.learning_starts + self.wsrl.actor_delay
        return delayed and (not self.wsrl.actor_after_success or bool(self.success_rows))

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """Per call (one environment step): ``utd`` critic updates on minibatches of one sampled batch, then one
        actor and temperature update on the whole batch (the paper's ``update_high_utd``)."""
        self.policy.set_training_mode(True)
        critic_losses, actor_losses = [], []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            for part in th.chunk(th.arange(batch_size, device=self.device), self.wsrl.utd):
                minibatch = ReplayBufferSamples(*(column[part] for column in data[:5]))
                critic_losses.append(self.critic_step(self.td_loss(minibatch)))
            if self.actor_may_update():
                actor_losses.append(self.actor_step(data.observations))
        self._n_updates += gradient_steps
        self.critic_losses.append(float(np.mean(critic_losses)))
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/critic_loss", float(np.mean(critic_losses)))
        if actor_losses:
            self.logger.record("train/actor_loss", float(np.mean(actor_losses)))


def rollout_env(env: gym.Env, config: WSRLConfig) -> gym.Env:
    """``env`` as online rollouts see it: cut at ``online_horizon`` steps where one is set."""
    return gym.wrappers.TimeLimit(env, config.online_horizon) if config.online_horizon else env


def make_wsrl(env, config: WSRLConfig, warmup: bool = True, **sac_kwargs) -> WSRL:
    """A WSRL learner for ``env`` (flat, normalised observations); ``warmup=False`` is the paper's ablation."""
    return WSRL(
        "WSRLPolicy",
        rollout_env(env, config),
        wsrl_config=config,
        learning_rate=config.critic_learning_rate,
        buffer_size=config.buffer_size,
        learning_starts=config.warmup_steps if warmup else 0,
        batch_size=config.batch_size,
        tau=config.tau,
        gamma=config.gamma,
        train_freq=1,
        gradient_steps=1,
        ent_coef=f"auto_{config.initial_temperature}",
        target_entropy="auto" if config.target_entropy is None else float(config.target_entropy),
        seed=config.seed,
        device=config.device,
        policy_kwargs={
            "net_arch": list(config.net_arch),
            "n_critics": config.n_critics,
            "target_critics": config.target_critics,
            "layer_norm": config.layer_norm,
            "actor_average": config.actor_average,
        },
        **sac_kwargs,
    )


def rl_fields(data, index=None) -> ReplayBufferSamples:
    """(obs, actions, next obs, dones, rewards) of offline transitions (``extras`` holds the last three)."""
    pick = (lambda t: t) if index is None else (lambda t: t[index])  # noqa: E731
    extras = data.extras
    return ReplayBufferSamples(
        pick(data.obs),
        pick(data.actions),
        pick(extras["next_obs"]),
        pick(extras["dones"]).reshape(-1, 1),
        pick(extras["rewards"]).reshape(-1, 1),
    )


class SymmetricReplayBuffer(ReplayBuffer):
    """RLPD's symmetric sampling (offline data retained): half of every batch from offline transitions."""

    offline: ReplayBufferSamples | None = None

    def set_offline(self, data) -> None:
        self.offline = ReplayBufferSamples(*(field.to(self.device) for field in rl_fields(data)[:5]))

    def sample(self, batch_size: int, env=None) -> ReplayBufferSamples:
        if self.offline is None:
            raise RuntimeError("SymmetricReplayBuffer needs set_offline(data) before sampling")
        online = super().sample(batch_size - batch_size // 2, env)
        index = th.randint(0, len(self.offline.observations), (batch_size // 2,), device=self.device)
        offline = [field[index] for field in self.offline[:5]]
        return ReplayBufferSamples(*(th.cat([on, off]) for on, off in zip(online[:5], offline, strict=True)))


def returns_to_go(rewards: th.Tensor, dones: th.Tensor, config: WSRLConfig) -> th.Tensor:
    """Discounted Monte-Carlo return of the scaled reward from every transition to its demonstration's end
    (Cal-QL's lower bound); demonstrations are consecutive rows, each ending with ``done``."""
    scaled, dones = (rewards.numpy() * config.reward_scale + config.reward_bias), dones.numpy()
    returns = np.zeros_like(scaled)
    running = 0.0
    for t in range(len(scaled) - 1, -1, -1):
        running = scaled[t] + config.gamma * running * (1.0 - dones[t])
        returns[t] = running
    return th.from_numpy(returns)


@dataclass
class OfflineTransitions:
    """Demonstration transitions as WSRL learns from them: ``extras`` adds next obs, rewards, dones, returns."""

    obs: th.Tensor
    actions: th.Tensor
    extras: dict[str, th.Tensor]
    images: dict[str, th.Tensor] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset: DemoDataset, config: WSRLConfig) -> OfflineTransitions:
        rows, dones = th.arange(len(dataset.obs)), dataset.dones.clone()
        if config.offline_until_success:
            rows, dones = until_success(dataset.rewards, dataset.dones)
        rewards = dataset.rewards[rows]
        extras = {"next_obs": dataset.next_obs[rows], "rewards": rewards, "dones": dones}
        extras["returns"] = returns_to_go(rewards, dones, config)
        return cls(dataset.obs[rows], dataset.actions[rows], extras)


def until_success(rewards: th.Tensor, dones: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """Rows of each demonstration (consecutive rows, each ending with ``done``) up to its first rewarded step,
    and their dones with that step terminal."""
    keep, new_dones, cut = [], [], False
    for row, (reward, done) in enumerate(zip(rewards.tolist(), dones.tolist(), strict=True)):
        if not cut:
            keep.append(row)
            new_dones.append(1.0 if (reward > 0 or done) else 0.0)
            cut = reward > 0
        if done:
            cut = False
    return th.tensor(keep), th.tensor(new_dones, dtype=dones.dtype)


def pretrain_offline(model: WSRL, data, steps: int, rng: np.random.Generator, regularizer=None) -> list[float]:
    """Cal-QL / CQL pretraining of ``model``'s actor and critic ensemble on offline transitions (with
    ``extras``: :class:`OfflineTransitions`); one critic and (``actor_pretraining``) one actor update per step.
    Returns critic losses."""
    config = model.wsrl
    model.policy.set_training_mode(True)
    if config.actor_pretraining == "bc":
        set_learning_rate(model.actor.optimizer, config.imitation_learning_rate)
    try:
        return calql_steps(model, data, steps, rng, regularizer)
    finally:
        set_learning_rate(model.actor.optimizer, config.actor_learning_rate)


def set_learning_rate(optimizer: th.optim.Optimizer, learning_rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = learning_rate


def calql_steps(model: WSRL, data, steps: int, rng: np.random.Generator, regularizer=None) -> list[float]:
    config, device = model.wsrl, model.device
    action_dim = data.actions.shape[1]
    log_uniform_density = action_dim * np.log(0.5)  # uniform on [-1, 1]^d
    losses = []
    for _ in range(steps):
        index = th.from_numpy(rng.integers(0, len(data.obs), size=config.pretrain_batch_size))
        batch = ReplayBufferSamples(*(f.to(device) for f in rl_fields(data, index)[:5]))
        obs = batch.observations
        td_loss = model.td_loss(batch)

        # Conservative regulariser: push down Q on random and policy actions, push up on the data's.
        n, k = len(obs), config.cql_actions
        repeated = obs.repeat_interleave(k, dim=0)
        random_actions = th.rand(n * k, action_dim, device=device) * 2 - 1
        with th.no_grad():
            pi_actions, pi_log_prob = model.actor.action_log_prob(repeated)
        q_random = th.stack(model.critic(repeated, random_actions)).view(-1, n, k) - log_uniform_density
        q_pi = th.stack(model.critic(repeated, pi_actions)).view(-1, n, k)
        if config.offline_method == "calql":  # Cal-QL: never push below the Monte-Carlo return
            q_pi = th.maximum(q_pi, data.extras["returns"][index].to(device).view(1, n, 1))
        q_pi = q_pi - pi_log_prob.view(1, n, k)
        pushed_down = th.logsumexp(th.cat([q_random, q_pi], dim=2), dim=2)  # (critics, n)
        q_data = th.stack(model.critic(obs, batch.actions)).squeeze(-1)
        # Summed over critics like the TD loss, so each critic gets CQL's TD² + α · regulariser whatever the
        # ensemble size (a mean here would divide α by n_critics).
        conservative = (pushed_down - q_data).mean(dim=1).sum()
        losses.append(model.critic_step(td_loss + config.cql_alpha * conservative))
        if config.actor_pretraining == "calql":
            model.actor_step(obs, regularizer)
        elif config.actor_pretraining == "bc":
            model.imitation_step(obs, batch.actions, regularizer)
    return losses


class SpacesOnly(gym.Env):
    """An environment that only has spaces: SB3 builds the learner from it before any real task exists."""

    def __init__(self, obs_dim: int):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(obs_dim,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(ACTION_DIM,), dtype=np.float32)

    def step(self, action):
        raise RuntimeError("WSRLAgent steps an environment only inside learn_online(env, ...)")

    def reset(self, *, seed=None, options=None):
        raise RuntimeError("WSRLAgent steps an environment only inside learn_online(env, ...)")


class ActorPolicy(nn.Module):
    """The contract's ``policy`` for WSRL: SB3's actor, and the imitation loss (negative log-likelihood of
    actions) that a regulariser's importance weights come from."""

    image_keys = ()

    def __init__(self, actor):
        super().__init__()
        self.actor = actor

    def loss(self, obs: th.Tensor, actions: th.Tensor, images=None) -> th.Tensor:
        return actor_nll(self.actor, obs, actions)

    def act(self, obs: th.Tensor, deterministic: bool = True, images=None) -> th.Tensor:
        return self.actor(obs, deterministic=deterministic)


class _Evaluations(BaseCallback):
    """Calls ``evaluate(step)`` at the online steps of ``points``, after that step's updates."""

    def __init__(self, points, evaluate):
        super().__init__()
        self.points, self.evaluate = set(points), evaluate
        self.done: set[int] = set()

    def measure(self) -> None:
        if self.evaluate is not None and self.num_timesteps in self.points - self.done:
            self.done.add(self.num_timesteps)
            self.evaluate(self.num_timesteps)

    def _on_rollout_start(self) -> None:  # SB3 trains at the end of each step's rollout: updates included
        self.measure()

    def _on_step(self) -> bool:
        return True


class WSRLAgent(Agent):
    """WSRL through the agent contract: ``learn`` is Cal-QL pretraining on demonstrations, ``learn_online``
    the warmup and online fine-tuning on an empty buffer (or, given ``offline``, half of every batch from it)."""

    name = "wsrl"
    config_class = WSRLConfig
    online = True
    default_config = "wsrl_cpu.yaml"

    def __init__(self, config: WSRLConfig, obs_dim: int, normalizer, control_mode: str = DEFAULT_CONTROL_MODE):
        super().__init__(config, obs_dim, normalizer, control_mode)
        self.model = make_wsrl(SpacesOnly(obs_dim), dataclasses.replace(config, device=str(self.device)))
        self.policy = ActorPolicy(self.model.actor)
        averaged = self.model.policy.averaged_actor
        self.averaged_policy = None if averaged is None else ActorPolicy(averaged)
        self.online_steps = self.online_phases = 0
        self.offline_draws = 0  # offline transitions sampled by online updates (RLPD-style retention only)

    @property
    def acting_policy(self) -> nn.Module:
        return self.policy if self.averaged_policy is None else self.averaged_policy

    def load_policy(self, state: dict) -> None:
        super().load_policy(state)
        self.model.policy.restart_average()

    def transitions(self, dataset: DemoDataset) -> OfflineTransitions:
        return OfflineTransitions.of(dataset, self.config)

    def learn(self, data, steps=None, progress=False, regularizer=None) -> list[float]:
        losses = pretrain_offline(
            self.model, data, self.config.pretrain_steps if steps is None else steps, self.rng, regularizer
        )
        self.gradient_steps += len(losses)
        return losses

    def learn_online(self, env, steps, eval_points=(), evaluate=None, offline=None, warmup: bool = True):
        """``steps`` online steps in ``env`` (dict observations; its reward is what is learned), the first
        ``warmup_steps`` of them pretrained-policy rollouts without updates. Every phase draws its rollouts
        and minibatches from a seed of (config seed, phase index), so a resumed run repeats it exactly."""
        model, config = self.model, self.config
        model.set_env(rollout_env(NormalizedStateObservation(env, self.normalizer), config))
        model.learning_starts = config.warmup_steps if warmup else 0
        buffer_class = ReplayBuffer if offline is None else SymmetricReplayBuffer
        model.replay_buffer = buffer_class(
            min(config.buffer_size, max(steps, 1)), model.observation_space, model.action_space, device=model.device
        )
        if offline is not None:
            model.replay_buffer.set_offline(offline)
        model.set_random_seed(int(np.random.SeedSequence([config.seed, self.online_phases]).generate_state(1)[0]))
        first_update = len(model.critic_losses)
        callback = _Evaluations(eval_points, evaluate)
        model.learn(total_timesteps=steps, callback=callback, reset_num_timesteps=True)
        callback.measure()  # the last point, after the last step's updates
        self.online_steps += steps
        self.online_phases += 1
        return list(model.critic_losses[first_update:])

    def state_dict(self) -> dict:
        model = self.model
        return {
            "sb3_policy": model.policy.state_dict(),
            "actor_optimizer": model.actor.optimizer.state_dict(),
            "critic_optimizer": model.critic.optimizer.state_dict(),
            "log_ent_coef": model.log_ent_coef.detach().cpu().clone(),
            "ent_coef_optimizer": model.ent_coef_optimizer.state_dict(),
            "online_steps": self.online_steps,
            "online_phases": self.online_phases,
        }

    def load_state_dict(self, state: dict) -> None:
        model = self.model
        model.policy.load_state_dict(state["sb3_policy"])
        model.actor.optimizer.load_state_dict(state["actor_optimizer"])
        model.critic.optimizer.load_state_dict(state["critic_optimizer"])
        with th.no_grad():
            model.log_ent_coef.copy_(state["log_ent_coef"])
        model.ent_coef_optimizer.load_state_dict(state["ent_coef_optimizer"])
        self.online_steps, self.online_phases = int(state["online_steps"]), int(state["online_phases"])


def make_rlpd(env, config: WSRLConfig, offline, **sac_kwargs) -> WSRL:
    """The baseline that keeps the offline data: WSRL's learner sampling half of each batch from ``offline``
    (:class:`OfflineTransitions`)."""
    model = make_wsrl(env, config, warmup=False, replay_buffer_class=SymmetricReplayBuffer, **sac_kwargs)
    model.replay_buffer.set_offline(offline)
    return model
