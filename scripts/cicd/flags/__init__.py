"""Feature flags in flagd's flag-definition format, read by services through OpenFeature.

Modules: schema (flagd's published JSON Schema, located problems), definitions (pure edits of a flag
file: state, percentage split with `fractional`), publish (the atomic write to every host of an
environment and its ledger entry), rollout (a percentage raised step by step, each step verified like
a canary step).
"""
