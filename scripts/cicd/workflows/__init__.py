"""Support for the GitHub Actions workflow suite: action pins, test shards, the CI report, the deploy
steps of the reusable deploy workflow, and release notes from Conventional Commits."""
