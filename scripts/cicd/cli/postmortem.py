"""`cicd postmortem`: a Markdown timeline of a rolled-back deployment, from the history and the ledger."""

from __future__ import annotations

import argparse
from pathlib import Path

# The ledger entries read to build the timeline (newest first); a deployment older than this many
# entries has a timeline from its deployment record only.
LEDGER_WINDOW = 2000


def register(subparsers: argparse._SubParsersAction) -> None:
    postmortem = subparsers.add_parser(
        "postmortem",
        help="Markdown timeline of a rolled-back deployment: phases, breached measurements, time to restore",
        description="Write a Markdown postmortem of one deployment (default: the newest rolled back, or "
        "the deploy the newest manual rollback undid): its phases with timings, the verification "
        "measurements against the baseline, the rollback with time to detect and time to restore, the "
        "ledger timeline, and headings for cause and actions. Everything comes from the environment's "
        "history and ledger. Inside GitHub Actions it is also appended to the job summary.",
    )
    postmortem.add_argument("--env", required=True, metavar="NAME", help="config/environments/NAME.yml")
    postmortem.add_argument("--config-dir", default="config", type=Path, help="default: config")
    postmortem.add_argument("--deploy", type=int, metavar="ID", help="deployment id (see cicd history)")
    postmortem.add_argument("--output", type=Path, metavar="FILE", help="write here instead of stdout")
    postmortem.add_argument(
        "--from-file", type=Path, metavar="FILE",
        help="publish a postmortem written earlier with --output instead of reading the environment's "
        "state (a job that cannot reach the targets)",
    )  # fmt: skip
    postmortem.add_argument(
        "--issue", action="store_true",
        help="also post it on the environment's open deploy-failure issue on GitHub, opening one when "
        "none is open (needs GITHUB_TOKEN and GITHUB_REPOSITORY)",
    )  # fmt: skip
    postmortem.set_defaults(handler=run_postmortem)


def run_postmortem(args: argparse.Namespace) -> int:
    from cicd import gha

    text = _read(args.from_file) if args.from_file else _render(args)
    gha.append_summary(text)  # inside Actions: on the run's page, where the rollback is looked at
    if args.issue:
        from cicd.notify.incident import attach_postmortem

        number = attach_postmortem(args.env, text)
        print(f"postmortem posted on issue #{number}")
    if args.output is None:
        print(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
        print(f"wrote {args.output}")
    return 0


def _render(args: argparse.Namespace) -> str:
    from cicd.cli.state import open_environment_state
    from cicd.postmortem import choose, render

    store = open_environment_state(args.config_dir, args.env)
    deployment = choose(store.history(200), args.deploy, args.env)
    return render(deployment, store.audit_entries(LEDGER_WINDOW))


def _read(path: Path) -> str:
    from cicd.errors import UsageError

    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read the postmortem {path}: {err}") from err
