"""Evaluation on every core: whole episodes handed to worker processes that hold the policy and the environments.

Why episodes, not steps: stepping N environments in lock-step through ``AsyncVectorEnv`` pickles every
observation through a pipe and waits for the slowest worker at every step (1.15× one worker on two cores);
independent processes scale about 2× (FIELD_NOTES). So a worker receives the policy once per evaluation and a
*batch* of episodes, runs it to the end on its own environments, and sends back only the outcomes.

A batch is ``EPISODES_PER_BATCH`` consecutive evaluation episodes (episode ``e`` belongs to batch
``e // EPISODES_PER_BATCH``), stepped together with one policy call per step. Its composition depends only on
the episode indices, never on the number of workers, and a stochastic policy draws from torch's global
generator, seeded per batch from ``seed`` and the batch: each episode's outcome therefore depends only on its
index (its fixed initial state and evaluation seed), its batch partners and ``seed``, and never on which worker
ran it or in what order. One worker runs the same batches in this process, so serial and parallel evaluations
agree episode by episode (bit for bit: torch's matrix products may round a row differently in batches of other
sizes, which is why the batches are fixed).

A worker that dies or raises stops the evaluation with an :class:`EvaluationError` naming the task and the
episodes it was running; every requested episode has an outcome or the call raises.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

import numpy as np
import torch
from tqdm import tqdm

from lifebot.envs.control import DEFAULT_CONTROL_MODE, check_control_mode
from lifebot.envs.gym_env import LifebotEnv, evaluation_seed
from lifebot.workers import worker_context

Policy = Callable[[dict[str, np.ndarray]], np.ndarray]  # batched observations -> (N, 7) actions
EPISODES_PER_BATCH = 2
EnvKey = tuple[tuple[str, object], ...]  # an environment's keyword arguments, sorted


class EvaluationError(RuntimeError):
    """An evaluation worker died or failed; the message names the task and the episodes it was running."""


@dataclass
class EvaluationResult:
    """Per-episode outcomes of one evaluation, in episode order (episode e = fixed evaluation state e)."""

    successes: np.ndarray
    lengths: np.ndarray
    returns: np.ndarray
    """Sum of each episode's rewards (with ``reward="dense"``, sensitive to every bit of its trajectory)."""
    episodes: list[int] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if len(self.successes) else 0.0


@dataclass(frozen=True)
class Batch:
    """Episodes of one environment configuration that run together (one policy call per step)."""

    env: EnvKey
    episodes: tuple[int, ...]

    def describe(self) -> str:
        kwargs = dict(self.env)
        where = f"{kwargs['suite']}/{kwargs['task']}" if "task" in kwargs else str(kwargs.get("spec"))
        return f"task {where}, episodes {', '.join(map(str, self.episodes))}"


