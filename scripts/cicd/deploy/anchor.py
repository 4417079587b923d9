"""The ledger's anchor: its head kept beside the router config on every host, outside the database.

The hash chain finds any edit inside the database, but a database deleted, truncated or swapped for a
fresh one reads as an intact, shorter chain. So every finished deploy or rollback writes the ledger's
head ({environment, seq, hash}) to `ledger-head.json` next to the router config on each host, with an
HMAC-SHA256 of it when the environment sets the secret CICD_LEDGER_KEY: a full rewrite of the
database and the anchor by someone without the key no longer verifies.

`audit verify` compares the chain with every anchor (and with `--anchor HASH`, e.g. the head published
in the GitHub deployment). A deploy or rollback that finds the chain short of its anchor does not stop
(a 3 a.m. rollback must go on) but says so and records the gap in the chain it continues.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from typing import Any

from cicd import secrets
from cicd.errors import CicdError

ANCHOR_FILE = "ledger-head.json"
KEY_VARIABLE = "CICD_LEDGER_KEY"
log = logging.getLogger(__name__)


def _key() -> bytes | None:
    value = os.environ.get(KEY_VARIABLE)
    if not value:
        return None
    secrets.register(value)
    return value.encode()


def sign(key: bytes, environment: str, seq: int, digest: str) -> str:
    return hmac.new(key, f"{environment}\n{seq}\n{digest}".encode(), hashlib.sha256).hexdigest()


def _path(target: Any, host: Any) -> str:
    return os.path.join(target.router.prefix(host), ANCHOR_FILE)


def write(target: Any, head: dict) -> None:
    """Keep `head` beside the router config on every host; a host that cannot take it is reported,
    not fatal (the deploy it ends already happened)."""
    if not head.get("seq"):
        return
    body: dict[str, Any] = {"environment": target.environment, "seq": head["seq"], "hash": head["hash"]}
    key = _key()
    if key is not None:
        body["mac"] = sign(key, target.environment, head["seq"], head["hash"])
    for host in target.hosts:
        try:
            host.put(_path(target, host), json.dumps(body).encode())
        except CicdError as err:
            log.warning("could not keep the ledger head on %s: %s", host.name, err)


def read(target: Any) -> list[tuple[str, dict | None]]:
    """(host name, anchor) for every host; None where there is none yet."""
    found = []
    for host in target.hosts:
        raw = host.get(_path(target, host))
        try:
            anchor = json.loads(raw) if raw else None
        except ValueError:
            anchor = {"unreadable": True}
        found.append((host.name, anchor if isinstance(anchor, dict) else None))
    return found


def problems(target: Any, record: Any, external: str | None = None) -> list[str]:
    """Every way the chain in the database disagrees with an anchor; empty when it agrees."""
    key = _key()
    found = []
    anchors = read(target)
    for host_name, anchor in anchors:
        if anchor is not None:
            found += _anchor_problems(f"the anchor on {host_name}", anchor, record, key, target.environment)
    if not any(anchor for _, anchor in anchors) and not record.ledger_head().get("seq"):
        traffic = target.router.read(target.primary)
        if traffic is not None and traffic.weight(traffic.live_color) > 0:
            found.append("a version is live but the ledger is empty: the database was deleted or replaced")
    if external and record.ledger_seq_of(external.strip().lower()) is None:
        found.append(f"the ledger holds no entry with hash {external}: it was rewritten or replaced")
    return found


def _anchor_problems(where: str, anchor: dict, record: Any, key: bytes | None, environment: str) -> list[str]:
    if anchor.get("unreadable"):
        return [f"{where} ({ANCHOR_FILE}) is unreadable"]
    seq, digest = anchor.get("seq"), anchor.get("hash")
    if not isinstance(seq, int) or not isinstance(digest, str):
        return [f"{where} ({ANCHOR_FILE}) has no seq and hash"]
    found = []
    if key is not None:
        mac = anchor.get("mac")
        if not mac:
            found.append(f"{where} is not signed although {KEY_VARIABLE} is set")
        elif not hmac.compare_digest(mac, sign(key, environment, seq, digest)):
            found.append(f"{where} fails its {KEY_VARIABLE} MAC: it was written without the key")
    have = record.ledger_hash_at(seq)
    if have is None:
        head = record.ledger_head().get("seq", 0)
        found.append(
            f"{where} records entry {seq} ({digest}) but the ledger ends at entry {head}: the state "
            "database was deleted, truncated or replaced"
        )
    elif have != digest:
        found.append(f"{where} records entry {seq} as {digest} but the ledger has {have}: it was rewritten")
    return found


def reconcile(target: Any, record: Any, out: Any) -> None:
    """Before a deploy or rollback changes anything: say so when the chain lost what an anchor holds,
    and record the gap in the chain that continues (the anchor then moves on with it)."""
    found = problems(target, record)
    for problem in found:
        out.phase("warn", "ledger", problem)
    if found:
        record.audit({"action": "ledger.gap", "outcome": "recorded", "details": {"problems": found}})
