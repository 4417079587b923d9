"""The trust summary of an audit bundle: for each deploy in the excerpt, what it passed and who ran it.

Built only from ledger entries (deploy.finish / rollback.finish, the deploy.figures that follow
them, release.known_good, supply.verify) and the attestations found, so every claim in it can be
traced to a signed line of the excerpt.
"""

from __future__ import annotations


def summary(excerpt: list[dict], copied: dict[str, list[str]], *, approval_required: bool) -> dict:
    verdicts: dict[str, dict] = {}
    deploys: list[dict] = []
    # A version is known good once its verification was Successful (deploy/runner.py marks it).
    known_good = {e.get("version") for e in excerpt if e.get("action") == "release.known_good"}
    for entry in excerpt:
        action = entry.get("action")
        if action == "supply.verify" and entry.get("digest"):
            verdicts[entry["digest"]] = entry
        elif action in ("deploy.finish", "rollback.finish"):
            deploys.append(_deploy(entry, verdicts.get(entry.get("digest") or ""), copied, approval_required))
            deploys[-1]["known_good"] = entry.get("version") in known_good
        elif action == "deploy.figures" and deploys:
            deploys[-1]["figures"] = entry.get("details") or {}  # error rate, latency, verification
    return {
        "deploys": deploys,
        "counts": {
            "deploys": len(deploys),
            "succeeded": sum(1 for d in deploys if d["outcome"] == "succeeded"),
            "supply_chain_verified": sum(1 for d in deploys if d["supply_chain"]["accepted"]),
            "with_provenance": sum(1 for d in deploys if "provenance" in d["attestations"]),
            "with_sbom": sum(1 for d in deploys if "sbom" in d["attestations"]),
            "known_good": sum(1 for d in deploys if d["known_good"]),
        },
    }


def _deploy(entry: dict, verdict: dict | None, copied: dict[str, list[str]], approval_required: bool) -> dict:
    details = entry.get("details") or {}
    timings = details.get("timings") if isinstance(details, dict) else None
    digest = entry.get("digest")
    return {
        "seq": entry.get("seq"),
        "hash": entry.get("hash"),
        "kind": str(entry.get("action", "")).split(".", 1)[0],
        "version": entry.get("version"),
        "digest": digest,
        "outcome": entry.get("outcome"),
        "actor": entry.get("actor"),
        "run_id": entry.get("run_id"),
        "time": entry.get("time"),
        # Phases the deploy went through, in order (health gate, smoke tests, switch, verification...).
        "phases": sorted(timings) if isinstance(timings, dict) else [],
        "approval_required": approval_required,
        "supply_chain": _verdict(verdict),
        "attestations": copied.get(digest or "", []),
        "figures": {},
    }


def _verdict(entry: dict | None) -> dict:
    if entry is None:
        return {"accepted": False, "checked": False, "seq": None, "passed": [], "reasons": []}
    details = entry.get("details") or {}
    return {
        "accepted": entry.get("outcome") == "accepted",
        "checked": True,
        "seq": entry.get("seq"),
        "passed": details.get("passed", []),
        "reasons": details.get("reasons", []),
    }