def batches(env_kwargs: dict, episodes: Sequence[int]) -> list[Batch]:
    """The fixed batches of ``episodes``: consecutive runs of the same ``e // EPISODES_PER_BATCH``."""
    key, groups = tuple(sorted(env_kwargs.items())), {}
    for episode in episodes:
        groups.setdefault(episode // EPISODES_PER_BATCH, []).append(episode)
    return [Batch(key, tuple(group)) for group in groups.values()]


def batch_seed(seed: int, batch: Batch) -> int:
    """The torch seed of a batch: from the evaluation's seed and the batch's first episode only."""
    return int(np.random.SeedSequence((seed, evaluation_seed(batch.episodes[0]))).generate_state(1)[0])


class EpisodeRunner:
    """Runs batches on environments it builds on first use and keeps (building one costs about 0.5 s)."""

    def __init__(self):
        self.envs: dict[EnvKey, list[LifebotEnv]] = {}

    def run(self, policy: Policy, batch: Batch, seed: int) -> list[tuple[bool, int, float]]:
        """(success, length, return) of each episode of ``batch``, in its order."""
        envs = self.envs.setdefault(batch.env, [])
        while len(envs) < len(batch.episodes):
            envs.append(LifebotEnv(**dict(batch.env)))
        obs = [
            env.reset(seed=evaluation_seed(e), options={"evaluation": True})[0]
            for env, e in zip(envs, batch.episodes, strict=False)
        ]
        outcomes: list[tuple[bool, int, float] | None] = [None] * len(batch.episodes)
        returns = [0.0] * len(batch.episodes)
        live, steps = list(range(len(batch.episodes))), 0
        with torch.random.fork_rng(devices=[]):  # the caller's torch random state is left as it was
            torch.manual_seed(batch_seed(seed, batch))
            while live:
                stacked = {key: np.stack([obs[i][key] for i in live]) for key in obs[live[0]]}
                if getattr(policy, "stateful", False):  # per-episode state (action chunks): which episode, which step
                    actions = policy(stacked, episodes=[batch.episodes[i] for i in live], steps=[steps] * len(live))
                else:
                    actions = policy(stacked)
                actions = np.asarray(actions, dtype=np.float32)
                if actions.shape != (len(live), envs[0].action_space.shape[0]):
                    raise ValueError(
                        f"the policy returned actions of shape {actions.shape} for {len(live)} observations"
                    )
                steps += 1
                still = []
                for i, action in zip(live, actions, strict=True):
                    obs[i], reward, terminated, truncated, info = envs[i].step(action)
                    returns[i] += float(reward)
                    if terminated or truncated:
                        outcomes[i] = (bool(info["success"]), steps, returns[i])
                    else:
                        still.append(i)
                live = still
        return outcomes

    def close(self) -> None:
        for envs in self.envs.values():
            for env in envs:
                env.close()
        self.envs.clear()


def _serve(conn: Connection) -> None:
    """A worker's loop: ("policy", bytes) replaces its policy, ("run", batch, seed) answers with the outcomes."""
    torch.set_num_threads(1)
    runner, policy, payload = EpisodeRunner(), None, b""
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message[0] == "policy":
                payload, policy = message[1], None  # unpickled by the next run, which reports a failure
                continue
            _, batch, seed = message
            try:
                policy = pickle.loads(payload) if policy is None else policy
                answer = ("done", runner.run(policy, batch, seed))
            except Exception:
                answer = ("error", traceback.format_exc())
            conn.send(answer)
    except (BrokenPipeError, ConnectionResetError):
        return  # the pool's process is gone (killed, to be resumed): nothing is waiting for the answer
    finally:
        runner.close()


class EvaluationPool:
    """Evaluation workers, started once and reused by every call (each keeps the environments it built).

    ``workers=1`` runs in this process (the policy need not be picklable); more start that many processes,
    to which the policy is sent pickled once per call.
    """

    def __init__(self, workers: int = 1):
        if workers < 1:
            raise ValueError(f"evaluation workers must be at least 1, got {workers}")
        self.workers = workers
        self.local = EpisodeRunner() if workers == 1 else None
        self.processes, self.conns = [], []
        if workers > 1:
            context = worker_context()
            for _ in range(workers):
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs,), daemon=True)
                process.start()
                theirs.close()
                self.processes.append(process)
                self.conns.append(ours)

    def run(self, policy: Policy, jobs: Sequence[Batch], seed: int = 0, progress: bool = False) -> list:
        """The outcomes of every batch of ``jobs``, in their order; raises :class:`EvaluationError` on a failure."""
        bar = tqdm(total=sum(len(b.episodes) for b in jobs), desc="evaluate", unit="ep", disable=not progress)
        try:
            if self.local is not None:
                results = []
                for batch in jobs:
                    results.append(self.local.run(policy, batch, seed))
                    bar.update(len(batch.episodes))
                return results
            return self._run_in_workers(policy, jobs, seed, bar)
        finally:
            bar.close()

    def _run_in_workers(self, policy: Policy, jobs: Sequence[Batch], seed: int, bar: tqdm) -> list:
        if not self.processes:
            raise EvaluationError("this evaluation pool is closed (a worker failed, or close() was called)")
        try:
            payload = pickle.dumps(policy)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise ValueError(
                f"evaluating in {self.workers} worker processes needs a picklable policy (an agent, or a "
                f"module-level function or class), got {policy!r}: {exc}"
            ) from exc
        results: list = [None] * len(jobs)
        pending = list(enumerate(jobs))[::-1]
        busy: dict[int, int] = {}  # worker -> index of the job it runs
        fresh = set(range(self.workers))  # workers that have not been sent this call's policy yet
        while pending or busy:
            for worker in range(self.workers):
                if worker not in busy and pending:
                    index, batch = pending.pop()
                    try:
                        if worker in fresh:
                            self.conns[worker].send(("policy", payload))
                            fresh.discard(worker)
                        self.conns[worker].send(("run", batch, seed))
                    except (BrokenPipeError, ConnectionResetError, OSError):
                        self._died(worker, batch)
                    busy[worker] = index
            ready = wait([self.conns[w] for w in busy] + [self.processes[w].sentinel for w in busy])
            for worker, index in list(busy.items()):
                conn, batch = self.conns[worker], jobs[index]
                if conn in ready or conn.poll():
                    try:
                        kind, value = conn.recv()
                    except (EOFError, ConnectionResetError):
                        self._died(worker, batch)
                    if kind == "error":
                        pid = self.processes[worker].pid
                        self._abort()
                        raise EvaluationError(f"evaluation worker {pid} failed on {batch.describe()}:\n{value}")
                    results[index] = value
                    del busy[worker]
                    bar.update(len(batch.episodes))
                elif self.processes[worker].sentinel in ready:
                    self._died(worker, batch)
        return results

    def _died(self, worker: int, batch: Batch) -> None:
        process = self.processes[worker]
        process.join(timeout=5)
        self._abort()
        raise EvaluationError(
            f"evaluation worker {process.pid} died (exit code {process.exitcode}) while running {batch.describe()}"
        )

    def evaluate(
        self, policy: Policy, episodes: int | Sequence[int], seed: int = 0, progress: bool = False, **env_kwargs
    ) -> EvaluationResult:
        """One environment configuration's evaluation episodes (a count means episodes 0..n-1)."""
        return self.evaluate_many(policy, [env_kwargs], episodes, seed, progress)[0]

    def evaluate_many(
        self,
        policy: Policy,
        configs: Sequence[dict],
        episodes: int | Sequence[int],
        seed: int = 0,
        progress: bool = False,
    ) -> list[EvaluationResult]:
        """The same episodes on several environment configurations, spread over the workers together."""
        episode_ids = list(range(episodes)) if isinstance(episodes, int) else list(episodes)
        config_jobs = [batches(config, episode_ids) for config in configs]
        outcomes = self.run(policy, [b for jobs in config_jobs for b in jobs], seed, progress)
        results, position = [], 0
        for jobs in config_jobs:
            found = {}
            for batch in jobs:
                found.update(zip(batch.episodes, outcomes[position], strict=True))
                position += 1
            missing = [e for e in episode_ids if found.get(e) is None]
            if missing:
                raise EvaluationError(f"{jobs[0].describe()}: no outcome for episodes {missing}")
            results.append(
                EvaluationResult(
                    successes=np.array([found[e][0] for e in episode_ids], dtype=bool),
                    lengths=np.array([found[e][1] for e in episode_ids], dtype=int),
                    returns=np.array([found[e][2] for e in episode_ids], dtype=float),
                    episodes=episode_ids,
                )
            )
        return results

    def success_rates(
        self, policy: Policy, suite: str, tasks: Sequence[str], episodes: int | Sequence[int], **env_kwargs
    ) -> list[float]:
        """Success rate of ``policy`` on each task of ``suite`` (what lifelong runs and ``submit verify`` use)."""
        configs = [{"suite": suite, "task": task, **env_kwargs} for task in tasks]
        return [result.success_rate for result in self.evaluate_many(policy, configs, episodes)]

    def success_rates_each(
        self, policies: Sequence[Policy], suite: str, tasks: Sequence[str], episodes: int, **env_kwargs
    ) -> list[float]:
        """Success rate of ``policies[i]`` on ``tasks[i]``. Tasks that share a policy (the same object) are
        evaluated in one call, so the workers stay busy; a strategy such as PackNet gives each task its own."""
        groups: dict[int, list[int]] = {}
        for i, policy in enumerate(policies):
            groups.setdefault(id(policy), []).append(i)
        rates = [0.0] * len(tasks)
        for members in groups.values():
            policy, group = policies[members[0]], [tasks[i] for i in members]
            shared = self.success_rates(policy, suite, group, episodes, **env_kwargs)
            for i, rate in zip(members, shared, strict=True):
                rates[i] = rate
        return rates

    def _abort(self) -> None:
        """Stop every worker now: the others' batches in flight would otherwise answer the next call."""
        for process in self.processes:
            process.terminate()
        self.close()

    def close(self) -> None:
        if self.local is not None:
            self.local.close()
        for conn in self.conns:
            conn.close()
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        self.processes, self.conns = [], []

    def __enter__(self) -> EvaluationPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def evaluate(
    policy: Policy,
    episodes: int | Sequence[int],
    num_envs: int = 1,
    pool: EvaluationPool | None = None,
    seed: int = 0,
    progress: bool = False,
    policy_control_mode: str | None = None,
    **env_kwargs,
) -> EvaluationResult:
    """Run ``policy`` on evaluation episodes (fixed initial states) in ``num_envs`` worker processes.

    ``episodes`` is a count (episodes 0..n-1) or explicit episode indices. Pass ``pool`` to reuse workers (and
    their environments) across calls; otherwise one is made and closed here. ``seed`` seeds a stochastic
    policy (per batch; see the module docstring). ``policy_control_mode``, the mode the policy was trained in,
    warns if it differs from the environment's.
    """
    if policy_control_mode is not None:
        check_control_mode(policy_control_mode, env_kwargs.get("control_mode", DEFAULT_CONTROL_MODE))
    if pool is not None:
        return pool.evaluate(policy, episodes, seed, progress, **env_kwargs)
    jobs = len(batches(env_kwargs, range(episodes) if isinstance(episodes, int) else episodes))
    with EvaluationPool(max(1, min(num_envs, jobs))) as owned:  # never more workers than batches
        return owned.evaluate(policy, episodes, seed, progress, **env_kwargs)
