"""The pure parts of the engine: stage graph, scheduler, selection, conditions, plan, Mermaid, tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import job, pipeline, stage

from cicd.config.models import When
from cicd.errors import PipelineError
from cicd.pipeline.dag import StageGraph
from cicd.pipeline.plan import dry_run, optimize_pipeline_schedule, render_plan
from cicd.pipeline.render import job_table, mermaid, mermaid_label, summary_markdown
from cicd.pipeline.result import (
    BuildResult,
    StepResult,
    job_durations,
    latest_result,
    pipeline_status,
    write_json,
)
from cicd.pipeline.scheduler import Scheduler
from cicd.pipeline.selection import condition_skips, select, skip_reason

DIAMOND = pipeline(
    stage("a", job("a1"), job("a2")),
    stage("b", job("b1"), deps=("a",)),
    stage("c", job("c1"), deps=("a",)),
    stage("d", job("d1"), deps=("b", "c")),
)


# --- stage graph --------------------------------------------------------------------------------------


def test_levels_are_kahn_waves_in_config_order() -> None:
    assert StageGraph.from_context(DIAMOND).levels() == [["a"], ["b", "c"], ["d"]]
    assert StageGraph.from_context(DIAMOND).topological_order() == ["a", "b", "c", "d"]


def test_cycle_is_reported_with_its_path() -> None:
    graph = StageGraph.of([("build", ["test"]), ("test", ["build"]), ("lint", [])])
    assert graph.find_cycle() == ["build", "test", "build"]
    with pytest.raises(PipelineError, match="cycle: build -> test -> build"):
        graph.levels()


def test_unknown_dependency_is_an_error() -> None:
    with pytest.raises(PipelineError, match="unknown stage 'nope'"):
        StageGraph.of([("a", ["nope"])])


def test_longest_path_follows_the_heaviest_chain() -> None:
    graph = StageGraph.from_context(DIAMOND)
    assert graph.longest_path({"a": 1, "b": 5, "c": 2, "d": 1}) == (["a", "b", "d"], 7)
    assert graph.longest_path({"a": 1, "b": 1, "c": 9, "d": 1}) == (["a", "c", "d"], 11)


def test_deep_chain_needs_no_recursion() -> None:
    names = [f"s{i}" for i in range(5000)]
    graph = StageGraph.of([(n, [names[i - 1]] if i else []) for i, n in enumerate(names)])
    assert graph.find_cycle() is None
    assert len(graph.levels()) == 5000


# --- scheduler ----------------------------------------------------------------------------------------


def names(jobs) -> list[str]:  # type: ignore[no-untyped-def]
    return [j.name for j in jobs]


def test_a_stage_opens_as_soon_as_its_own_dependencies_finish() -> None:
    ctx = pipeline(
        stage("slow", job("slow1")),
        stage("fast", job("fast1")),
        stage("after-fast", job("af1"), deps=("fast",)),
    )
    sched = Scheduler(ctx.stages)
    assert names(sched.take_ready(10)) == ["slow1", "fast1"]
    sched.finish(ctx.stage("fast").jobs[0], ok=True)
    # "slow" is still running, yet the independent branch goes on: no level-by-level barrier.
    assert names(sched.take_ready(10)) == ["af1"]


def test_take_ready_respects_the_limit_and_keeps_order() -> None:
    sched = Scheduler(DIAMOND.stages)
    assert names(sched.take_ready(1)) == ["a1"]
    assert names(sched.take_ready(5)) == ["a2"]


def test_failed_dependency_skips_the_whole_subgraph_with_reasons() -> None:
    sched = Scheduler(DIAMOND.stages)
    a1, a2 = sched.take_ready(2)
    sched.finish(a1, ok=False)
    sched.finish(a2, ok=True)
    assert sched.take_ready(10) == []
    assert [(j.name, r) for j, r in sched.take_skips()] == [
        ("b1", "dependency a failed"),
        ("c1", "dependency a failed"),
        ("d1", "dependency b was skipped"),
    ]
    assert sched.done
    assert sched.stage_status == {"a": "failed", "b": "skipped", "c": "skipped", "d": "skipped"}


def test_condition_skip_cascades_but_siblings_run() -> None:
    sched = Scheduler(DIAMOND.stages, {"b": "branch 'x' does not match main"})
    for j in sched.take_ready(10):
        sched.finish(j, ok=True)
    assert names(sched.take_ready(10)) == ["c1"]
    assert [(j.name, r) for j, r in sched.take_skips()] == [("b1", "branch 'x' does not match main")]
    sched.finish(DIAMOND.stage("c").jobs[0], ok=True)
    assert [(j.name, r) for j, r in sched.take_skips()] == [("d1", "dependency b was skipped")]
    assert sched.done


def test_abandon_skips_everything_not_started_and_waits_for_running_jobs() -> None:
    sched = Scheduler(DIAMOND.stages)
    a1 = sched.take_ready(1)[0]
    sched.abandon("pipeline cancelled")
    assert [(j.name, r) for j, r in sched.take_skips()] == [
        ("a2", "pipeline cancelled"),
        ("b1", "pipeline cancelled"),
        ("c1", "pipeline cancelled"),
        ("d1", "pipeline cancelled"),
    ]
    assert not sched.done
    sched.finish(a1, ok=False)
    assert sched.done and sched.take_ready(10) == []


def test_selection_drops_dependencies_outside_it() -> None:
    sched = Scheduler(select(DIAMOND, stages=["d"]))
    assert names(sched.take_ready(10)) == ["d1"]


# --- selection and conditions -------------------------------------------------------------------------


def test_select_by_stage_and_job() -> None:
    chosen = select(DIAMOND, stages=["b"], jobs=["a2"])
    assert [(s.name, names(s.jobs)) for s in chosen] == [("a", ["a2"]), ("b", ["b1"])]
    assert select(DIAMOND) == DIAMOND.stages


@pytest.mark.parametrize(
    ("kwargs", "message", "hint"),
    [
        ({"stages": ["nope"]}, "unknown stage 'nope'", "valid stages: a, b, c, d"),
        ({"jobs": ["x"]}, "unknown job 'x'", "valid jobs: a1, a2, b1, c1, d1"),
    ],
)
def test_unknown_selection_lists_valid_names(kwargs: dict, message: str, hint: str) -> None:
    with pytest.raises(PipelineError) as caught:
        select(DIAMOND, **kwargs)
    assert caught.value.message == message
    assert caught.value.hint == hint


@pytest.mark.parametrize(
    ("when", "branch", "environment", "variables", "reason"),
    [
        (None, "x", None, {}, None),
        (When(branches=["main", "release/*"]), "release/1.2", None, {}, None),
        (
            When(branches=["main", "release/*"]),
            "feature/x",
            None,
            {},
            "branch 'feature/x' does not match main, release/*",
        ),
        (When(branches=["main"]), None, None, {}, "branch unknown; runs only on main (pass --branch)"),
        (When(environments=["production"]), "main", "staging", {}, "environment 'staging' is not production"),
        (When(environments=["staging"]), "main", "staging", {}, None),
        (When(variables={"BUILD_IMAGE": True}), None, None, {"BUILD_IMAGE": "true"}, None),
        (
            When(variables={"BUILD_IMAGE": True}),
            None,
            None,
            {"BUILD_IMAGE": "false"},
            "variable BUILD_IMAGE is 'false', needs 'true'",
        ),
        (When(variables={"N": 3}), None, None, {}, "variable N is unset, needs '3'"),
    ],
)
def test_when_conditions(when, branch, environment, variables, reason) -> None:  # type: ignore[no-untyped-def]
    assert skip_reason(when, branch=branch, environment=environment, variables=variables) == reason


def test_condition_skips_names_only_the_stages_that_do_not_run() -> None:
    ctx = pipeline(stage("a", job("a1")), stage("deploy", job("d1"), when=When(branches=["main"])))
    assert condition_skips(ctx.stages, branch="main", environment=None, variables={}) == {}
    assert condition_skips(ctx.stages, branch="dev", environment=None, variables={}) == {
        "deploy": "branch 'dev' does not match main"
    }


# --- plan ----------------------------------------------------------------------------------------------


def test_plan_uses_previous_durations_and_falls_back_to_timeouts() -> None:
    ctx = pipeline(
        stage("a", job("a1", timeout=100), job("a2", timeout=100)),
        stage("b", job("b1", timeout=50), deps=("a",)),
        stage("c", job("c1", timeout=30), deps=("a",)),
    )
    plan = optimize_pipeline_schedule(ctx, {"a1": 2.0, "a2": 7.0, "b1": 1.0}, previous_run="run-1")
    assert plan.execution_order == ["a", "b", "c"]
    assert plan.levels == [["a"], ["b", "c"]]
    # c1 has no previous duration: its timeout (30 s) makes c the heavier branch.
    assert [(e.stage, e.name, e.seconds, e.source) for e in plan.critical_path] == [
        ("a", "a2", 7.0, "previous run"),
        ("c", "c1", 30.0, "timeout"),
    ]
    assert plan.critical_path_seconds == 37.0
    assert plan.max_parallel_jobs == 2
    text = render_plan(plan, ctx)
    assert "durations from run run-1" in text
    assert "  2. b (b1) | c (c1)" in text
    assert "c/c1  30.0s (its timeout: no measured duration)" in text
    assert plan.to_dict()["critical_path"][0] == {
        "stage": "a",
        "job": "a2",
        "seconds": 7.0,
        "source": "previous run",
    }


def test_latest_result_picks_the_newest_run_of_this_pipeline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def result(run_id: str, name: str, completed: str, seconds: float) -> dict:
        step = {"name": "a1", "status": "success", "duration_seconds": seconds}
        return {"pipeline_id": run_id, "name": name, "completed_at": completed, "steps": [step]}

    write_json(result("old", "demo", "2026-01-01T00:00:00.000Z", 1.0), tmp_path / "old" / "result.json")
    write_json(result("new", "demo", "2026-02-01T00:00:00.000Z", 2.0), tmp_path / "new" / "result.json")
    write_json(result("other", "x", "2026-03-01T00:00:00.000Z", 3.0), tmp_path / "other" / "result.json")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "result.json").write_text("{not json")
    latest = latest_result(tmp_path, "demo")
    assert latest is not None and latest["pipeline_id"] == "new"
    assert job_durations(latest) == {"a1": 2.0}
    assert latest_result(tmp_path / "missing", "demo") is None


def test_dry_run_lists_jobs_in_start_order_with_skips() -> None:
    order = dry_run(DIAMOND.stages, {"b": "branch 'x' does not match main"})
    assert [(j.name, r) for j, r in order] == [
        ("a1", None),
        ("a2", None),
        ("b1", "branch 'x' does not match main"),
        ("c1", None),
        ("d1", "dependency b was skipped"),
    ]


# --- views ---------------------------------------------------------------------------------------------


def test_mermaid_graph_is_stable_and_escaped() -> None:
    ctx = pipeline(stage("build", job("compile")), stage("test", job("unit"), job("lint"), deps=("build",)))
    assert mermaid(ctx) == (
        "flowchart LR\n"
        '  subgraph s0["build"]\n'
        '    s0j0["compile"]\n'
        "  end\n"
        '  subgraph s1["test"]\n'
        '    s1j0["unit"]\n'
        '    s1j1["lint"]\n'
        "  end\n"
        "  s0 --> s1\n"
    )
    assert mermaid(ctx) == mermaid(ctx)
    assert mermaid_label('a "b" <c> #1') == '"a #quot;b#quot; #lt;c#gt; #35;1"'


def test_mermaid_with_statuses_colours_the_jobs() -> None:
    ctx = pipeline(stage("build", job("compile")), stage("test", job("unit"), deps=("build",)))
    text = mermaid(ctx, {"compile": "success", "unit": "failed"})
    assert '    s0j0["compile: success"]' in text
    assert "  class s0j0 success" in text
    assert "  class s1j0 failed" in text


def step(name: str, status: str, *, cof: bool = False, reason: str | None = None) -> StepResult:
    return StepResult(
        name, "s", status, 0 if status == "success" else 1, 1.25, 1, f"logs/{name}.log", reason, cof
    )


def test_pipeline_status_is_never_success_after_a_blocking_failure() -> None:
    assert pipeline_status([step("a", "success"), step("b", "skipped")], cancelled=False) == "success"
    assert pipeline_status([step("a", "failed", cof=True)], cancelled=False) == "success"
    assert pipeline_status([step("a", "failed")], cancelled=False) == "failed"
    assert pipeline_status([step("a", "timed_out")], cancelled=False) == "failed"
    assert pipeline_status([step("a", "success")], cancelled=True) == "cancelled"


def test_job_table_and_summary() -> None:
    steps = [step("compile", "success"), step("unit", "failed", reason="exit code 1 | oops")]
    assert job_table(steps).splitlines() == [
        "JOB      STAGE  STATUS   DURATION  NOTE",
        "compile  s      success  1.2s",
        "unit     s      failed   1.2s      exit code 1 | oops",
    ]
    ctx = pipeline(stage("s", job("compile"), job("unit")))
    result = BuildResult("id", "demo", "failed", "t0", "t1", 2.5, steps, [])
    summary = summary_markdown(ctx, result)
    assert summary.startswith("### Pipeline `demo`: failed in 2.5s\n\n```mermaid\nflowchart LR\n")
    assert "| unit | s | failed | 1.2s | 1 | exit code 1 \\| oops |" in summary


def test_group_display_prints_each_job_whole_with_an_annotation_on_failure(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from cicd.pipeline.progress import GroupDisplay, PlainDisplay

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    log = tmp_path / "unit.log"
    log.write_text("collected 3 items\n1 failed\n")
    out = io.StringIO()
    display = GroupDisplay(out)
    display.job_line(job("unit"), "ignored: the log file is the source")
    display.job_finished(step("unit", "failed", reason="exit code 1"), log)
    assert out.getvalue().splitlines() == [
        "::group::unit (failed in 1.2s: exit code 1)",
        "collected 3 items",
        "1 failed",
        "::endgroup::",
        "::error title=job unit::unit failed in 1.2s: exit code 1",
    ]
    plain = io.StringIO()
    PlainDisplay(plain).job_line(job("unit"), "hello")
    PlainDisplay(plain).job_finished(step("docs", "skipped", reason="dependency a failed"), log)
    assert plain.getvalue() == "[unit] hello\n[docs] skipped: dependency a failed\n"


def test_ready_jobs_start_by_remaining_critical_path() -> None:
    from cicd.pipeline.plan import job_priorities

    ctx = pipeline(
        stage("a", job("short", timeout=10), job("feeds-long-chain", timeout=5)),
        stage("tail", job("t1", timeout=100), deps=("a",)),
    )
    # Nothing depends on a single job here: every job of stage a feeds the 100 s tail.
    priorities = job_priorities(ctx.stages, {"short": 1.0})
    assert priorities == {"short": 101.0, "feeds-long-chain": 105.0, "t1": 100.0}
    sched = Scheduler(ctx.stages, priority=priorities)
    assert names(sched.take_ready(1)) == ["feeds-long-chain"]
    assert names(sched.take_ready(1)) == ["short"]


def test_equal_priorities_keep_config_order() -> None:
    sched = Scheduler(DIAMOND.stages, priority={})
    assert names(sched.take_ready(2)) == ["a1", "a2"]


def test_retry_backoff_doubles_from_a_small_base_up_to_a_cap() -> None:
    from cicd.pipeline.executor import backoff_delay

    assert [backoff_delay(n, 0.25, 8.0) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@st.composite
def random_pipelines(draw):  # type: ignore[no-untyped-def]
    """Acyclic stage graphs (each stage depends only on earlier ones), 1-3 jobs each, some failing."""
    count = draw(st.integers(1, 8))
    stages = []
    for i in range(count):
        deps = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        jobs = [job(f"s{i}j{j}") for j in range(draw(st.integers(1, 3)))]
        stages.append(stage(f"s{i}", *jobs, deps=tuple(f"s{d}" for d in sorted(deps))))
    failing = draw(st.sets(st.sampled_from([j.name for s in stages for j in s.jobs])))
    skipped = draw(st.sets(st.sampled_from([s.name for s in stages])))
    return pipeline(*stages), failing, {name: "condition" for name in skipped}


@settings(max_examples=200, deadline=None)
@given(random_pipelines(), st.integers(1, 4))
def test_scheduler_invariants_on_random_graphs(case, slots: int) -> None:  # type: ignore[no-untyped-def]
    ctx, failing, conditions = case
    sched = Scheduler(ctx.stages, conditions)
    deps = {s.name: set(s.dependencies) for s in ctx.stages}
    started: list = []
    skipped: dict[str, str] = {}
    running: list = []
    while True:
        skipped.update((j.name, reason) for j, reason in sched.take_skips())
        batch = sched.take_ready(slots - len(running))
        for j in batch:
            # A job starts only once every dependency stage has finished, and none of them failed.
            assert all(sched.stage_status.get(d) == "success" for d in deps[j.stage])
        started += batch
        running += batch
        if not running:
            break
        finished = running.pop(0)
        sched.finish(finished, ok=finished.name not in failing)
    closed = dict(sched.stage_status)
    assert sched.done
    all_jobs = [j.name for j in ctx.jobs]
    # Every job either ran exactly once or was skipped with a reason, never both.
    assert sorted([j.name for j in started] + list(skipped)) == sorted(all_jobs)
    for s in ctx.stages:
        if closed[s.name] == "skipped":
            assert all(
                skipped[j.name] == "condition" or skipped[j.name].startswith("dependency ") for j in s.jobs
            )
        failed_dep = [d for d in s.dependencies if closed[d] != "success"]
        assert (closed[s.name] == "skipped") == bool(failed_dep or s.name in conditions)
