"""Deploy and pipeline metrics through prometheus_client, built from the records (history, current
state, run results) each time they are asked for: nothing keeps counters in memory between commands,
so the figures are the same whether pushed from CI, written for node_exporter or printed.

    cicd_deploys_total{environment,status}             deploys by outcome (succeeded, rolled_back, ...)
    cicd_rollbacks_total{environment}                  `cicd rollback` runs plus automatic rollbacks
    cicd_deploy_duration_seconds{environment}          histogram over the history
    cicd_deploy_phase_seconds{environment,phase}       the newest deploy's phases
    cicd_live_version_info{environment,version,digest,color}   what is live (an info metric)
    cicd_verification_passed{environment,version}      1 when the newest deploy's verification passed, 0 not
    cicd_dora_*{environment}                           the four DORA figures of the last 30 days
    cicd_pipeline_duration_seconds{pipeline,status}    the newest run
    cicd_pipeline_job_seconds{pipeline,job,status}     its jobs
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import prometheus_client as prom

from cicd.reports import dora
from cicd.reports.sources import EnvironmentRecords

DURATION_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800)


class DeliveryMetrics:
    def __init__(self) -> None:
        # Counters here are totals recomputed from the history: a `_created` timestamp would say nothing.
        prom.disable_created_metrics()
        self.registry = prom.CollectorRegistry()
        env = ["environment"]
        self.deploys = prom.Counter(
            "cicd_deploys", "Deploys by outcome", [*env, "status"], registry=self.registry
        )
        self.rollbacks = prom.Counter("cicd_rollbacks", "Rollbacks, manual and automatic", env,
                                     registry=self.registry)
        self.duration = prom.Histogram("cicd_deploy_duration_seconds", "Deploy durations", env,
                                  buckets=DURATION_BUCKETS, registry=self.registry)
        self.phase = prom.Gauge("cicd_deploy_phase_seconds", "Phases of the newest deploy", [*env, "phase"],
                           registry=self.registry)
        self.live = prom.Info("cicd_live_version", "What is live", [*env], registry=self.registry)
        self.verified = prom.Gauge(
            "cicd_verification_passed", "1 when the newest deploy's verification passed", [*env, "version"],
            registry=self.registry,
        )
        self.dora = {
            name: prom.Gauge(f"cicd_dora_{name}", f"DORA {name.replace('_', ' ')} (30 days)", env,
                        registry=self.registry)
            for name in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
        }
        self.pipeline = prom.Gauge("cicd_pipeline_duration_seconds", "The newest pipeline run",
                              ["pipeline", "status"], registry=self.registry)
        self.job = prom.Gauge("cicd_pipeline_job_seconds", "Jobs of the newest pipeline run",
                         ["pipeline", "job", "status"], registry=self.registry)

    def add_environment(self, records: EnvironmentRecords, now: datetime | None = None) -> None:
        name = records.name
        deploys = [d for d in records.deployments if d.kind == "deploy"]
        for status, count in Counter(d.status for d in deploys).items():
            self.deploys.labels(name, status).inc(count)
        rollbacks = sum(1 for d in records.deployments if d.kind == "rollback" or d.status == "rolled_back")
        self.rollbacks.labels(name).inc(rollbacks)
        for item in deploys:
            if item.duration_seconds is not None:
                self.duration.labels(name).observe(item.duration_seconds)
        finished = [d for d in deploys if d.finished_at]
        if finished:
            newest = finished[-1]
            for phase in newest.phases:
                self.phase.labels(name, str(phase.get("name"))).set(float(phase.get("seconds") or 0))
            verify = next((p for p in newest.phases if p.get("name") == "verify"), None)
            if verify is not None:
                passed = verify.get("status") == "succeeded"
                self.verified.labels(name, newest.version).set(1 if passed else 0)
        current = records.current
        if current is not None and current.current_version:
            self.live.labels(name).info({"version": current.current_version, "digest": current.digest or "",
                                         "color": current.live_color or ""})
        self._dora(records, now or datetime.now(UTC))

    def _dora(self, records: EnvironmentRecords, now: datetime) -> None:
        figures = dora.compute(records.deployments, {}, now - timedelta(days=30), now)
        for name, gauge in self.dora.items():
            value = figures[name]["value"]
            if value is not None:
                gauge.labels(records.name).set(value)

    def add_run(self, result: dict[str, Any]) -> None:
        pipeline = str(result.get("name"))
        seconds = float(result.get("duration_seconds") or 0)
        self.pipeline.labels(pipeline, str(result.get("status"))).set(seconds)
        for step in result.get("steps") or []:
            if isinstance(step, dict):
                self.job.labels(pipeline, str(step.get("name")), str(step.get("status"))).set(
                    float(step.get("duration_seconds") or 0)
                )


def collect(records: Sequence[EnvironmentRecords], runs: Sequence[dict[str, Any]]) -> DeliveryMetrics:
    metrics = DeliveryMetrics()
    for item in records:
        if not item.problem:
            metrics.add_environment(item)
    if runs:
        metrics.add_run(runs[-1])
    return metrics


def exposition(metrics: DeliveryMetrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode("utf-8")


def write_textfile(metrics: DeliveryMetrics, path: Path) -> None:
    """For node_exporter's textfile collector: written to a temporary file, then renamed into place."""
    from prometheus_client import write_to_textfile

    write_to_textfile(str(path), metrics.registry)


def push(metrics: DeliveryMetrics, gateway: str, job: str, grouping: dict[str, str]) -> None:
    """Replace this job's group on the Pushgateway (PUT), so a metric gone from the records is gone there."""
    from prometheus_client import push_to_gateway

    push_to_gateway(gateway, job=job, registry=metrics.registry, grouping_key=grouping, timeout=10)
