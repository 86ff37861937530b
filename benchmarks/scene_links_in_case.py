"""Scene links end to end: the edited-photo set scanned into a case and triaged.

Why: ``benchmarks/scene_links.py`` scores retrieval and confirmation as library calls.
This scores what a user gets: the same edited-photo set (bases, each edited by crops,
patches, recolouring, collage tiles, turns and repaints, plus unedited distractors),
written as JPEG q90 files, scanned with ``clearsight scan`` (which triages at its end)
and read back from the case. A related pair counts as found when the two items share a
near-duplicate stack or a scene link; a link between different scenes is false. The
issue's targets: precision >= 0.99, recall >= 0.9.

Usage: python benchmarks/scene_links_in_case.py [--landscapes N] [--distractors N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scene_links import EditedPicture, edited_pictures, log, related_targets  # noqa: E402

CLEARSIGHT = Path(sys.executable).with_name("clearsight")


def write_set(folder: Path, landscapes: int, distractors: int) -> list[EditedPicture]:
    pictures = []
    for number, picture in enumerate(edited_pictures(landscapes, distractors)):
        picture.picture.save(folder / f"{number:05d}.jpg", quality=90)
        pictures.append(picture)
    return pictures


def read_case(database: Path) -> tuple[dict[int, int | None], dict[int, int | None], list[Any]]:
    """Stack and series of each picture (by its number), and the links between them."""
    with sqlite3.connect(database) as connection:
        number_of = {
            item_id: int(Path(path).stem)
            for item_id, path in connection.execute("SELECT id, path FROM items")
        }
        rows = connection.execute("SELECT item_id, stack_id, series_id FROM item_triage").fetchall()
        links = connection.execute("SELECT item_a, item_b, reason FROM scene_links").fetchall()
    stack = {number_of[item]: stack_id for item, stack_id, _ in rows}
    series = {number_of[item]: series_id for item, _, series_id in rows}
    return stack, series, [(number_of[a], number_of[b], reason) for a, b, reason in links]


def run(landscapes: int, distractors: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clearsight-scene-") as temp:
        evidence, case = Path(temp) / "evidence", Path(temp) / "case"
        evidence.mkdir()
        log("writing the edited-photo set")
        pictures = write_set(evidence, landscapes, distractors)
        log(f"scanning {len(pictures)} pictures (one worker)")
        done = subprocess.run(
            [
                str(CLEARSIGHT),
                "scan",
                str(evidence),
                "--case",
                str(case),
                "--json",
                "--workers",
                "1",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "CLEARSIGHT_HOME": str(Path(temp) / "home")},
        )
        if done.returncode != 0:
            raise SystemExit(f"scan failed: {done.stderr.strip()}")
        triage = json.loads(done.stdout)["triage"]
        stack, series, links = read_case(case / "case.sqlite")
    # A stack is looked at as one picture: a pair is found when the two share a stack, or
    # a link joins their stacks (a link is made once per stack, between any members).
    node = {
        n: ("stack", stack_id) if stack_id is not None else ("item", n)
        for n, stack_id in stack.items()
    }
    linked = {frozenset((node[a], node[b])) for a, b, _ in links}
    scene = [p.scene for p in pictures]
    false_links = [(a, b, r) for a, b, r in links if scene[a] != scene[b]]
    targets = related_targets(pictures)

    def found(a: int, b: int) -> bool:
        return node[a] == node[b] or frozenset((node[a], node[b])) in linked

    total: Counter[str] = Counter(targets.values())
    hits: Counter[str] = Counter(edit for (a, b), edit in targets.items() if found(a, b))
    in_series: Counter[str] = Counter(
        edit
        for (a, b), edit in targets.items()
        if series.get(a) is not None and series.get(a) == series.get(b)
    )
    members: dict[int, set[str]] = {}
    for number, series_id in series.items():
        if series_id is not None:
            members.setdefault(series_id, set()).add(scene[number])
    return {
        "machine": platform.machine(),
        "pictures": len(pictures),
        "triage": triage,
        "links": len(links),
        "false_links": [f"{pictures[a].name} ~ {pictures[b].name}: {r}" for a, b, r in false_links],
        "precision": 1 - len(false_links) / len(links) if links else 1.0,
        "recall": sum(hits.values()) / len(targets),
        "recall_by_edit": {edit: hits[edit] / count for edit, count in total.items()},
        "same_series": sum(in_series.values()) / len(targets),
        "mixed_series": sum(len(scenes) > 1 for scenes in members.values()),
        "series": len(members),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landscapes", type=int, default=40)
    parser.add_argument("--distractors", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.landscapes, args.distractors)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"edited-photo set scanned into a case: {report['pictures']} pictures")
    print(f"  triage: {report['triage']}")
    print(f"  scene links {report['links']}, series {report['series']}")
    print(f"  precision {report['precision']:.4f} (target >= 0.99)")
    print(f"  recall    {report['recall']:.4f} (target >= 0.9): same stack, or stacks linked")
    print(
        f"  same series {report['same_series']:.4f}; series mixing scenes {report['mixed_series']}"
    )
    for edit, share in report["recall_by_edit"].items():
        print(f"    {edit:16} {share:.3f}")
    for text in report["false_links"]:
        print(f"  FALSE LINK {text}")


if __name__ == "__main__":
    main()
