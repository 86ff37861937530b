"""``clearsight demo`` works from an installed package and shows every kind of outcome."""

from __future__ import annotations

from pathlib import Path

from .conftest import run_cli


def test_demo_scans_the_bundled_samples(tmp_path: Path) -> None:
    result = run_cli("demo", "--case", tmp_path / "demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "8 files: 7 recorded, 1 with an error" in out
    assert "archive/street-copy.dat" in out and "image/png" in out  # type from bytes
    assert "decode:" in out  # the damaged JPEG is an error row
    assert "mountain-lake-small.jpg  ~  mountain-lake.jpg" in out  # near-duplicate found
    assert (tmp_path / "demo" / "case.sqlite").is_file()
    # The demo bank holds the lake's PDQ hash: the re-encoded copy is found by it too.
    assert "archive/mountain-lake-small.jpg: entry DEMO-1" in out
    assert "2 items matched" in out
    # The texture's XMP declares it AI-generated; the plain samples stay inconclusive.
    assert "woven-texture.jpg: ai-generated; moderate ai: xmp:" in out
    assert "desert-dunes.webp: inconclusive; no evidence of origin found" in out


def test_demo_again_resumes_into_the_same_case(tmp_path: Path) -> None:
    assert run_cli("demo", "--case", tmp_path / "demo").returncode == 0
    again = run_cli("demo", "--case", tmp_path / "demo")
    assert again.returncode == 0
    assert "8 already recorded" in again.stdout
