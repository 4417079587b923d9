"""Telling the team: deploy started, succeeded, rolled back or failed; approval waiting; rollback done.
Sent through apprise to Slack, Microsoft Teams (Power Automate workflows) or any webhook; a failed
production deploy also opens or updates a GitHub issue with the ledger excerpt."""
