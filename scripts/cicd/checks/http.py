"""The HTTP probe the gates use, under the names they import: cicd/hosts/probe.py."""

from cicd.hosts.probe import BODY_EXCERPT_BYTES, USER_AGENT, Prober, ProbeResult, join_url, probe

__all__ = ["BODY_EXCERPT_BYTES", "USER_AGENT", "ProbeResult", "Prober", "join_url", "probe"]
