"""The static leaderboard site (``lifebot leaderboard build``): validated submissions only, everything escaped.

Layout of the site::

    index.html                    one table per suite (and task count): a row per submission, sortable by
                                  clicking a header (a small inline script), each metric as mean [CI];
                                  submissions made under other MuJoCo / robosuite versions than the suite's
                                  files in tables of their own, ranked apart and said so
    submissions/<id>.html         a page per submission: claims, protocol, success-matrix heatmaps, curves
    submissions/<id>.json         the submission file itself, to recompute every number from
    submissions/<id>-R.png, -c.png

``<id>`` is the start of the file's sha256. Every string that comes from a submission is HTML-escaped, and each
page's Content-Security-Policy runs only lifebot's own script (by hash), so a name that slips through as markup
still executes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lifebot.atomic import atomic_write_bytes
from lifebot.leaderboard.plots import learning_curves, success_heatmaps
from lifebot.lifelong.metrics import METRICS
from lifebot.submission.validate import SubmissionError, ValidSubmission, validate_file

DEFAULT_SORT = "gem_acc"  # rows start ranked by final average success (GEM's ACC)
ID_LENGTH = 12

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
table.board th { cursor: pointer; user-select: none; }
table.board th[aria-sort=ascending]::after { content: " \\25B2"; }
table.board th[aria-sort=descending]::after { content: " \\25BC"; }
.ci { color: #666; font-size: 0.85em; white-space: nowrap; }
.apart { color: #a33; }
.description { white-space: pre-wrap; max-width: 60em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; max-width: 80em; }
img { max-width: 100%; }
"""

