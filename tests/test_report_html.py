"""The HTML case report: self-contained, escaped, and without pictures unless asked.

A report is opened on analysts' machines and passed around, so it must not reach the
network, run anything, or carry imagery by accident. Thumbnails, when asked for, are
re-drawn from the real files by the review previewer: blurred and greyscale.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from pathlib import Path

import numpy as np
from lxml import html
from PIL import Image

from clearsight.media.sniff import MediaKind
from clearsight.report import LOCAL_USER, ExportRequest, ReportFormat, Thumbnails, write_report
from clearsight.report.series_tables import MEMBER_CAP
from clearsight.signals.digests import digest_bytes
from clearsight.store.interface import Priority, ScannedFile, SeriesRecord, TriageResult
from clearsight.store.sql import SqlCaseStore

from .test_report_case import MARKUP_NAME, NOW


def report(store: SqlCaseStore, thumbnails: Thumbnails = Thumbnails.NONE) -> str:
    buffer = io.BytesIO()
    request = ExportRequest(ReportFormat.HTML, thumbnails=thumbnails)
    write_report(store, request, buffer, actor="test", permission=LOCAL_USER, now=NOW)
    return buffer.getvalue().decode("utf-8")


def test_the_report_loads_nothing_and_runs_nothing(report_case: SqlCaseStore) -> None:
    text = report(report_case)
    page = html.fromstring(text)
    assert page.xpath("//script") == []
    assert page.xpath("//link") == []
    assert page.xpath("//img") == []  # no imagery unless asked
    assert page.xpath("//iframe | //object | //embed | //form") == []
    for attribute in ("src", "href", "srcset", "action", "data", "style"):
        assert page.xpath(f"//@{attribute}") == [], attribute
    assert not re.search(r"(https?:)?//[a-z0-9]", text.replace("http://www.w3.org/2000/svg", ""))
    assert "@import" not in text and "url(" not in text


def test_the_policy_forbids_everything_but_its_own_stylesheet(report_case: SqlCaseStore) -> None:
    page = html.fromstring(report(report_case))
    (policy,) = page.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert "default-src 'none'" in policy and "img-src 'none'" in policy
    (css,) = page.xpath("//style/text()")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy


def test_file_names_and_notes_are_text_never_markup(report_case: SqlCaseStore) -> None:
    text = report(report_case)
    assert "<img src=x" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in text
    page = html.fromstring(text)
    assert any(cell.text_content().endswith(MARKUP_NAME) for cell in page.xpath("//td"))


def test_the_report_holds_the_counts_series_errors_and_audit_head(
    report_case: SqlCaseStore,
) -> None:
    page = html.fromstring(report(report_case))
    status = {
        row.xpath("td")[0].text_content(): int(row.xpath("td")[1].text_content())
        for row in page.xpath("//section[h3='Status']//tbody/tr")
    }
    assert status == {"matched": 2, "allow-listed": 1, "new": 4, "error": 3}
    assert len(page.xpath("//svg[@class='chart']")) == 6
    assert [h.text_content() for h in page.xpath("//section[@class='series']/h3")] == [
        "S-1: test-series-a (series 1)",
        "S-2 (series 2)",
    ]
    errors = page.xpath("//h2[.='Could not read']/following-sibling::table[1]//tbody/tr/td[1]")
    assert sorted(int(cell.text_content()) for cell in errors) == [7, 8, 10]
    assert "0" * 64 in page.xpath("//tr[th='Audit log head']/td")[0].text_content()


def noise(seed: int) -> Image.Image:
    """A benign generated texture full of fine detail, which a blur must wipe out."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))


def _detail(picture: Image.Image) -> float:
    return float(np.abs(np.diff(np.asarray(picture.convert("L"), float), axis=1)).mean())


def _picture_case(store: SqlCaseStore, folder: Path, count: int) -> list[bytes]:
    """``count`` real generated pictures in one series, recorded as a scan would."""
    folder.mkdir()
    blobs = []
    files = []
    source = store.open_source(str(folder))
    for n in range(count):
        buffer = io.BytesIO()
        noise(n).save(buffer, "PNG")
        data = buffer.getvalue()
        (folder / f"scene-{n}.png").write_bytes(data)
        blobs.append(data)
        files.append(
            (
                source,
                ScannedFile(
                    f"scene-{n}.png",
                    "image/png",
                    MediaKind.IMAGE,
                    len(data),
                    digests=digest_bytes(data),
                ),
            )
        )
    store.record_files(store.start_scan([str(folder)]), files)
    members = tuple(range(1, count + 1))
    store.record_triage(
        TriageResult(
            stacks=(),
            series=(SeriesRecord("S-1", None, None, members, Priority(50.0, ("test",))),),
            links=(),
            priorities={m: Priority(50.0 - m, ("test",)) for m in members},
        )
    )
    return blobs


def test_thumbnails_when_asked_are_blurred_greyscale_data_uris(
    case_store: SqlCaseStore, tmp_path: Path
) -> None:
    _picture_case(case_store, tmp_path / "evidence", 3)
    (tmp_path / "evidence" / "scene-2.png").write_bytes(b"changed since the scan")
    assert html.fromstring(report(case_store)).xpath("//img") == []
    text = report(case_store, Thumbnails.BLURRED)
    page = html.fromstring(text)
    (policy,) = page.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert "img-src data:" in policy
    sources = page.xpath("//img/@src")
    assert len(sources) == 2  # the changed file is refused, not shown
    assert (
        "none (stale-file)"
        in page.xpath("//section[@class='series']//tr[td[2]='3']/td[1]")[0].text_content()
    )
    for source in sources:
        assert source.startswith("data:image/jpeg;base64,")
        thumb = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
        assert thumb.mode == "L" and max(thumb.size) <= 160
        original = noise(0).resize(thumb.size)
        # Blurring wipes out fine detail: far less change from pixel to pixel.
        assert _detail(thumb) < 0.1 * _detail(original)


def test_a_large_series_lists_its_first_members_and_counts_the_rest(
    case_store: SqlCaseStore, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    source = case_store.open_source(str(folder))
    count = MEMBER_CAP + 7
    case_store.record_files(
        case_store.start_scan([str(folder)]),
        [
            (source, ScannedFile(f"f{n:04}.png", "image/png", MediaKind.IMAGE, 1))
            for n in range(count)
        ],
    )
    members = tuple(range(1, count + 1))
    case_store.record_triage(
        TriageResult(
            (),
            (SeriesRecord("S-1", None, None, members, Priority(9.0, ())),),
            (),
            {m: Priority(float(m % 100), ()) for m in members},
        )
    )
    page = html.fromstring(report(case_store))
    assert len(page.xpath("//section[@class='series']//tbody/tr[td]")) - 3 == MEMBER_CAP
    assert "… and 7 more members" in page.text_content()
