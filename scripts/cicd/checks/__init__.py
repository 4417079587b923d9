"""The gates around a traffic switch: health gate, smoke tests, post-switch verification.

Public interface (what the deploy orchestrator calls):

    wait_healthy(base_url, settings: HealthCheck, *, host_header=None, is_alive=None) -> GateResult
    run_smoke(base_url, checks: list[SmokeCheck], host_header=None) -> SmokeReport
    measure_baseline(base_url, settings: Verification, health: HealthCheck, *, log, upstreams,
                     host_header=None) -> Baseline                      # before the switch
    verify(base_url, settings: Verification, health: HealthCheck, *, log, upstreams, baseline,
           host_header=None, on_interval=None, skip_existing=True, concurrent_upstreams=None)
           -> VerificationResult                                           # after the switch
    VerificationRun(same arguments).start() / .tick() -> IntervalReport / .done / .finish()
    FileLogSource(path) / HostLogSource(host, path) / log_source_for(host, path)  # the access log
    accesslog.LOG_FORMAT_NAME, accesslog.LOG_FORMAT, accesslog.log_format_directive()

Every gate takes an optional `prober` (hosts/probe.py's probe by default; remote.curl_prober(host) to
probe from a remote host). None of them raises for an unhealthy version: results carry `ok`, one-line
`reason` and figures; the orchestrator turns a failure into HealthCheckError / a switch back.
"""

from cicd.checks.accesslog import LOG_FORMAT, LOG_FORMAT_NAME, log_format_directive
from cicd.checks.baseline import measure_baseline
from cicd.checks.health import GateResult, wait_healthy
from cicd.checks.http import ProbeResult, probe
from cicd.checks.logsource import FileLogSource, LogSource, LogUnavailableError
from cicd.checks.metrics import WindowStats
from cicd.checks.remote import HostLogSource, curl_prober, log_source_for
from cicd.checks.smoke import SmokeReport, SmokeResult, run_smoke
from cicd.checks.verdict import Baseline, Phase
from cicd.checks.verify import IntervalReport, VerificationResult, VerificationRun, verify

__all__ = [
    "LOG_FORMAT",
    "LOG_FORMAT_NAME",
    "Baseline",
    "FileLogSource",
    "GateResult",
    "HostLogSource",
    "IntervalReport",
    "LogSource",
    "LogUnavailableError",
    "Phase",
    "ProbeResult",
    "SmokeReport",
    "SmokeResult",
    "VerificationResult",
    "VerificationRun",
    "WindowStats",
    "curl_prober",
    "log_format_directive",
    "log_source_for",
    "measure_baseline",
    "probe",
    "run_smoke",
    "verify",
    "wait_healthy",
]
