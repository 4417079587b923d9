"""Text views of a pipeline and of a run: the Mermaid graph, the final job table, the step summary.

Pure: they return strings. Node ids are generated (s0, s0j1), so names never need to be valid Mermaid
ids, and labels are escaped, so the graph is stable and always parses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cicd.config.context import PipelineContext
from cicd.pipeline.result import BuildResult, StepResult

_STATUS_CLASSES = {
    "success": "fill:#dcfce7,stroke:#16a34a",
    "failed": "fill:#fee2e2,stroke:#dc2626",
    "timed_out": "fill:#fee2e2,stroke:#dc2626",
    "cancelled": "fill:#f3e8ff,stroke:#9333ea",
    "skipped": "fill:#f3f4f6,stroke:#9ca3af,color:#6b7280",
}


def mermaid_label(text: str) -> str:
    """A quoted Mermaid label; characters Mermaid would interpret become entity codes."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return f'"{text}"'


def mermaid(context: PipelineContext, statuses: Mapping[str, str] | None = None) -> str:
    """`flowchart LR`: one subgraph per stage holding its jobs, an arrow per stage dependency.

    With `statuses` (job name -> step status) each job node is coloured by its outcome."""
    lines = ["flowchart LR"]
    stage_ids = {stage.name: f"s{i}" for i, stage in enumerate(context.stages)}
    job_ids = {}
    for i, stage in enumerate(context.stages):
        lines.append(f"  subgraph {stage_ids[stage.name]}[{mermaid_label(stage.name)}]")
        for j, job in enumerate(stage.jobs):
            job_ids[job.name] = f"s{i}j{j}"
            label = job.name if statuses is None else f"{job.name}: {statuses.get(job.name, 'not run')}"
            lines.append(f"    {job_ids[job.name]}[{mermaid_label(label)}]")
        lines.append("  end")
    for stage in context.stages:
        for dep in stage.dependencies:
            lines.append(f"  {stage_ids[dep]} --> {stage_ids[stage.name]}")
    if statuses:
        used = sorted({status for status in statuses.values() if status in _STATUS_CLASSES})
        for status in used:
            lines.append(f"  classDef {status} {_STATUS_CLASSES[status]}")
        for status in used:
            members = [job_ids[name] for name, s in statuses.items() if s == status and name in job_ids]
            if members:
                lines.append(f"  class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"


def _duration(step: StepResult) -> str:
    return "-" if step.status == "skipped" else f"{step.duration_seconds:.1f}s"


def job_table(steps: Sequence[StepResult]) -> str:
    """The final plain-text table: one line per job, in the order jobs were declared."""
    header = ("JOB", "STAGE", "STATUS", "DURATION", "NOTE")
    rows = [(s.name, s.stage, s.status, _duration(s), _note(s)) for s in steps]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    out = []
    for row in [header, *rows]:
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row[:4])]
        out.append(("  ".join(cells) + "  " + row[4]).rstrip())
    return "\n".join(out)


def _note(step: StepResult) -> str:
    parts = []
    if step.attempts > 1:
        parts.append(f"{step.attempts} attempts")
    if step.reason and step.status != "success":
        parts.append(step.reason)
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(context: PipelineContext, result: BuildResult) -> str:
    """The step summary inside Actions: the outcome, the coloured graph and the job table."""
    statuses = {step.name: step.status for step in result.steps}
    lines = [
        f"### Pipeline `{result.name}`: {result.status} in {result.duration_seconds:.1f}s",
        "",
        "```mermaid",
        mermaid(context, statuses).rstrip("\n"),
        "```",
        "",
        "| Job | Stage | Status | Duration | Attempts | Note |",
        "|---|---|---|---:|---:|---|",
    ]
    for step in result.steps:
        lines.append(
            f"| {_cell(step.name)} | {_cell(step.stage)} | {step.status} | {_duration(step)} "
            f"| {step.attempts} | {_cell(_note(step))} |"
        )
    return "\n".join(lines) + "\n"
