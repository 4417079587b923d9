"""Command-line entry point: argument parsing and the one top-level error handler.

Each verb lives in its own module with `register(subparsers)`; the handler it sets with
`set_defaults(handler=...)` builds a context and calls one core function. Verb modules import only the
standard library at module level (heavy imports go inside handlers) so `cicd --version` stays fast,
and a command registers only its own verb's module (VERB_OWNERS): `cicd rollback` at 3 a.m. does not
build the parsers of the other verbs first.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from cicd import __version__, gha, secrets
from cicd.errors import CicdError, ConfigValidationError

# Modules under cicd.cli that each register one or more verbs, in help order.
VERB_MODULES = (
    "validate", "run", "deploy", "state", "workflows", "github", "reporting", "monitor", "metrics", "notify",
    "supply", "flags", "drill", "postmortem", "promotion", "automerge",
)
# Which module registers each verb: a command loads only its own module, so `cicd rollback` does not
# pay for building the other verbs' parsers (tests/unit/cli/test_parser.py keeps this table true).
VERB_OWNERS = {
    "validate": "validate", "schema": "validate", "run": "run", "graph": "run", "plan": "run",
    "deploy": "deploy", "rollback": "deploy", "accept": "deploy", "status": "deploy",
    "lock": "state", "unlock": "state", "audit": "state", "history": "state",
    "workflows": "workflows", "init": "workflows", "release": "workflows", "github": "github",
    "report": "reporting", "monitor": "monitor", "metrics": "metrics", "notify": "notify",
    "supply": "supply", "flags": "flags", "drill": "drill", "postmortem": "postmortem",
    "promotion": "promotion", "automerge": "automerge",
}  # fmt: skip


# 128 + SIGPIPE: the status a shell reports for a Unix tool stopped by a closed pipe (`yes | head`).
EXIT_BROKEN_PIPE = 141


def verb_modules(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The verb modules a command line needs: the one owning its verb, or all of them when there is
    none or it is unknown (help, a typo: argparse then lists every verb)."""
    if argv is None:
        return VERB_MODULES
    verb = next((arg for arg in argv if not arg.startswith("-")), None)  # top-level options take no value
    owner = VERB_OWNERS.get(verb or "")
    return (owner,) if owner else VERB_MODULES


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv` (its verb's module only), or for every verb when argv is None."""
    parser = argparse.ArgumentParser(
        prog="cicd",
        description="Validate and run pipelines; deploy, verify and roll back services.",
    )
    parser.add_argument("--version", action="version", version=f"cicd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")
    subparsers = parser.add_subparsers(dest="verb", metavar="COMMAND")
    for name in verb_modules(argv):
        importlib.import_module(f"cicd.cli.{name}").register(subparsers)
    return parser


def report_error(err: CicdError) -> None:
    # Not named `report`: importing the verb module cicd.cli.report sets that name on this package.
    """Print an expected error as one line per problem, plus annotations inside Actions."""
    if isinstance(err, ConfigValidationError):
        for problem in err.problems:
            print(problem.render(), file=sys.stderr)
            loc = problem.location
            text = f"{problem.message} ({problem.hint})" if problem.hint else problem.message
            gha.annotate("error", text, file=loc.file, line=loc.line, col=loc.col)
        return
    text = secrets.redact(str(err))
    print(f"error: {text}", file=sys.stderr)
    where = err.location
    gha.annotate(
        "error",
        text,
        file=where.file if where else None,
        line=where.line if where else None,
        col=where.col if where else None,
    )


_OS_ERROR_HINTS = {
    errno.ENOSPC: "free space on that file system (df -h) and re-run",
    errno.EDQUOT: "free space within your quota and re-run",
    errno.EROFS: "the file system is mounted read-only; use a writable location",
    errno.EACCES: "check its permissions (ls -ld) or run as a user who may write there",
    errno.EPERM: "check its permissions (ls -ld) or run as a user who may write there",
    errno.ELOOP: "a symbolic link points to itself, directly or through others; fix or remove it",
}


def os_error_line(err: OSError) -> str:
    """`PATH: what happened (what to do)` from an OSError the command did not expect."""
    where = " -> ".join(str(name) for name in (err.filename, err.filename2) if name is not None)
    what = err.strerror or str(err)
    hint = _OS_ERROR_HINTS.get(err.errno or 0)
    return f"{where + ': ' if where else ''}{what}{f' ({hint})' if hint else ''}"


def reader_went_away() -> int:
    """The reader of stdout closed the pipe (`| head`): stop quietly, as Unix tools do. stdout is
    pointed at /dev/null so the interpreter's last flush has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured): nothing to flush
        pass
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    secrets.install_log_redaction()
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(handler(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not as noise at interpreter exit
        return code
    except BrokenPipeError:  # before any OSError handling: `cicd history | head` is not an error
        return reader_went_away()
    except CicdError as err:
        if args.verbose:
            logging.exception("expected error")
        report_error(err)
        return err.exit_code
    except OSError as err:  # the file system said no: one line naming the path, never a traceback
        if args.verbose:
            logging.exception("file system error")
        report_error(CicdError(os_error_line(err)))
        return 1
    except KeyboardInterrupt as err:
        # Terminated (deploy/interrupts.py) carries the signal that stopped a deploy: 130 SIGINT, 143 SIGTERM
        signum = getattr(err, "signum", 2)
        print("interrupted" if signum == 2 else f"{err}", file=sys.stderr)
        return 128 + signum
    except Exception as err:  # a bug: say so plainly, traceback only with -v
        if args.verbose:
            raise
        detail = secrets.redact(f"{type(err).__name__}: {err}")
        print(f"internal error: {detail} (run with -v for the traceback)", file=sys.stderr)
        return 70
