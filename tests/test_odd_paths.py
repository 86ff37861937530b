"""Names as a seized drive has them: not UTF-8, with newlines, tabs and escape sequences,
in two Unicode normalisations, near PATH_MAX; special files; a big sparse file.

Each is recorded once, as an item or an error row, stored byte for byte, shown in its
display form, found again from that form, and read again by its bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import string
import unicodedata
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from clearsight import __version__
from clearsight.file_paths import display_path, raw_path
from clearsight.media.decode import DecodeLimits
from clearsight.media.sniff import MediaKind
from clearsight.media.stored import read_scanned
from clearsight.report.selection import ALL
from clearsight.review.preview import PreviewRenderer
from clearsight.review.settings import PreviewPrefs, RevealMode
from clearsight.scan import ScanOptions, run_scan
from clearsight.signals.digests import digest_bytes
from clearsight.store import sql
from clearsight.store.engines import sqlite_engine
from clearsight.store.interface import ScannedFile
from clearsight.store.sql import SqlCaseStore

from .conftest import empty_postgres, photo_like, run_cli

PATH_MAX = os.pathconf("/", "PC_PATH_MAX")  # 4096 on Linux, with the closing NUL
NFC = unicodedata.normalize("NFC", "café.png").encode()
NFD = unicodedata.normalize("NFD", "café.png").encode()
# Names a terminal would obey: clear the screen, then print a forged queue line.
FORGED = b"\x1b[2J\x1b[H\n   1. 100.0  item   forged.png"


def _random_path(length: int, seed: int = 7) -> bytes:
    """A deep path of random names (incompressible: PostgreSQL cannot shrink it into
    its index), ``length`` bytes long."""
    rng = random.Random(seed)
    names: list[str] = []
    while sum(len(name) + 1 for name in names) < length:
        names.append("".join(rng.choice(string.ascii_letters) for _ in range(200)))
    return "/".join(names).encode()[:length]


ODD_NAMES = [
    b"caf\xe9.jpg",
    b"a\nb.png",
    b"tab\there.png",
    FORGED,
    NFC,
    NFD,
    b"back\\slash\\xe9.txt",
    _random_path(4000),
]


# The store


def test_the_store_keeps_every_path_byte_for_byte(case_store: SqlCaseStore) -> None:
    root = os.fsdecode(b"/evidence/dr\xefve")
    source = case_store.open_source(root)
    assert case_store.open_source(root) == source
    assert case_store.open_source("/evidence/dr\\xefve") != source  # its display form
    scan = case_store.start_scan([root])
    files = [
        (source, ScannedFile(os.fsdecode(raw), "text/plain", MediaKind.OTHER, len(raw)))
        for raw in ODD_NAMES
    ]
    case_store.record_files(scan, files)

    assert case_store.recorded_paths(source) == {os.fsdecode(raw) for raw in ODD_NAMES}
    rows = [row for row in case_store.iter_items() if row.source == "/evidence/dr\\xefve"]
    assert sorted(raw_path(row.path) for row in rows) == sorted(ODD_NAMES)
    assert all(row.path.isprintable() for row in rows)
    ids = [query.item_id for query in case_store.iter_match_queries()]
    located = case_store.item_files(ids)
    assert {found.raw_path for found in located.values()} == {
        b"/evidence/dr\xefve/" + raw for raw in ODD_NAMES
    }
    assert all(found.path == display_path(found.raw_path) for found in located.values())
    with pytest.raises(IntegrityError):  # the same bytes again: never two rows
        case_store.record_files(scan, files[:1])


def test_paths_sharing_a_long_head_page_once_each(
    case_store: SqlCaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items are paged by (head, key); paths alike in their first 400 characters follow
    one another by key, and no page loses or repeats one."""
    source = case_store.open_source("/evidence")
    scan = case_store.start_scan(["/evidence"])
    prefix = "p" * 450
    names = [f"{prefix}/{n:02}.txt" for n in range(10)] + [f"z{n}.txt" for n in range(5)]
    case_store.record_files(
        scan, [(source, ScannedFile(name, "text/plain", MediaKind.OTHER)) for name in names]
    )
    monkeypatch.setattr(sql, "_ITEM_PAGE", 3)
    listed = [row.path for row in case_store.iter_items()]
    assert sorted(listed) == sorted(names)
    assert listed[-5:] == [f"z{n}.txt" for n in range(5)]
    paged = [row.path for page in case_store.item_pages(ALL, 4) for _, row in page]
    assert paged == listed


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migration_fills_the_bytes_of_existing_rows(database: str, tmp_path: Path) -> None:
    engine = (
        sqlite_engine(tmp_path / "case.sqlite")
        if database == "sqlite"
        else create_engine(empty_postgres())
    )
    config = Config()
    config.set_main_option("script_location", str(Path(sql.__file__).with_name("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
    # A case of clearsight before 0010: names held as text, one with a real newline,
    # one with a backslash and n (its display form must not become the newline's).
    old = ["plain.jpg", "new\nline.jpg", "new\\nline.jpg", "new\\\\nline.jpg"]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (id, name, created_at, clearsight_version) "
                "VALUES (1, 'old', '2026-01-01', '0.1')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO sources (id, case_id, root, added_at) VALUES (1, 1, :r, '2026-01-01')"
            ),
            {"r": "/evidence/back\\slash"},
        )
        connection.execute(
            text(
                "INSERT INTO scans (id, case_id, roots, started_at, completed, files_seen, "
                "items, errors, already_done) VALUES (100, 1, '[]', '2026-01-01', true, 0, 0, 0, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO items (source_id, scan_id, path, media_type, kind) "
                "VALUES (1, 100, :path, 'image/jpeg', 'image')"
            ),
            [{"path": path} for path in old],
        )
    store = SqlCaseStore(engine, "old", __version__)
    try:
        assert store.recorded_paths(1) == set(old)
        rows = list(store.iter_items())
        assert {row.path for row in rows} == {display_path(path.encode()) for path in old}
        assert {row.source for row in rows} == {"/evidence/back\\\\slash"}
        assert store.open_source("/evidence/back\\slash") == 1
        scan = store.start_scan(["/evidence/back\\slash"])
        with pytest.raises(IntegrityError):
            store.record_files(
                scan, [(1, ScannedFile("new\nline.jpg", "image/jpeg", MediaKind.IMAGE))]
            )
    finally:
        store.close()


# A scan of a tree of odd names, as a user runs it


@pytest.fixture
def odd_tree(tmp_path: Path) -> tuple[Path, dict[bytes, str]]:
    """A source of odd entries, and what each should become: 'item' or 'error'."""
    root = tmp_path / "evidence"
    root.mkdir()
    base = os.fsencode(root)
    expected: dict[bytes, str] = {}

    def picture(name: bytes, seed: int) -> None:
        photo_like(seed).save(io_path(base, name), "PNG")
        expected[name] = "item"

    picture(b"caf\xe9.png", 1)
    picture(b"new\nline.png", 2)
    picture(b"tab\there.png", 3)
    picture(FORGED, 4)
    picture(NFC, 5)
    picture(NFD, 6)
    picture(b"=1+2.png", 7)
    with open(os.path.join(base, b"back\\slash.txt"), "wb") as handle:
        handle.write(b"benign\n")
    expected[b"back\\slash.txt"] = "item"
    os.mkfifo(os.path.join(base, b"pipe"))
    expected[b"pipe"] = "error"
    os.symlink(b"gone.jpg", os.path.join(base, b"dangling"))  # to nothing
    expected[b"dangling"] = "error"
    # A 64 MiB sparse file (zeros) and a sparse "PNG" over the decode cap.
    with open(os.path.join(base, b"big.bin"), "wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    expected[b"big.bin"] = "item"
    with open(os.path.join(base, b"huge.png"), "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(3 * 1024 * 1024)
    expected[b"huge.png"] = "error"
    # A file whose absolute path is 10 bytes short of PATH_MAX.
    target = PATH_MAX - 10
    deep = b"deep"
    while target - len(base) - len(deep) > 260:  # the last name fills what is left
        deep += b"/" + b"d" * 250
    # Three slashes (source/deep, deep/last, last/f.txt) and "f.txt".
    deep += b"/" + b"e" * (target - len(base) - len(deep) - 3 - len(b"f.txt"))
    os.makedirs(os.path.join(base, deep))
    near = deep + b"/f.txt"
    with open(os.path.join(base, near), "wb") as handle:
        handle.write(b"deep\n")
    assert len(base) + 1 + len(near) == target
    expected[near] = "item"
    # Folders that go past PATH_MAX (made through folder descriptors): the first that
    # cannot be listed by its path is an error row.
    fd = os.open(base, os.O_RDONLY)
    name = over = b"over"
    os.mkdir(name, dir_fd=fd)
    try:
        while len(base) + 1 + len(over) < PATH_MAX:
            child = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
            name = b"x" * 200
            os.mkdir(name, dir_fd=fd)
            over += b"/" + name
    finally:
        os.close(fd)
    expected[over] = "error"
    return root, expected


def io_path(base: bytes, name: bytes) -> str:
    return os.fsdecode(os.path.join(base, name))


def _scan(root: Path, case: Path) -> dict[str, int]:
    result = run_cli("scan", root, "--case", case, "--json", "--max-image-mb", "1")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert isinstance(summary, dict)
    return summary


def test_a_tree_of_odd_names_scans_whole_and_resumes(
    odd_tree: tuple[Path, dict[bytes, str]], tmp_path: Path
) -> None:
    root, expected = odd_tree
    case = tmp_path / "case"
    first = _scan(root, case)
    assert first["files_seen"] == len(expected)
    assert first["items"] + first["errors"] == len(expected)
    assert first["errors"] == list(expected.values()).count("error")
    again = _scan(root, case)
    assert (again["files_seen"], again["already_done"]) == (len(expected), len(expected))
    assert (again["items"], again["errors"]) == (0, 0)

    listing = run_cli("items", "--case", case)
    assert listing.returncode == 0, listing.stderr
    assert "\x1b" not in listing.stdout
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert len(rows) == len(expected)
    by_raw = {raw_path(row["path"]): row for row in rows}
    assert set(by_raw) == set(expected)
    base = os.fsencode(root)
    for name, outcome in expected.items():
        row = by_raw[name]
        assert raw_path(row["source"]) == base
        assert (row["error"] is None) == (outcome == "item"), (name, row["error"])
        if outcome == "item":  # found again from the display form alone, byte for byte
            found = os.path.join(raw_path(row["source"]), raw_path(row["path"]))
            with open(found, "rb") as handle:
                assert hashlib.sha256(handle.read()).hexdigest() == row["sha256"]
    assert by_raw[NFC]["sha256"] != by_raw[NFD]["sha256"]
    assert by_raw[b"caf\xe9.png"]["path"] == "caf\\xe9.png"
    assert by_raw[b"caf\xe9.png"]["pdq"] is not None
    assert by_raw[b"big.bin"]["sha256"] == _zeros_sha256(64 * 1024 * 1024)
    huge = by_raw[b"huge.png"]
    assert "decode cap" in huge["error"] and huge["sha256"] is not None
    assert "not a regular file" in by_raw[b"pipe"]["error"]
    assert "link to nothing" in by_raw[b"dangling"]["error"]


def test_queue_and_csv_show_odd_names_escaped(
    odd_tree: tuple[Path, dict[bytes, str]], tmp_path: Path
) -> None:
    root, _ = odd_tree
    case = tmp_path / "case"
    _scan(root, case)
    queue = run_cli("queue", "--case", case)
    assert queue.returncode == 0, queue.stderr
    assert "\x1b" not in queue.stdout
    # The queue, then the files that could not be read (a pipe, a dangling link, ...).
    units, _, unreadable = queue.stdout.partition("\nCould not read (")
    lines = units.splitlines()
    assert all(re.match(r" *\d+\. |          - ", line) for line in lines), lines
    assert all(line.startswith("          - ") for line in unreadable.splitlines()[1:])
    assert sum("forged.png" in line for line in lines) == 1
    assert display_path(FORGED) in queue.stdout

    table = run_cli("items", "--case", case, "--format", "csv")
    assert table.returncode == 0, table.stderr
    cells = list(csv.DictReader(io.StringIO(table.stdout)))
    assert all(value.isprintable() for row in cells for value in row.values())
    paths = {row["path"] for row in cells}
    assert "'=1+2.png" in paths and "=1+2.png" not in paths
    assert "caf\\xe9.png" in paths and display_path(FORGED) in paths


# Reading again by the bytes


def test_later_stages_read_an_odd_name_again(tmp_path: Path) -> None:
    source = tmp_path / "evidence"
    source.mkdir()
    names = [b"caf\xe9.png", b"new\nline.png", NFD]
    for seed, name in enumerate(names):
        photo_like(seed).save(io_path(os.fsencode(source), name), "PNG")
    store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    try:
        run_scan(store, [source], ScanOptions(workers=1, origin=False))
        ids = [query.item_id for query in store.iter_match_queries()]
        located = store.item_files(ids)
        assert len(located) == len(names)
        renderer = PreviewRenderer(store)
        for item_id, found in located.items():
            data = read_scanned(found.os_path, found.sha256, 10**8)
            assert digest_bytes(data).sha256 == found.sha256
            preview = renderer.render(item_id, PreviewPrefs(4, True, RevealMode.HOLD))
            assert preview.data
    finally:
        store.close()


# Big files: digesting is never cut short by the decoders' time limit


def test_digesting_is_not_cut_short_by_the_decode_limit(tmp_path: Path) -> None:
    source = tmp_path / "evidence"
    source.mkdir()
    size = 256 * 1024 * 1024  # sparse: about a second to digest, far over the limit
    with open(source / "disk.img", "wb") as handle:
        handle.truncate(size)
    with open(source / "huge.png", "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(size)
    Image.new("L", (9000, 9000), 128).save(source / "slow.png")
    store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    options = ScanOptions(
        workers=1,
        file_timeout=0.01,
        limits=DecodeLimits(max_pixels=10**9, max_file_bytes=8 * 1024 * 1024),
        origin=False,
    )
    try:
        report = run_scan(store, [source], options)
        rows = {row.path: row for row in store.iter_items()}
    finally:
        store.close()
    assert report.completed and report.tally.files_seen == 3
    zeros = _zeros_sha256(size)
    assert rows["disk.img"].sha256 == zeros and rows["disk.img"].error is None
    assert rows["disk.img"].size == size
    huge = rows["huge.png"]
    assert huge.sha256 is not None and huge.size == size
    assert huge.error is not None and "decode cap" in huge.error
    assert "per-file limit" not in huge.error
    slow = rows["slow.png"]  # the decoder is still held to the limit
    assert slow.error is not None and "per-file limit of 0.01 s" in slow.error
    assert slow.sha256 is not None and slow.pdq is None


def _zeros_sha256(size: int) -> str:
    digest = hashlib.sha256()
    block = bytes(1024 * 1024)
    for _ in range(size // len(block)):
        digest.update(block)
    return digest.hexdigest()


def test_a_missing_source_is_named_in_its_display_form(tmp_path: Path) -> None:
    missing = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9\x1b[2J"))
    result = run_cli("scan", missing, "--case", tmp_path / "case")
    assert result.returncode == 2
    assert "caf\\xe9\\x1b[2J" in result.stderr and "\x1b" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
