"""The pure scheduling core: which jobs may start now, which stages are skipped and why.

No processes and no clocks here, so every rule is tested directly. A stage opens when all its dependency
stages have finished (not level by level): its jobs become ready at once. A stage whose dependency
failed or was skipped is itself skipped, with the reason, and so on down the graph.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Mapping, Sequence

from cicd.config.context import JobSpec, StageSpec
from cicd.pipeline.dag import StageGraph

STAGE_SUCCESS, STAGE_FAILED, STAGE_SKIPPED = "success", "failed", "skipped"


class Scheduler:
    """Tracks stages and jobs; the executor asks for ready jobs and reports finished ones."""

    def __init__(
        self,
        stages: Sequence[StageSpec],
        condition_skips: Mapping[str, str] | None = None,
        priority: Mapping[str, float] | None = None,
    ):
        # Among ready jobs the higher priority starts first (the executor passes the remaining critical
        # path of each job), so a bounded --max-parallel spends its slots on the chain that decides the
        # wall time. Equal priorities keep the order in which jobs became ready.
        self._priority = dict(priority or {})
        self._sequence = itertools.count()
        self._stages = {stage.name: stage for stage in stages}
        # Dependencies outside the selection (--stage/--job) count as satisfied: not part of this run.
        self._deps = {
            s.name: tuple(d for d in dict.fromkeys(s.dependencies) if d in self._stages) for s in stages
        }
        graph = StageGraph.of(self._deps.items())
        graph.levels()  # raises PipelineError on a cycle before anything runs
        self._dependents = graph.dependents()
        self._condition_skips = dict(condition_skips or {})
        self._waiting = {name: len(deps) for name, deps in self._deps.items()}
        self._jobs_left = {name: len(stage.jobs) for name, stage in self._stages.items()}
        self._failed_stages: set[str] = set()
        self.stage_status: dict[str, str] = {}
        self._ready: list[tuple[float, int, JobSpec]] = []  # a heap
        self._new_skips: list[tuple[JobSpec, str]] = []
        self._abandoned = False
        self._open([name for name in self._stages if self._waiting[name] == 0])

    @property
    def done(self) -> bool:
        return len(self.stage_status) == len(self._stages)

    @property
    def has_ready(self) -> bool:
        return bool(self._ready)

    def take_ready(self, limit: int) -> list[JobSpec]:
        """Up to `limit` jobs that may start now: highest priority first, then in order of readiness."""
        taken: list[JobSpec] = []
        while self._ready and len(taken) < limit:
            taken.append(heapq.heappop(self._ready)[2])
        return taken

    def _push(self, jobs: Sequence[JobSpec]) -> None:
        for job in jobs:
            heapq.heappush(self._ready, (-self._priority.get(job.name, 0.0), next(self._sequence), job))

    def finish(self, job: JobSpec, ok: bool) -> None:
        """Record a finished job; `ok` is False when it failed and does not have continue_on_fail."""
        if not ok:
            self._failed_stages.add(job.stage)
        self._jobs_left[job.stage] -= 1
        if self._jobs_left[job.stage] == 0 and job.stage not in self.stage_status:
            failed = job.stage in self._failed_stages
            self._close([(job.stage, STAGE_FAILED if failed else STAGE_SUCCESS, None)])

    def take_skips(self) -> list[tuple[JobSpec, str]]:
        """Jobs skipped since the last call, with the reason."""
        skips, self._new_skips = self._new_skips, []
        return skips

    def abandon(self, reason: str) -> None:
        """Stop starting anything: every job not yet started is skipped with `reason`.

        Jobs already running still report through finish(); their stages close when the last one ends.
        """
        self._abandoned = True
        never_started = {entry[2] for entry in self._ready}
        self._ready.clear()
        for name, stage in self._stages.items():
            if name in self.stage_status:
                continue
            opened = self._waiting[name] == 0
            skipped = [job for job in stage.jobs if not opened or job in never_started]
            self._new_skips.extend((job, reason) for job in skipped)
            self._jobs_left[name] -= len(skipped)
            if self._jobs_left[name] == 0:
                self.stage_status[name] = STAGE_FAILED if name in self._failed_stages else STAGE_SKIPPED

    def _open(self, names: list[str]) -> None:
        to_close: list[tuple[str, str, str | None]] = []
        for name in names:
            reason = self._block_reason(name)
            if reason is None:
                self._push(self._stages[name].jobs)
            else:
                to_close.append((name, STAGE_SKIPPED, reason))
        if to_close:
            self._close(to_close)

    def _close(self, items: list[tuple[str, str, str | None]]) -> None:
        # A worklist, not recursion: a long chain of skipped stages must not hit the recursion limit.
        work = deque(items)
        while work:
            name, status, reason = work.popleft()
            self.stage_status[name] = status
            if status == STAGE_SKIPPED:
                self._new_skips.extend((job, reason or "skipped") for job in self._stages[name].jobs)
            if self._abandoned:
                continue
            for child in self._dependents[name]:
                self._waiting[child] -= 1
                if self._waiting[child] == 0:
                    child_reason = self._block_reason(child)
                    if child_reason is None:
                        self._push(self._stages[child].jobs)
                    else:
                        work.append((child, STAGE_SKIPPED, child_reason))

    def _block_reason(self, name: str) -> str | None:
        for dep in self._deps[name]:
            if self.stage_status.get(dep) == STAGE_FAILED:
                return f"dependency {dep} failed"
            if self.stage_status.get(dep) == STAGE_SKIPPED:
                return f"dependency {dep} was skipped"
        return self._condition_skips.get(name)
