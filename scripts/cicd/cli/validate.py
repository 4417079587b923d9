"""`cicd validate`: check the pipeline and environment files, every problem at once, one line each.
`cicd schema`: write the JSON Schema of both file kinds for editors (yaml-language-server)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's verbs to the top-level parser."""
    parser = subparsers.add_parser(
        "validate",
        help="check config/pipeline.yml and config/environments/*.yml",
        description="Check the pipeline and environment files and report every problem, one line each: "
        "FILE:LINE:COL: error: message (key path). Exit 0 when valid, 1 when not, 2 on usage errors.",
    )
    parser.add_argument(
        "--config-dir", type=Path, default=None, metavar="DIR", help="config directory (default: config)"
    )
    parser.add_argument(
        "--require-secrets",
        action="store_true",
        help="also fail when a secret named in a 'secrets:' list is not set",
    )
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="check only these files (default: the whole config directory)",
    )
    parser.set_defaults(handler=run_validate)

    schema = subparsers.add_parser(
        "schema",
        help="write the JSON Schema of the config files",
        description="Write pipeline.schema.json, environment.schema.json and automerge.schema.json for "
        "editor completion.",
    )
    schema.add_argument(
        "--output-dir",
        type=Path,
        default=Path("config/schema"),
        metavar="DIR",
        help="where to write them (default: config/schema)",
    )
    schema.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the files in DIR are not current"
    )
    schema.set_defaults(handler=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    from cicd.config.validation import validate_config

    count = validate_config(args.config_dir, args.files, require_secrets=args.require_secrets)
    print(f"ok: {count} file{'s' if count != 1 else ''} valid")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from cicd.config.schema import check_schemas, write_schemas

    if args.check:
        check_schemas(args.output_dir)
        print(f"ok: schemas in {args.output_dir} are current")
        return 0
    for path in write_schemas(args.output_dir):
        print(f"wrote {path}")
    return 0
