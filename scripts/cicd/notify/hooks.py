"""The announcements `cicd deploy` and `cicd rollback` make, in as few calls as their handlers need:
nothing is imported or sent unless CICD_NOTIFY_URLS names a channel (or, for a failed production
deploy, GitHub is configured), and nothing here can fail the deploy it reports on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cicd.errors import CicdError
from cicd.notify.events import DeliveryEvent
from cicd.notify.send import announce, configured_urls


class DeployNotices:
    def __init__(self, config_dir: Path, env: Any, version: str, reason: str | None, *, dry_run: bool):
        from cicd import identity

        self.config_dir, self.env, self.version, self.reason = config_dir, env, version, reason
        self.actor = identity.actor()
        self.active = not dry_run and bool(configured_urls())

    def _event(self, kind: str, previous: str | None = None, reason: str | None = None) -> DeliveryEvent:
        return DeliveryEvent(kind, self.env.name, self.version, previous, self.actor, reason or self.reason,
                             self.env.url)

    def started(self) -> None:
        if self.active:
            announce(self._event("deploy.started"))

    def finished(self, outcome: Any) -> None:
        if self.active and outcome.status in ("succeeded", "rolled_back", "failed"):
            kind = "deploy.succeeded" if outcome.status == "succeeded" else f"deploy.{outcome.status}"
            announce(self._event(kind, outcome.previous_version))

    def failed(self, error: CicdError) -> None:
        """After a deploy raised: rolled back or failed, as its history record says."""
        if not self.active and self.env.type != "production":
            return
        record = self._newest()
        status = getattr(record, "status", None)
        kind = "deploy.rolled_back" if status == "rolled_back" else "deploy.failed"
        if self.active:
            announce(self._event(kind, getattr(record, "previous_version", None), str(error)))
        if self.env.type == "production" and record is not None:
            from cicd.notify.incident import report_failed_deploy

            report_failed_deploy(self.config_dir, self.env.name, record)

    def _newest(self) -> Any:
        from cicd.cli.state import open_environment_state

        try:
            rows = open_environment_state(self.config_dir, self.env.name).history(1, kind="deploy")
        except CicdError as err:
            print(f"warning: cannot read the history for notifications: {err}", file=sys.stderr)
            return None
        return rows[0] if rows and rows[0].version == self.version else None


def rollback_done(env: Any, outcome: Any) -> None:
    if configured_urls() and outcome.status == "succeeded" and outcome.live_version:
        from cicd import identity

        announce(DeliveryEvent("rollback.done", env.name, outcome.live_version, outcome.previous_version,
                               identity.actor(), None, env.url))
