"""Traffic switches behind one seam (base.Router): nginx and HAProxy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cicd.deploy.routers.base import Router

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import HaproxyRouter, NginxRouter


def build_router(settings: NginxRouter | HaproxyRouter, *, environment: str) -> Router:
    if settings.kind == "haproxy":
        from cicd.deploy.routers.haproxy import HaproxyTrafficRouter

        return HaproxyTrafficRouter(settings, environment=environment)
    from cicd.checks.accesslog import LOG_FORMAT
    from cicd.deploy.routers.nginx import NginxTrafficRouter

    return NginxTrafficRouter(settings, environment=environment, log_format=LOG_FORMAT)
