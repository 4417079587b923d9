"""Plain-text views of the history, the ledger and the lock, for terminals and CI logs."""

from __future__ import annotations

from collections.abc import Sequence

from cicd.inputs import printable
from cicd.state.records import AuditEntry, AuditReport, Deployment, LockInfo


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _short_time(stamp: str | None) -> str:
    """`2026-11-22T07:13:42.911Z` -> `2026-11-22 07:13:42`"""
    return stamp.replace("T", " ")[:19] if stamp else "-"


def _clip(text: str | None, limit: int = 60) -> str:
    text = " ".join(printable(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_table(environment: str, deployments: Sequence[Deployment]) -> str:
    if not deployments:
        return f"no deployments recorded for {environment} yet"
    rows = [
        [
            str(d.id),
            _short_time(d.started_at),
            d.kind,
            d.version,
            d.status,
            (d.verification or {}).get("phase", "-"),
            f"{d.duration_seconds:.1f}s" if d.duration_seconds is not None else "-",
            d.actor + (f" (run {d.run_id})" if d.run_id else ""),
            _clip(d.error or d.reason),
        ]
        for d in deployments
    ]
    headers = ["ID", "STARTED (UTC)", "KIND", "VERSION", "STATUS", "VERIFIED", "TOOK", "BY", "REASON / ERROR"]
    return _table(headers, rows)


def ledger_table(environment: str, entries: Sequence[AuditEntry]) -> str:
    if not entries:
        return f"the ledger of {environment} is empty"
    rows = [
        [
            str(e.seq),
            _short_time(e.time),
            e.actor or "-",
            _identity_kind(e.identity),
            e.action,
            e.version or "-",
            e.outcome or "-",
            _clip(e.reason, 50),
            (e.hash or "")[:12],
        ]
        for e in entries
    ]
    headers = ["SEQ", "TIME (UTC)", "ACTOR", "IDENTITY", "ACTION", "VERSION", "OUTCOME", "REASON", "HASH"]
    return _table(headers, rows)


def _identity_kind(identity: dict | None) -> str:
    """`github-actions run 42 (Rollback)`, `local`, or `-` for entries older than the identity stamp."""
    if not identity:
        return "-"
    kind = str(identity.get("kind") or "-")
    if identity.get("run_id"):
        kind += f" run {identity['run_id']}"
    if identity.get("workflow"):
        kind += f" ({identity['workflow']})"
    return kind


def verify_line(environment: str, report: AuditReport) -> str:
    if report.ok:
        head = f", head {report.head_hash}" if report.head_hash else ""
        return f"ledger of {environment} intact: {report.entries} entries{head}"
    return (
        f"ledger of {environment} has been tampered with at seq {report.first_bad_seq}: {report.reason} "
        f"({report.entries} entries verified before it)"
    )


def lock_line(environment: str, lock: LockInfo | None) -> str:
    if lock is None:
        return f"{environment} is not locked"
    ttl = "no expiry" if lock.ttl_seconds is None else f"ttl {lock.ttl_seconds:g}s"
    stale = ", STALE: the next deploy takes it over" if lock.stale else ""
    return f"{environment} is locked by {lock.describe()} ({lock.purpose}, {ttl}{stale})"
