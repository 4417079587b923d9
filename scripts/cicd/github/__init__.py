"""Talking to GitHub's REST API: one retrying session (client), the sticky pull-request comment
(comments), deployments and their statuses (deployments), check runs with annotations (checks), and
workflow dispatch and runs (actions). Settings come from the variables GitHub Actions sets (settings).

Import the submodules you need; this package imports nothing heavy itself, so `cicd --version` stays fast.
"""
