"""``lifebot leaderboard build``: the static leaderboard site from a folder of submission files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lifebot.cli.options import existing_path


def register(commands) -> None:
    parser = commands.add_parser("leaderboard", help="build the static leaderboard site")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    build = verbs.add_parser("build", help="validate every submissions/*.json and write the site of those that pass")
    build.add_argument("submissions", type=existing_path, help="folder of submission files (*.json)")
    build.add_argument("-o", "--out", type=Path, required=True, help="site folder (index.html, submissions/)")
    build.set_defaults(run=_build)


def _build(args: argparse.Namespace) -> int:
    from lifebot.leaderboard.build import build_site

    site = build_site(args.submissions, args.out)
    for error in site.rejected:
        print(f"left out: {error}", file=sys.stderr)
    tables = len({entry.table for entry in site.entries})
    print(
        f"wrote {site.index}: {len(site.entries)} submission(s) in {tables} table(s), "
        f"{len(site.rejected)} left out (failed validation)"
    )
    return 0
