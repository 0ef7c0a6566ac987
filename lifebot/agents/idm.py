"""A pretrained encoder under a behaviour-cloning policy (Brandfonbrener, Nachum and Bruna, NeurIPS 2023).

An encoder φ sees part of the state (``encoder_input``); the policy is an MLP on φ(o) and the rest of the
state, then an action head. ``pretrain`` trains φ on a multitask pool with one of :data:`OBJECTIVES`, each with a
head of its own (so the policy head starts fresh on the target task whatever the objective):

- ``inverse_dynamics``: predict a_t from (φ(o_t), φ(o_{t+gap})), one encoder on both frames (the paper's);
- ``multitask_bc``: predict a_t from (φ(o_t), the rest of o_t) on every pool task (BC pretraining);
- ``none``: nothing: training from scratch, φ learnt with the policy (the baseline of the same shape).

``learn`` then trains the policy on a few demonstrations of a new task with φ frozen (``freeze_encoder``, the
paper's protocol) or fine-tuned.

Why ``encoder_input`` defaults to ``no_proprio``: on the full state a_t is nearly a function of the robot's own
proprioception, so the inverse-dynamics loss falls to ~0 by learning the robot and dropping the objects (issue
16's measurement). ``no_proprio`` masks the proprioception: the arm's motion then shows only through each
object's position relative to the end effector, so explaining the action means encoding where the objects are
relative to the gripper, which is what a policy needs. ``objects`` (the objects' own poses, nothing of the
robot) explains an action only when an object moves with the gripper. docs/idm_vs_scratch.md: at 10 demos,
frozen, inverse dynamics on ``no_proprio`` reaches 0.50, on ``objects`` 0.31. The proprioception reaches the
policy beside φ. ``images`` is the paper's setting: φ sees the cameras (``observation: image``, demos recorded
with images); the frame ``gap`` steps later is the demonstration's own later image, so a demo's last ``gap``
steps have no inverse-dynamics pair.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import torch
from torch import nn
from tqdm import tqdm

from lifebot.agents.bc import ACTION_DIM, BCAgent, BCConfig, BCPolicy, state_columns
from lifebot.agents.networks import mlp
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.control import DEFAULT_CONTROL_MODE
from lifebot.envs.observations import SLOT_EEF_RELATIVE, SLOT_SIZE, STATE_KEYS
from lifebot.registry import Registry

ENCODER_INPUTS = ("objects", "no_proprio", "state", "images")
ENCODER_MODULES = ("trunk", "encoders")  # φ's modules: frozen, copied by load_encoder


def encoder_columns(encoder_input: str, obs_dim: int) -> list[int]:
    """Columns of the flat state (:func:`~lifebot.demos.dataset.flatten_state`) that the encoder sees.

    ``no_proprio``: objects (end-effector-relative positions included) and task encoding, the proprioception
    masked, so the arm shows only relative to the objects; ``objects``: every object slot without its
    end-effector-relative position (no robot, no task encoding); ``state``: everything (the encoder is then
    exactly BC's trunk); ``images``: no column (φ sees the cameras).
    """
    if encoder_input == "images":
        return []
    if encoder_input == "state":
        return list(range(obs_dim))
    if obs_dim != len(state_columns(STATE_KEYS)):
        raise ValueError(f"encoder_input {encoder_input!r} needs the full {len(state_columns(STATE_KEYS))}-dim state")
    if encoder_input == "no_proprio":
        return state_columns(("objects", "task"))
    objects = state_columns(("objects",))
    return [c for i, c in enumerate(objects) if i % SLOT_SIZE not in SLOT_EEF_RELATIVE]


@dataclass(frozen=True)
class IDMConfig(BCConfig):
    objective: str = "inverse_dynamics"
    """What ``pretrain`` trains the encoder on: ``inverse_dynamics``, ``multitask_bc`` or ``none`` (scratch)."""
    encoder_input: str = "no_proprio"
    """What the encoder sees (:func:`encoder_columns`): ``no_proprio`` (the default: the state without the
    robot's proprioception, so inverse dynamics cannot read the action off the arm's own joints and has to
    encode the objects relative to the gripper), ``objects``, ``state`` or ``images`` (the ``image_keys``
    cameras, with ``observation: image``; proprioception and task encoding go beside φ); the columns it does
    not see go to the policy beside it."""
    gap: int = 1
    """Inverse dynamics predicts a_t from o_t and o_{t+gap} (1: the next step; larger: multi-step inverse)."""
    policy_hidden: tuple[int, ...] = (256,)
    """Hidden widths of the policy MLP on (φ(o), the columns φ does not see); [] puts the action head on φ."""
    idm_steps: int = 5000
    """Gradient steps of pretraining per call to ``pretrain`` (whatever the objective)."""
    idm_hidden: tuple[int, ...] = (256,)
    """Hidden widths of the pretraining objective's head (discarded after pretraining)."""
    freeze_encoder: bool = True
    """Keep φ fixed while the policy learns (the paper's protocol); False fine-tunes it with the policy."""

    def __post_init__(self):
        super().__post_init__()
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}, got {self.objective!r}")
        if self.encoder_input not in ENCODER_INPUTS:
            raise ValueError(f"encoder_input must be one of {ENCODER_INPUTS}, got {self.encoder_input!r}")
        if (self.observation == "image") != (self.encoder_input == "images"):
            raise ValueError(
                f"encoder_input {self.encoder_input!r} with observation {self.observation!r}: an encoder on "
                "images needs observation image, and an image policy needs encoder_input images"
            )
        if self.gap < 1:
            raise ValueError(f"gap must be at least 1, got {self.gap}")
        if self.objective == "none" and self.freeze_encoder:
            raise ValueError(
                "objective none trains no encoder: freezing it learns on random features; set freeze_encoder false"
            )


