"""The display form of a path: readable, printable, and naming exactly one path."""

from __future__ import annotations

import os
import subprocess
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearsight.file_paths import display_path, raw_path

NFC = unicodedata.normalize("NFC", "café.jpg")
NFD = unicodedata.normalize("NFD", "café.jpg")


@given(st.binary(max_size=300))
def test_any_bytes_come_back_from_their_display_form(raw: bytes) -> None:
    shown = display_path(raw)
    assert raw_path(shown) == raw
    assert shown.isprintable()


@given(st.text(max_size=100))
def test_any_name_python_holds_comes_back(text: str) -> None:
    raw = os.fsencode(text) if _encodable(text) else text.encode("utf-8", "surrogatepass")
    assert raw_path(display_path(raw)) == raw


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"holiday/beach.jpg", "holiday/beach.jpg"),
        (b"caf\xe9.jpg", "caf\\xe9.jpg"),
        (b"a\nb\tc\r.png", "a\\nb\\tc\\r.png"),
        (b"\x1b[2Jclear.png", "\\x1b[2Jclear.png"),
        (b"back\\slash\\xe9", "back\\\\slash\\\\xe9"),
        ("photo\u202egpj.exe".encode(), "photo\\u202egpj.exe"),
        ("next\u0085line".encode(), "next\\u0085line"),
        ("Zoë's 写真.jpg".encode(), "Zoë's 写真.jpg"),
    ],
)
def test_display_forms(raw: bytes, shown: str) -> None:
    assert display_path(raw) == shown
    assert display_path(os.fsdecode(raw)) == shown
    assert raw_path(shown) == raw


def test_a_lone_byte_and_a_control_character_never_read_alike() -> None:
    # U+0085 is a character (two bytes in UTF-8); 0x85 alone is a byte that is not UTF-8.
    assert display_path("\u0085".encode()) != display_path(b"\x85")


def test_normalisation_forms_stay_apart() -> None:
    assert NFC != NFD
    assert display_path(NFC.encode()) == NFC
    assert display_path(NFD.encode()) == NFD


@pytest.mark.parametrize("bad", ["ends with \\", "unknown \\q escape", "short \\x4"])
def test_text_no_path_displays_as_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="display form"):
        raw_path(bad)


def test_bash_finds_the_file_from_its_display_form(tmp_path: Path) -> None:
    """The escapes are bash's $'...' quoting, as the README tells users."""
    names = [b"caf\xe9 l'\xe9t\xe9.jpg", b"a\nb\tc.png", b"\x1b[2J.png", b"back\\slash.png"]
    for name in names:
        (Path(os.fsdecode(bytes(tmp_path))) / os.fsdecode(name)).write_bytes(name)
        quoted = display_path(name).replace("'", "\\'")
        found = subprocess.run(
            ["bash", "-c", f"cat $'{quoted}'"],
            cwd=tmp_path,
            capture_output=True,
            check=True,
            env={"LANG": "C.UTF-8", "PATH": os.environ["PATH"]},
        )
        assert found.stdout == name


def _encodable(text: str) -> bool:
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True
