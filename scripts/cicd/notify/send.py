"""Sending an event to every configured channel through apprise (one library for Slack, Teams and
webhooks; no hand-written HTTP per service).

Channels are apprise URLs in CICD_NOTIFY_URLS (space or comma separated), e.g.
  https://hooks.slack.com/services/T000/B000/XXXX   (Slack incoming webhook)
  workflows://prod-1.westus.logic.azure.com/WORKFLOW/SIGNATURE   (Teams, through Power Automate)
  json://hooks.example.com/deploys   (any webhook: apprise's JSON body)
The URLs carry tokens, so each is registered as a secret and never printed. A channel that cannot be
reached gives a warning: a chat being down never fails a deploy or a rollback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence

from cicd import secrets
from cicd.notify.events import DeliveryEvent

URLS_VARIABLE = "CICD_NOTIFY_URLS"


def configured_urls(environ: dict[str, str] | None = None) -> list[str]:
    text = (os.environ if environ is None else environ).get(URLS_VARIABLE, "")
    urls = [url for url in re.split(r"[\s,]+", text) if url]
    for url in urls:
        secrets.register(url)
    return urls


def send(event: DeliveryEvent, urls: Sequence[str]) -> list[str]:
    """Send to each URL; the problems, one line each (URLs redacted). Empty: all delivered."""
    import logging

    import apprise

    secrets.install_log_redaction(logging.getLogger("apprise"))  # its warnings may quote a URL
    problems = []
    for number, url in enumerate(urls, 1):
        channel = apprise.Apprise()
        if not channel.add(url):
            problems.append(f"notification channel {number} of {URLS_VARIABLE} is not a URL apprise knows")
            continue
        if not channel.notify(title=event.title, body=event.body, notify_type=event.severity,
                              body_format=apprise.NotifyFormat.MARKDOWN):
            problems.append(f"notification channel {number} of {URLS_VARIABLE} did not accept {event.kind}")
    return problems


def announce(event: DeliveryEvent) -> None:
    """Send to the configured channels, if any; problems become warnings on stderr."""
    urls = configured_urls()
    if not urls:
        return
    for problem in send(event, urls):
        print(f"warning: {secrets.redact(problem)}", file=sys.stderr)
