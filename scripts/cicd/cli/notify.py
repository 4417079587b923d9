"""`cicd notify EVENT`: tell the team's channels (CICD_NOTIFY_URLS) about a delivery event, e.g. from a
workflow step while a production deploy waits for approval. Deploys and rollbacks announce their own."""

from __future__ import annotations

import argparse

from cicd.errors import CicdError

EVENTS = ("deploy.started", "deploy.succeeded", "deploy.rolled_back", "deploy.failed", "approval.waiting",
          "rollback.done")


def register(subparsers: argparse._SubParsersAction) -> None:
    notify = subparsers.add_parser(
        "notify",
        help="send a delivery event to Slack, Teams or webhooks (CICD_NOTIFY_URLS)",
        description="Send one event to every apprise URL in CICD_NOTIFY_URLS. Exit 1 when a channel "
        "did not take it.",
    )
    notify.add_argument("event", choices=EVENTS)
    notify.add_argument("--env", required=True, metavar="NAME", help="environment")
    notify.add_argument("--version", required=True, dest="release", metavar="VERSION")
    notify.add_argument("--previous", metavar="VERSION", help="the version live before")
    notify.add_argument("--reason", help="why (one line)")
    notify.add_argument("--url", help="a link: the environment, or the run waiting for approval")
    notify.set_defaults(handler=run_notify)


def run_notify(args: argparse.Namespace) -> int:
    from cicd import identity
    from cicd.inputs import check_version, reason_from_user
    from cicd.notify.events import DeliveryEvent
    from cicd.notify.send import URLS_VARIABLE, configured_urls, send

    check_version(args.release)
    urls = configured_urls()
    if not urls:
        raise CicdError(f"no notification channels: {URLS_VARIABLE} is empty",
                        hint="set it to apprise URLs, e.g. a Slack incoming webhook URL")
    event = DeliveryEvent(args.event, args.env, args.release, args.previous, identity.actor(),
                          reason_from_user(args.reason), args.url)
    problems = send(event, urls)
    if problems:
        raise CicdError("; ".join(problems))
    print(f"{args.event} sent to {len(urls)} channel(s)")
    return 0