SORT_SCRIPT = """
document.querySelectorAll("table.board").forEach(function (table) {
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (header, column) {
    header.addEventListener("click", function () {
      var numeric = header.dataset.type === "number";
      var current = header.getAttribute("aria-sort");
      var ascending = numeric ? current === "descending" : current !== "ascending";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
        if (numeric) {
          x = x === "" ? NaN : parseFloat(x);
          y = y === "" ? NaN : parseFloat(y);
          if (isNaN(x) || isNaN(y)) { return isNaN(x) - isNaN(y); }
          return ascending ? x - y : y - x;
        }
        return ascending ? x.localeCompare(y) : y.localeCompare(x);
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    });
  });
});
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _page(title: str, body: str, script: str = "") -> str:
    scripts = _csp_hash(script) if script else "'none'"
    policy = f"default-src 'none'; img-src 'self'; style-src {_csp_hash(STYLE)}; script-src {scripts}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
        + (f"<script>{script}</script>\n" if script else "")
        + "</body>\n</html>\n"
    )


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _estimate(summary: dict | None) -> str:
    if summary is None:
        return '<td data-value="">&mdash;</td>'
    return (
        f'<td data-value="{summary["mean"]!r}">{summary["mean"]:.3f} '
        f'<span class="ci">[{summary["ci_low"]:.3f}, {summary["ci_high"]:.3f}]</span></td>'
    )


@dataclass
class Entry:
    """One submission on the site: where its page lives and what its table row shows."""

    submission: ValidSubmission
    id: str

    @property
    def document(self) -> dict:
        return self.submission.document

    @property
    def table(self) -> tuple[str, int, tuple]:
        """The table it ranks in: same suite, same number of tasks, same simulator differences (none: the main one)."""
        return (
            self.document["suite"]["name"],
            len(self.document["protocol"]["tasks"]),
            self.submission.simulator_differences,
        )


@dataclass
class Site:
    index: Path
    entries: list[Entry] = field(default_factory=list)
    rejected: list[SubmissionError] = field(default_factory=list)


def _board(entries: list[Entry]) -> str:
    metrics = [name for name in METRICS if any(name in e.document["metrics"] for e in entries)]
    default = DEFAULT_SORT if DEFAULT_SORT in metrics else None
    if default:
        entries = sorted(entries, key=lambda e: -e.document["metrics"].get(default, {"mean": -1.0})["mean"])
    headers = [("method", "text"), ("strategy", "text"), ("agent", "text"), ("orderings × seeds", "number")]
    cells = "".join(f'<th data-type="{kind}" scope="col">{_text(name)}</th>' for name, kind in headers) + "".join(
        f'<th data-type="number" scope="col"{" aria-sort=descending" if name == default else ""}>{_text(name)}</th>'
        for name in metrics
    )
    rows = []
    for entry in entries:
        document = entry.document
        method = document["method"]["name"]
        units = f"{len(document['orderings'])} × {len(document['seeds'])}"
        rows.append(
            "<tr>"
            f'<td data-value="{_text(method)}"><a href="submissions/{entry.id}.html">{_text(method)}</a></td>'
            f'<td data-value="{_text(document["strategy"]["name"])}">{_text(document["strategy"]["name"])}</td>'
            f'<td data-value="{_text(document["agent"]["name"])}">{_text(document["agent"]["name"])}</td>'
            f'<td data-value="{len(document["units"])}">{units}</td>'
            + "".join(_estimate(document["metrics"].get(name)) for name in metrics)
            + "</tr>"
        )
    return (
        f'<table class="board">\n<thead><tr>{cells}</tr></thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody>\n</table>"
    )


def _index(entries: list[Entry], rejected: int) -> str:
    tables = defaultdict(list)
    for entry in entries:
        tables[entry.table].append(entry)
    sections = []
    for index, ((suite_name, count, differences), members) in enumerate(sorted(tables.items())):
        suite = members[0].submission.suite
        extent = f"all {count} tasks" if count == len(suite.tasks) else f"first {count} of {len(suite.tasks)} tasks"
        apart = _apart(differences)
        sections.append(
            f'<section id="{_text(suite_name)}-{count}{f"-apart{index}" if differences else ""}">\n'
            f"<h2>{_text(suite_name)} "
            f'<span class="ci">version {_text(suite.version)}, {extent}{", ranked apart" if differences else ""}'
            f"</span></h2>\n{apart}{_board(members)}\n</section>"
        )
    apart = sum(1 for entry in entries if entry.submission.simulator_differences)
    note = f" {rejected} submission(s) failed validation and are not shown." if rejected else ""
    if apart:
        note += (
            f" {apart} submission(s) ran under other simulator versions than their suite's files and are ranked "
            "apart, in tables of their own."
        )
    body = (
        "<h1>lifebot leaderboard</h1>\n"
        f"<p>{len(entries)} validated submission(s): every number was recomputed from the raw success matrices by "
        "<code>lifebot submit validate</code>. Metrics are means over orderings × seeds with 95 % bootstrap "
        f"confidence intervals; click a column header to sort.{note}</p>\n" + "\n".join(sections)
    )
    return _page("lifebot leaderboard", body, SORT_SCRIPT)


def _apart(differences: tuple) -> str:
    """Why a table is ranked apart: the simulator versions of its submissions against the suite's."""
    if not differences:
        return ""
    said = "; ".join(f"{_text(k)} {_text(theirs)} (the suite's: {_text(ours)})" for k, theirs, ours in differences)
    return (
        f'<p class="apart">Ranked apart: made under {said}. Success rates move between simulator versions, so '
        "these numbers are not comparable with the suite's main table.</p>\n"
    )


def _definition_list(rows: list[tuple[str, str]]) -> str:
    return (
        "<table>\n" + "\n".join(f'<tr><th scope="row">{_text(k)}</th><td>{v}</td></tr>' for k, v in rows) + "\n</table>"
    )


