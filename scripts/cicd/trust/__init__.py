"""Trust-gated auto-merge: score a bot's pull request on the evidence (CI, flakes, similar changes and
their change failure rate, the author's record, the diff size) and merge it only above the policy's
threshold. policy.py (config/automerge.yml), score.py (pure), queries.py (GitHub), history.py (ledger
and deploy history), automerge.py (the lifecycle)."""
