"""Supply chain: what production accepts, and proof of what it ran.

- `keys`, `dsse`, `statement`: in-toto statements (SLSA provenance, CycloneDX SBOM) about one digest,
  signed in DSSE envelopes with an ed25519 key (the local stand-in for Sigstore's keyless signing).
- `attestations`: the local attestation store, one folder per digest.
- `verify`: the one verification seam. Locally it checks DSSE signatures against trusted keys; in
  GitHub Actions it builds `gh attestation verify` and `cosign verify` commands with the expected identity.
- `bundle`, `bundle_check`: signed audit bundles of an environment's ledger and what it deployed.
- `scan_policy`: the one file that says which scanner findings fail the build, and until when an
  ignore holds.
- `conventional`, `changelog`: Conventional Commits checked on pull requests, the next version and
  the changelog from the tags (`cicd release check|next|changelog`).
"""