def _submission_page(entry: Entry) -> str:
    document, suite = entry.document, entry.submission.suite
    protocol, name = document["protocol"], document["method"]["name"]
    facts = [
        ("suite", f"{_text(suite.name)} (version {_text(suite.version)})"),
        ("tasks", _text(", ".join(protocol["tasks"]))),
        ("strategy", _text(document["strategy"]["name"])),
        ("agent", _text(document["agent"]["name"])),
        ("orderings × seeds", f"{_text(document['orderings'])} × {_text(document['seeds'])}"),
        ("episodes per task", _text(protocol["episodes"])),
        ("control mode", _text(protocol["control_mode"])),
        ("model selection", _text(protocol["model_selection"])),
        ("versions", _text(", ".join(f"{k} {v}" for k, v in document["versions"].items()))),
        ("simulator", _apart(entry.submission.simulator_differences) or "the suite's versions: ranked with them"),
        ("code revision", _text(document["code_revision"])),
        ("checkpoints hashed", "yes" if document.get("checkpoints") else "no"),
        ("file", f'<a href="{entry.id}.json">{entry.id}.json</a> (sha256 {_text(entry.submission.sha256)})'),
    ]
    metric_rows = "\n".join(
        f"<tr><td>{_text(metric)}</td><td>{s['mean']:.4f}</td><td>{s['std']:.4f}</td>"
        f"<td>[{s['ci_low']:.4f}, {s['ci_high']:.4f}]</td><td>{s['n']}</td></tr>"
        for metric, s in ((m, document["metrics"][m]) for m in METRICS if m in document["metrics"])
    )
    orders = "\n".join(
        f"<li>o{u['ordering']}_s{u['seed']}: {_text(' → '.join(u['order']))}</li>" for u in document["units"]
    )
    configs = "\n".join(
        f"<h3>{_text(title)}</h3>\n<pre>{_text(json.dumps(value, indent=1, sort_keys=True))}</pre>"
        for title, value in (
            ("agent config", document["agent"]["config"]),
            ("strategy config", document["strategy"]["config"]),
            ("run config", document["run_config"]),
        )
    )
    body = (
        f'<p><a href="../index.html">&larr; leaderboard</a></p>\n<h1>{_text(name)}</h1>\n'
        f'<p class="description">{_text(document["method"]["description"])}</p>\n'
        f"{_definition_list(facts)}\n<h2>Metrics</h2>\n<table>\n<thead><tr><th>metric</th><th>mean</th><th>std</th>"
        f"<th>95 % CI</th><th>n</th></tr></thead>\n<tbody>\n{metric_rows}\n</tbody>\n</table>\n"
        f"<h2>Success matrices R</h2>\n<p>Task numbers follow each unit's order:</p>\n<ul>\n{orders}\n</ul>\n"
        f'<img src="{entry.id}-R.png" alt="success matrix heatmaps, one per ordering and seed">\n'
        f"<h2>Learning curves c</h2>\n"
        f'<img src="{entry.id}-c.png" alt="learning curves, one panel per ordering and seed">\n{configs}'
    )
    return _page(f"{name} - lifebot leaderboard", body)


def build_site(submissions: str | Path, out: str | Path) -> Site:
    """Validate every ``*.json`` in ``submissions`` and write the site of those that pass into ``out``."""
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise NotADirectoryError(f"{submissions}: not a directory of submission files")
    site = Site(out / "index.html")
    seen = set()
    for path in sorted(submissions.glob("*.json")):
        try:
            submission = validate_file(path)
        except SubmissionError as exc:
            site.rejected.append(exc)
            continue
        if submission.sha256 not in seen:
            seen.add(submission.sha256)
            site.entries.append(Entry(submission, submission.sha256[:ID_LENGTH]))
    pages = out / "submissions"
    pages.mkdir(parents=True, exist_ok=True)
    for entry in site.entries:
        units = entry.document["units"]
        success_heatmaps(units, pages / f"{entry.id}-R.png")
        learning_curves(units, entry.document["protocol"]["eval_steps"], pages / f"{entry.id}-c.png")
        atomic_write_bytes(pages / f"{entry.id}.json", entry.submission.raw)
        atomic_write_bytes(pages / f"{entry.id}.html", _submission_page(entry).encode())
    atomic_write_bytes(site.index, _index(site.entries, len(site.rejected)).encode())
    return site
