"""What a notification says: one event, its title, body and severity, the same for every channel."""

from __future__ import annotations

from dataclasses import dataclass

from cicd import secrets

# kind -> (severity for apprise: info | success | warning | failure, title template)
KINDS = {
    "deploy.started": ("info", "Deploying {version} to {environment}"),
    "deploy.succeeded": ("success", "{version} is live on {environment}"),
    "deploy.rolled_back": ("warning", "{version} was rolled back on {environment}"),
    "deploy.failed": ("failure", "Deploy of {version} to {environment} failed"),
    "approval.waiting": ("info", "{version} waits for approval to {environment}"),
    "rollback.done": ("warning", "{environment} rolled back to {version}"),
}


@dataclass(frozen=True)
class DeliveryEvent:
    kind: str
    environment: str
    version: str
    previous_version: str | None = None
    actor: str | None = None
    reason: str | None = None
    url: str | None = None  # the environment, or the run waiting for approval

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event {self.kind!r}; use one of {', '.join(KINDS)}")

    @property
    def severity(self) -> str:
        return KINDS[self.kind][0]

    @property
    def title(self) -> str:
        return secrets.redact(KINDS[self.kind][1].format(version=self.version, environment=self.environment))

    @property
    def body(self) -> str:
        """Markdown lines; every registered secret value is redacted, whatever field it hid in."""
        lines = []
        if self.previous_version:
            lines.append(f"before: {self.previous_version}")
        if self.actor:
            lines.append(f"by: {self.actor}")
        if self.reason:
            lines.append(f"reason: {self.reason}")
        if self.url:
            lines.append(self.url)
        return secrets.redact("\n".join(lines) or self.title)
