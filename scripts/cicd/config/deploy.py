"""Deploy settings of an environment (the `deploy:` block of config/environments/<name>.yml).

Everything the orchestrator needs is here: where versions run (hosts), how (runtime), how traffic
moves (router), and the gates around the switch. Relative paths resolve against the project root on
local hosts and against the login directory on ssh hosts; `{environment}` in a path is filled in.
docs/DEPLOYMENT.md has the reference with every default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from cicd import inputs

Port = Annotated[int, Field(ge=1, le=65_535)]
HostName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
# Values that end up in a router config, an argv or an HTTP request: checked for that syntax.
RouterPath = Annotated[str, AfterValidator(inputs.check_router_path)]
ArgvPath = Annotated[str, AfterValidator(inputs.check_argv_path)]
HostAddress = Annotated[str, AfterValidator(inputs.check_host_address)]
UrlPath = Annotated[str, AfterValidator(inputs.check_url_path)]
HeaderValue = Annotated[str, AfterValidator(inputs.check_header_value)]
UserName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", max_length=64)]


class _Strict(BaseModel):
    # Validators are built on first use, not at import: most commands never validate a deploy block.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class HostSpec(_Strict):
    name: HostName
    transport: Literal["local", "ssh"] = "local"
    address: HostAddress = "127.0.0.1"
    port: Port = 22
    user: UserName | None = None
    identity_file: ArgvPath | None = None
    known_hosts_file: ArgvPath | None = None


class ProcessRuntime(_Strict):
    kind: Literal["process"] = "process"
    # argv template; {port}, {version}, {color} and {release_dir} are filled in per slot.
    command: list[str] = Field(min_length=1)
    releases_dir: ArgvPath = ".cicd/releases/{environment}"
    # pid files and per-slot logs of the running colors
    run_dir: ArgvPath = ".cicd/run/{environment}"
    # what `cicd deploy` ships when no --artifact is given: a directory or .tar.gz on the deploying machine
    default_artifact: ArgvPath = "examples/service"
    # glob patterns (relative to the artifact) of what ships; empty: what git would ship (.gitignore)
    include: list[str] = Field(default_factory=list)
    stop_grace_seconds: float = Field(10.0, ge=0, le=600)
    env: dict[str, str] = Field(default_factory=dict)
    # names of the deployer's secrets handed to the service (nothing else of its environment is)
    secrets: list[EnvName] = Field(default_factory=list)
    # what restarts a crashed command: cicd's own restart loop, or one systemd unit per color on hosts
    # whose service manager is systemd (runtimes/systemd.py)
    supervisor: Literal["builtin", "systemd"] = "builtin"

    @model_validator(mode="after")
    def _no_exec_prefix(self) -> ProcessRuntime:
        # systemd reads these at the start of ExecStart's first word even when quoted ("-app": ignore
        # its failure, "+app": full privileges), so such a program name cannot be said to it
        if self.supervisor == "systemd" and self.command[0].startswith(tuple("-@:+!|")):
            raise ValueError(
                f"command starts with {self.command[0]!r}: under supervisor: systemd a leading "
                f"{self.command[0][0]!r} is an ExecStart prefix; name the program without it"
            )
        return self


class DockerRuntime(_Strict):
    kind: Literal["docker"] = "docker"
    image: str = Field(description="repository without tag; the version is the tag unless --artifact")
    container_port: Port = 8080
    env: dict[str, str] = Field(default_factory=dict)
    secrets: list[EnvName] = Field(default_factory=list)


class Slot(_Strict):
    port: Port


class Colors(_Strict):
    blue: Slot
    green: Slot


ListenAddress = Annotated[
    str,
    Field(pattern=r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$"),
    AfterValidator(inputs.check_listen),
]


class _RouterSettings(_Strict):
    listen: ListenAddress = "127.0.0.1:8080"
    # private: smoke tests reach the idle color here before any live traffic does; bind it to loopback
    preview_listen: ListenAddress = "127.0.0.1:8081"
    # after a switch, a switch back, a canary abort or a rolling host: how long to wait for requests
    # still in flight to the color switched away from before it may be stopped
    drain_timeout_seconds: float = Field(30.0, ge=0, le=3600)

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def preview_port(self) -> int:
        return int(self.preview_listen.rsplit(":", 1)[1])


class NginxRouter(_RouterSettings):
    kind: Literal["nginx"] = "nginx"
    prefix: RouterPath = ".cicd/nginx/{environment}"
    binary: ArgvPath = "nginx"


class HaproxyRouter(_RouterSettings):
    """HAProxy: traffic moves through its runtime API (server weights) on a unix socket, never a reload."""

    kind: Literal["haproxy"] = "haproxy"
    prefix: RouterPath = ".cicd/haproxy/{environment}"
    binary: ArgvPath = "haproxy"


# A router block without `kind` is nginx: an environment file written before HAProxy existed has nginx
# holding its listen port, and must keep it. New environment files say `kind: haproxy`, the router
# that switches without dropping a keep-alive connection (bench/zero_downtime.py).
DEFAULT_ROUTER_KIND = "nginx"


def _router_kind(value: object) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else DEFAULT_ROUTER_KIND


RouterSettings = Annotated[
    Annotated[HaproxyRouter, Tag("haproxy")] | Annotated[NginxRouter, Tag("nginx")],
    Discriminator(_router_kind),
]


class HealthCheck(_Strict):
    path: UrlPath = "/healthz"
    expected_status: int = Field(200, ge=100, le=599)
    interval_seconds: float = Field(1.0, gt=0, le=60)
    timeout_seconds: float = Field(30.0, gt=0, le=3600)
    host_header: HeaderValue | None = None


class SmokeCheck(_Strict):
    name: str
    path: UrlPath
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expected_status: int = Field(200, ge=100, le=599)
    contains: str | None = None


class PromQLCheck(_Strict):
    name: str = Field(min_length=1, max_length=64)
    # one number: a scalar or a one-series vector (sum(...)); no series yet breaches nothing
    query: str = Field(min_length=1, max_length=2000)
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> PromQLCheck:
        if self.max is None and self.min is None:
            raise ValueError(f"query {self.name!r} needs a threshold: set max, min or both")
        return self


class PrometheusSource(_Strict):
    """PromQL thresholds checked at every verification interval, beside the access log."""

    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    queries: list[PromQLCheck] = Field(min_length=1)
    timeout_seconds: float = Field(2.0, gt=0, le=30)


class Verification(_Strict):
    window_seconds: float = Field(60.0, ge=0, le=86_400)
    interval_seconds: float = Field(1.0, gt=0, le=600)
    max_error_rate: float = Field(0.05, ge=0, le=1)
    max_latency_ratio: float = Field(2.0, gt=0)
    probe_path: UrlPath | None = None
    # judging needs this many requests (log lines + probes); fewer by the end of the window: Inconclusive
    min_samples: int = Field(10, ge=1)
    # a baseline p95 below this counts as this: doubling a few ms is scheduler noise on a busy host
    latency_floor_ms: float = Field(25.0, ge=0)
    # a threshold breached at this many checks in a row: Failed (one noisy interval is not enough)
    breach_intervals: int = Field(2, ge=1)
    # active probes failing this many times in a row: Failed
    max_probe_failures: int = Field(3, ge=1)
    # the access log unreadable this many times in a row: Error (a broken metrics source, not the app)
    consecutive_error_limit: int = Field(4, ge=1)
    # too little traffic even after active probes topped the window up: `keep` the version live but
    # unverified (never known good), `rollback` to the warm color, or `pause` for a person to decide
    # (exit 5, both colors up). Default: pause on a production environment, keep elsewhere.
    on_inconclusive: Literal["keep", "rollback", "pause"] | None = None
    prometheus: PrometheusSource | None = None
    # a Failed verification first turns this feature flag off (config/flags/<env>.json, the kill switch)
    # and verifies again: the release stays when the flag was the fault, else it is rolled back
    disable_flag: str | None = Field(None, min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")


class Hooks(_Strict):
    pre_deploy: list[list[str]] = Field(default_factory=list)
    post_deploy: list[list[str]] = Field(default_factory=list)
    # hooks see PATH, HOME, LANG, CICD_ENVIRONMENT, CICD_VERSION and only what is declared here
    env: dict[str, str] = Field(default_factory=dict)
    secrets: list[EnvName] = Field(default_factory=list)


class CanaryStep(_Strict):
    weight: int = Field(ge=1, le=100)
    pause_seconds: float = Field(0, ge=0)


class Promotion(_Strict):
    """Hands-off production (docs/DEPLOYMENT.md, "Hands-off production"): a deploy stops at the first
    canary weight, and `cicd promotion advance` (a scheduled workflow) moves it on once each step has
    been healthy for `step_delay_seconds`, watches `monitor_seconds` at 100 %, then promotes."""

    # no approval gate: the GitHub Environment has no required reviewer (environments check warns)
    automatic: bool = False
    # canary weights in percent before 100 (100 itself is the step the monitor window follows)
    steps: list[Annotated[int, Field(ge=1, le=99)]] = Field(default_factory=lambda: [5, 25, 50], min_length=1)
    step_delay_seconds: float = Field(300.0, ge=0, le=86_400)
    monitor_seconds: float = Field(1800.0, ge=0, le=7 * 86_400)
    # a breach: traffic back to the stable color (true) or pause for a person with both colors up (false)
    rollback_on_breach: bool = True
    # a healthy step moves on by itself (true) or waits, paused, for `cicd promotion resume` (false)
    auto_promote: bool = True

    @model_validator(mode="after")
    def _steps_rise(self) -> Promotion:
        if self.steps != sorted(set(self.steps)):
            raise ValueError(f"steps must rise strictly, e.g. [5, 25, 50] (got {self.steps})")
        return self


class Drill(_Strict):
    # `cicd status` and `cicd drill --last` warn when the last passed rollback drill is older than this
    max_age_days: float = Field(7.0, gt=0, le=366)


class DeploySettings(_Strict):
    strategy: Literal["blue_green", "canary", "rolling", "recreate"] = "blue_green"
    hosts: list[HostSpec] = Field(
        default_factory=lambda: [HostSpec.model_construct(name="local")], min_length=1
    )
    runtime: Annotated[ProcessRuntime | DockerRuntime, Field(discriminator="kind")]
    colors: Colors
    router: RouterSettings = Field(default_factory=NginxRouter.model_construct)
    health: HealthCheck = Field(default_factory=HealthCheck.model_construct)
    smoke: list[SmokeCheck] = Field(default_factory=list)
    verification: Verification = Field(default_factory=Verification.model_construct)
    canary_steps: list[CanaryStep] = Field(default_factory=list)
    warm_seconds: float = Field(300.0, ge=0, description="old color kept up after the switch")
    releases_to_keep: int = Field(5, ge=1, le=100)
    state_path: ArgvPath = ".cicd/state/{environment}.db"
    # the deploy lock expires this long after the last heartbeat, so a killed deploy frees it soon
    lock_ttl_seconds: float = Field(30.0, ge=2, le=3600)
    hooks: Hooks = Field(default_factory=Hooks.model_construct)
    promotion: Promotion | None = None
    drill: Drill | None = None  # None: drills are not expected here (no warning)

    @model_validator(mode="after")
    def _ports_distinct(self) -> DeploySettings:
        ports = {
            "colors.blue.port": self.colors.blue.port,
            "colors.green.port": self.colors.green.port,
            "router.listen": self.router.listen_port,
            "router.preview_listen": self.router.preview_port,
        }
        seen: dict[int, str] = {}
        for key, port in ports.items():
            if port in seen:
                raise ValueError(f"{key} uses port {port}, already used by {seen[port]}; give each its own")
            seen[port] = key
        return self

    @model_validator(mode="after")
    def _canary_steps_rise(self) -> DeploySettings:
        weights = [step.weight for step in self.canary_steps]
        if weights != sorted(set(weights)):
            raise ValueError(f"canary_steps weights must rise strictly, e.g. 5, 25, 100 (got {weights})")
        return self