class EncoderPolicy(BCPolicy):
    """φ(the encoder's columns, or cameras) ++ the other columns -> MLP (``policy_hidden``) -> action head.

    φ is ``trunk`` (BC's trunk layout on fewer inputs), after one camera encoder per ``image_keys`` camera for
    ``encoder_input: images``. With ``encoder_input: state`` and no ``policy_hidden`` this is exactly
    :class:`BCPolicy`'s state layout, which :mod:`lifebot.agents.transfer` moves into SB3.
    """

    def __init__(self, obs_dim: int, config: IDMConfig):
        nn.Module.__init__(self)  # not BCPolicy's: its trunk sees the whole state; loss, act and the head are shared
        beside_cameras = self.build_cameras(
            config.image_keys if config.encoder_input == "images" else (), obs_dim, config
        )
        seen = encoder_columns(config.encoder_input, obs_dim)
        rest = beside_cameras if self.image_keys else sorted(set(range(obs_dim)) - set(seen))
        self.register_buffer("encoder_index", torch.tensor(seen, dtype=torch.long), persistent=False)
        self.register_buffer("rest_index", torch.tensor(rest, dtype=torch.long), persistent=False)
        latent = config.hidden[-1]
        width = sum(encoder.out_dim for encoder in self.encoders.values()) if self.image_keys else len(seen)
        self.trunk = nn.Sequential(mlp(width, config.hidden[:-1], latent), nn.ReLU())
        width, hidden = latent + len(rest), config.policy_hidden
        self.body = nn.Sequential(mlp(width, hidden[:-1], hidden[-1]), nn.ReLU()) if hidden else nn.Sequential()
        self.build_head(hidden[-1] if hidden else width, config)
        self.transferable = not rest and not hidden

    def encode(self, obs: torch.Tensor, images: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        if not self.image_keys:
            return self.trunk(obs.index_select(-1, self.encoder_index))
        return self.trunk(self.encode_cameras(images))

    def rest(self, obs: torch.Tensor) -> torch.Tensor:
        return obs.index_select(-1, self.rest_index)

    def features(self, obs: torch.Tensor, images: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.body(torch.cat([self.encode(obs, images), self.rest(obs)], dim=-1))


Frame = tuple[torch.Tensor, dict[str, torch.Tensor]]  # (normalised state, camera key -> uint8 images)


class Objective(nn.Module):
    """A pretraining objective: a head of its own and a loss on (o_t, o_{t+gap}, a_t) through φ."""

    name: ClassVar[str]
    trains: ClassVar[bool] = True
    sees_later: ClassVar[bool] = False
    """Whether the loss reads o_{t+gap} (else ``later`` is None: no frame is gathered for it)."""

    def loss(self, policy: EncoderPolicy, now: Frame, later: Frame | None, actions) -> torch.Tensor:
        predicted = torch.tanh(self.head(self.inputs(policy, now, later)))
        return (predicted - actions).pow(2).sum(-1).mean()


OBJECTIVES: Registry[type[Objective]] = Registry("pretraining objective")


@OBJECTIVES.register("inverse_dynamics")
class InverseDynamics(Objective):
    """g(φ(o_t), φ(o_{t+gap})) -> a_t: what changed in what φ sees must explain the action."""

    sees_later = True

    def __init__(self, policy: EncoderPolicy, config: IDMConfig):
        super().__init__()
        self.head = mlp(2 * config.hidden[-1], config.idm_hidden, ACTION_DIM)

    def inputs(self, policy, now: Frame, later: Frame):
        return torch.cat([policy.encode(*now), policy.encode(*later)], dim=-1)


@OBJECTIVES.register("multitask_bc")
class MultitaskBC(Objective):
    """h(φ(o_t), the rest of o_t) -> a_t on every pool task: BC pretraining, the policy's inputs, its own head."""

    def __init__(self, policy: EncoderPolicy, config: IDMConfig):
        super().__init__()
        self.head = mlp(config.hidden[-1] + len(policy.rest_index), config.idm_hidden, ACTION_DIM)

    def inputs(self, policy, now: Frame, later: Frame):
        return torch.cat([policy.encode(*now), policy.rest(now[0])], dim=-1)


@OBJECTIVES.register("none")
class Scratch(Objective):
    """No pretraining: φ is learnt with the policy on the target task."""

    trains = False

    def __init__(self, policy: EncoderPolicy, config: IDMConfig):
        super().__init__()
        self.head = nn.Sequential()


class IDMAgent(BCAgent):
    """A BC agent on an encoder pretrained by ``config.objective`` (name kept: checkpoints say ``idm``)."""

    name = "idm"
    config_class = IDMConfig
    policy_class = EncoderPolicy

    def __init__(self, config: IDMConfig, obs_dim, normalizer, control_mode=DEFAULT_CONTROL_MODE):
        super().__init__(config, obs_dim, normalizer, control_mode)
        self.objective = OBJECTIVES[config.objective](self.policy, config).to(self.device)
        encoder = [p for n, p in self.policy.named_parameters() if n.split(".")[0] in ENCODER_MODULES]
        self.idm_optimizer = torch.optim.Adam([*encoder, *self.objective.parameters()], lr=config.learning_rate)
        if config.freeze_encoder:  # the optimizer never holds φ, so it stays bit-identical through learn()
            policy = [p for n, p in self.policy.named_parameters() if n.split(".")[0] not in ENCODER_MODULES]
            self.optimizer = torch.optim.Adam(policy, lr=config.learning_rate, weight_decay=config.weight_decay)

    @classmethod
    def upgrade_config(cls, fields: dict) -> dict:
        if "encoder_input" not in fields:  # written before encoders saw part of the state: the whole BC trunk
            fields = {**fields, "encoder_input": "state", "policy_hidden": ()}
        return fields

    @classmethod
    def fine_tuning(cls, pretrained: IDMAgent, **changes) -> IDMAgent:
        """A fresh agent (config ``pretrained.config`` with ``changes``) on ``pretrained``'s encoder and
        normalizer: the policy and its head start anew, as in the paper."""
        agent = cls(
            replace(pretrained.config, **changes), pretrained.obs_dim, pretrained.normalizer, pretrained.control_mode
        )
        agent.load_encoder(pretrained)
        return agent

    def load_encoder(self, pretrained: IDMAgent) -> None:
        """Copy φ from ``pretrained`` (any objective); it must see the same columns through the same widths."""
        if pretrained.config.encoder_input != self.config.encoder_input:
            raise ValueError(
                f"the encoder sees {pretrained.config.encoder_input!r}, this agent {self.config.encoder_input!r}"
            )
        for module in ENCODER_MODULES:
            getattr(self.policy, module).load_state_dict(getattr(pretrained.acting_policy, module).state_dict())
        self.averaged = None  # new weights: the average restarts from them

    def state_dict(self) -> dict:
        return {**super().state_dict(), "pretrain_head": self.objective.head.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.objective.head.load_state_dict(state.get("pretrain_head", state.get("inverse_head")))

    def pretrain(self, dataset: DemoDataset, steps: int | None = None, progress: bool = False) -> list[float]:
        """Train φ and the objective's head on (o_t, o_{t+gap}, a_t) of ``dataset``; returns the losses."""
        if not self.objective.trains:
            return []
        gap, losses = self.config.gap, []
        steps = self.config.idm_steps if steps is None else steps
        images = self._training_images(dataset)
        rows = torch.arange(len(dataset.obs))
        # o_{t+gap} must be in t's demonstration: next_obs[t + gap - 1] while states, the image at t + gap for cameras
        rows = rows[rows + gap - (0 if images else 1) <= dataset.episode_end]
        if not len(rows):
            raise ValueError(f"no demonstration in the dataset is longer than gap {gap}")
        self.policy.train()
        for _ in tqdm(range(steps), desc=self.config.objective, unit="step", disable=not progress):
            index = rows[torch.from_numpy(self.rng.integers(0, len(rows), size=self.config.batch_size))]
            now = self.on_device((dataset.obs[index], {k: v[index] for k, v in images.items()}))
            later = None
            if self.objective.sees_later:
                later = (dataset.next_obs[index + gap - 1], {k: v[index + gap] for k, v in images.items()})
                later = self.on_device(later)
            loss = self.objective.loss(self.policy, now, later, dataset.actions[index].to(self.device))
            self.idm_optimizer.zero_grad()
            loss.backward()
            self.idm_optimizer.step()
            losses.append(float(loss.detach()))
        return losses

    def on_device(self, frame: Frame) -> Frame:
        obs, images = frame
        return obs.to(self.device), {k: v.to(self.device) for k, v in images.items()}
