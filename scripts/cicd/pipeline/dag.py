"""The stage graph: topological order, parallel levels (Kahn), cycles and the longest (critical) path.

Pure functions over names; ties are broken by config order so every output is stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cicd.config.context import PipelineContext
from cicd.errors import PipelineError


@dataclass(frozen=True)
class StageGraph:
    """Stages in config order and, for each, the stages it depends on."""

    order: tuple[str, ...]
    dependencies: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_context(cls, context: PipelineContext) -> StageGraph:
        return cls.of((stage.name, stage.dependencies) for stage in context.stages)

    @classmethod
    def of(cls, stages: Iterable[tuple[str, Iterable[str]]]) -> StageGraph:
        pairs = [(name, tuple(dict.fromkeys(deps))) for name, deps in stages]
        names = {name for name, _ in pairs}
        for name, deps in pairs:
            missing = [dep for dep in deps if dep not in names]
            if missing:
                raise PipelineError(f"stage '{name}' depends on unknown stage '{missing[0]}'")
        return cls(tuple(name for name, _ in pairs), dict(pairs))

    def dependents(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {name: [] for name in self.order}
        for name in self.order:
            for dep in self.dependencies[name]:
                out[dep].append(name)
        return {name: tuple(deps) for name, deps in out.items()}

    def levels(self) -> list[list[str]]:
        """Kahn's algorithm by waves: level n holds the stages whose dependencies are all in levels < n."""
        remaining = {name: len(set(self.dependencies[name])) for name in self.order}
        dependents = self.dependents()
        depth = {name: 0 for name in self.order if remaining[name] == 0}
        frontier = list(depth)
        while frontier:
            next_frontier = []
            for name in frontier:
                for child in dependents[name]:
                    remaining[child] -= 1
                    if remaining[child] == 0:
                        depth[child] = depth[name] + 1
                        next_frontier.append(child)
            frontier = next_frontier
        if len(depth) != len(self.order):
            cycle = self.find_cycle() or []
            raise PipelineError(f"stage dependencies form a cycle: {' -> '.join(cycle)}")
        levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for name in self.order:  # config order within a level keeps the output stable
            levels[depth[name]].append(name)
        return levels

    def topological_order(self) -> list[str]:
        return [name for level in self.levels() for name in level]

    def find_cycle(self) -> list[str] | None:
        """One cycle as `a, b, ..., a`, or None (iterative DFS: deep graphs must not hit recursion limits)."""
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        for root in self.order:
            if root in state:
                continue
            path: list[str] = []
            stack: list[tuple[str, int]] = [(root, 0)]
            while stack:
                name, index = stack.pop()
                if index == 0:
                    state[name] = 1
                    path.append(name)
                deps = self.dependencies[name]
                if index < len(deps):
                    stack.append((name, index + 1))
                    dep = deps[index]
                    if state.get(dep) == 1:
                        return [*path[path.index(dep) :], dep]
                    if dep not in state:
                        stack.append((dep, 0))
                    continue
                state[name] = 2
                path.pop()
        return None

    def ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.dependencies[name])
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(self.dependencies[dep])
        return seen

    def longest_path(self, weight: Mapping[str, float]) -> tuple[list[str], float]:
        """The heaviest dependency chain (the critical path) and its total weight."""
        best: dict[str, tuple[float, str | None]] = {}
        for name in self.topological_order():
            before = max(
                ((best[dep][0], dep) for dep in self.dependencies[name]),
                default=(0.0, None),
                key=lambda item: item[0],
            )
            best[name] = (before[0] + weight.get(name, 0.0), before[1])
        if not best:
            return [], 0.0
        end = max(self.order, key=lambda n: best[n][0])
        total = best[end][0]
        path: list[str] = []
        node: str | None = end
        while node is not None:
            path.append(node)
            node = best[node][1]
        return path[::-1], total
