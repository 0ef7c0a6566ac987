"""``lifebot submit make | validate | verify``: leaderboard submissions from runs, checked and re-measured."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lifebot.cli.options import existing_path, positive


def register(commands) -> None:
    parser = commands.add_parser("submit", help="make, validate and verify leaderboard submissions")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    make = verbs.add_parser("make", help="build a submission file from a finished run directory")
    make.add_argument("run_dir", type=existing_path, help="a finished run directory")
    make.add_argument("--method", required=True, help="the method's name on the leaderboard")
    make.add_argument("--description", default="", help="what the method is (free text)")
    make.add_argument("-o", "--out", type=Path, help="where to write it (default: <run_dir>/submission.json)")
    make.set_defaults(run=_make)

    validate = verbs.add_parser("validate", help="check the schema, the protocol and every claimed metric")
    validate.add_argument("file", type=existing_path, help="a submission file (.json)")
    validate.set_defaults(run=_validate)

    verify = verbs.add_parser("verify", help="re-evaluate the final checkpoints against the final row of R")
    verify.add_argument("file", type=existing_path, help="a submission file (.json)")
    verify.add_argument(
        "--checkpoints", type=existing_path, required=True, help="the run directory holding units/*/checkpoints"
    )
    verify.add_argument(
        "--private", type=existing_path, help="also measure on these private states (`lifebot suites private`)"
    )
    verify.add_argument("--workers", type=positive, default=os.cpu_count() or 1, help="evaluation processes")
    verify.set_defaults(run=_verify)


def _summary(submission) -> str:
    from lifebot.lifelong.metrics import METRICS

    document, suite = submission.document, submission.suite
    claims = document["metrics"]
    metrics = ", ".join(
        f"{name} {claims[name]['mean']:.3f} [{claims[name]['ci_low']:.3f}, {claims[name]['ci_high']:.3f}]"
        for name in METRICS
        if name in claims
    )
    apart = "; ".join(f"{k} {theirs} (the suite's: {ours})" for k, theirs, ours in submission.simulator_differences)
    return (
        f"suite {suite.name} {suite.version} ({len(document['protocol']['tasks'])} of {len(suite.tasks)} tasks), "
        f"{len(document['orderings'])} orderings × {len(document['seeds'])} seeds; {metrics}"
        + (f"\nranked apart on the leaderboard: made under {apart}" if apart else "")
    )


def _make(args: argparse.Namespace) -> int:
    from lifebot.submission.make import make_submission, write_submission
    from lifebot.submission.validate import validate_document

    out = args.out or args.run_dir / "submission.json"
    document = make_submission(args.run_dir, args.method, args.description)
    submission = validate_document(document, out)  # never write a file that validation would reject
    write_submission(document, out)
    print(f"wrote {out}: {_summary(submission)}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from lifebot.submission.validate import validate_file

    submission = validate_file(args.file)
    print(f"{args.file}: valid, every metric recomputed from the matrices; {_summary(submission)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from lifebot.submission.verify import verify_submission  # torch and the simulator: only for this verb

    result = verify_submission(args.file, args.checkpoints, args.workers, args.private)
    for check in result.checks:
        private = "" if check.private is None else f"private {check.private:.3f}  "
        print(
            f"{check.unit}  {check.task:<40} claimed {check.claimed:.3f}  measured {check.measured:.3f}  {private}"
            f"95% CI [{check.ci_low:.3f}, {check.ci_high:.3f}]  {'agrees' if check.agrees else 'DISAGREES'}"
        )
    if args.private and result.checks:
        public, private = (
            sum(getattr(c, k) for c in result.checks) / len(result.checks) for k in ("measured", "private")
        )
        print(f"mean success per task: public states {public:.3f}, private states {private:.3f} ({args.private})")
    for problem in result.problems:
        print(f"not re-measured: {problem}")
    verdict = "agrees with" if result.agrees else "does NOT agree with"
    print(f"{args.file}: the re-measured final row {verdict} the claimed R ({len(result.checks)} task evaluations)")
    return 0 if result.agrees else 1
