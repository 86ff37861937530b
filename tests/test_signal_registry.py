"""The signal registry: one class per signal owns validation, normalisation, distance
and packing, and every other module takes the names from it."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import inspect
import random
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from clearsight.banks.records import BankSignal, normalise_signal
from clearsight.signals.digests import DigestSet, digest_bytes
from clearsight.signals.pdq import PdqSignal
from clearsight.signals.registry import (
    DIGEST_NAMES,
    DIGEST_TYPES,
    SIGNAL_NAMES,
    SIGNAL_TYPES,
    digest_type,
    signal_type,
)
from clearsight.signals.signal_type import (
    DigestSignal,
    Md5Signal,
    Sha1Signal,
    Sha256Signal,
    SignalType,
)
from clearsight.signals.vpdq import VpdqSignal

# pdq/data/bridge-mods in ThreatExchange: two edits of one photo, 2 bits apart.
BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
BRIDGE_EDIT = "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22"


def test_the_registry_lists_each_signal_once_by_name() -> None:
    assert SIGNAL_NAMES == ("md5", "sha1", "sha256", "pdq", "vpdq")
    assert DIGEST_NAMES == ("md5", "sha1", "sha256")
    assert [kind.hex_length for kind in SIGNAL_TYPES] == [32, 40, 64, 64, 64]
    assert all(signal_type(kind.name) is kind for kind in SIGNAL_TYPES)
    assert digest_type("sha1") is Sha1Signal
    with pytest.raises(KeyError):
        digest_type("pdq")
    with pytest.raises(KeyError):
        signal_type("photodna")  # stored by banks, never matched


def test_the_modules_that_list_digests_follow_the_registry() -> None:
    assert tuple(field.name for field in dataclasses.fields(DigestSet)) == DIGEST_NAMES
    assert tuple(BankSignal) == (*SIGNAL_NAMES, BankSignal.PHOTODNA)
    assert tuple(digest_bytes(b"x").as_dict()) == DIGEST_NAMES


def test_bank_signals_take_their_names_from_the_registry() -> None:
    # Each registry signal is a bank signal of the same name, and the only bank signal
    # outside the registry is PhotoDNA (stored, never matched).
    assert all(BankSignal(kind.name).value == kind.name for kind in SIGNAL_TYPES)
    assert [kind for kind in BankSignal if kind not in SIGNAL_NAMES] == [BankSignal.PHOTODNA]
    # The names are written once: BankSignal's members refer to the signal types, and
    # only PhotoDNA, which has no signal type, is spelled out as a string.
    body = ast.parse(textwrap.dedent(inspect.getsource(BankSignal))).body[0]
    assert isinstance(body, ast.ClassDef)
    spelled = {
        target.id: statement.value.value
        for statement in body.body
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
        for target in statement.targets
        if isinstance(target, ast.Name) and isinstance(statement.value.value, str)
    }
    assert spelled == {"PHOTODNA": "photodna"}


@pytest.mark.parametrize(
    "kind", [t for t in SIGNAL_TYPES if t is not VpdqSignal], ids=lambda kind: kind.name
)
def test_validation_normalises_case_and_space_and_refuses_bad_values(
    kind: type[SignalType],
) -> None:
    value = "".join(
        random.Random(kind.name).choice("0123456789abcdef") for _ in range(kind.hex_length)
    )
    assert kind.validate(f"  {value.upper()}\n") == value
    assert kind.is_valid(value)
    for bad in (value[:-1], value + "0", "g" + value[1:], "", value[:-2] + "  "):
        with pytest.raises(ValueError, match=f"not a {kind.name} value \\({kind.hex_length} hex"):
            kind.validate(bad)
        assert not kind.is_valid(bad)


def test_vpdq_values_are_signal_strings_written_back_in_one_form() -> None:
    """vPDQ's value is python-threatexchange's string: a JSON list of frames; its one
    form is that list as python-threatexchange writes it (hex lower-cased)."""
    frame = BRIDGE.upper()
    given = f' [ "{frame},100,0.0" ,"{BRIDGE_EDIT},87,1.5"]\n'
    canonical = f'["{BRIDGE},100,0.0", "{BRIDGE_EDIT},87,1.5"]'
    assert VpdqSignal.validate(given) == canonical
    assert normalise_signal(BankSignal.VPDQ, given) == canonical
    assert VpdqSignal.distance(canonical, canonical) == 0
    for bad in (BRIDGE, "[]", f'["{BRIDGE},100"]', f'["{BRIDGE[:-1]},100,0"]', "{}"):
        with pytest.raises(ValueError, match="vpdq"):
            VpdqSignal.validate(bad)


def test_bank_records_normalise_through_the_registry() -> None:
    assert normalise_signal(BankSignal.SHA1, "A" * 40) == "a" * 40
    with pytest.raises(ValueError, match="not a sha1 value"):
        normalise_signal(BankSignal.SHA1, "a" * 32)


@pytest.mark.parametrize(
    ("kind", "library"),
    [(Md5Signal, hashlib.md5), (Sha1Signal, hashlib.sha1), (Sha256Signal, hashlib.sha256)],
)
def test_digests_hash_as_hashlib_does_and_match_only_when_equal(
    kind: type[DigestSignal], library: Callable[[bytes], Any]
) -> None:
    data = b"a benign test payload"
    value = kind.hash_bytes(data)
    assert value == library(data).hexdigest()
    assert kind.validate(value) == value
    assert kind.distance(value, value) == 0
    other = kind.hash_bytes(data + b"!")
    assert kind.distance(value, other) == 1
    assert not kind.matches(value, other, threshold=255)  # a threshold means nothing here
    assert digest_bytes(data).as_dict()[kind.name] == value


def test_streamed_digests_equal_each_type_hashing_all_at_once() -> None:
    data = bytes(range(256)) * 50
    assert digest_bytes(data).as_dict() == {
        kind.name: kind.hash_bytes(data) for kind in DIGEST_TYPES
    }


def test_pdq_distance_and_threshold() -> None:
    assert PdqSignal.distance(BRIDGE, BRIDGE_EDIT) == 2
    assert PdqSignal.matches(BRIDGE, BRIDGE_EDIT, threshold=2)
    assert not PdqSignal.matches(BRIDGE, BRIDGE_EDIT, threshold=1)
    inverse = f"{int(BRIDGE, 16) ^ (1 << 256) - 1:064x}"
    assert PdqSignal.distance(BRIDGE, inverse) == 256


def test_pdq_packing_round_trips_through_bytes_and_words() -> None:
    rng = random.Random(7)
    values = [f"{rng.getrandbits(256):064x}" for _ in range(50)] + [BRIDGE, "0" * 64, "f" * 64]
    for value in values:
        assert PdqSignal.from_bytes(PdqSignal.to_bytes(value)) == value
    codes = PdqSignal.pack(values)
    assert codes.shape == (len(values), 4) and codes.dtype == np.uint64
    # Big-endian words: word 0 holds the first 16 hex digits.
    assert int(codes[-3, 0]) == int(BRIDGE[:16], 16) and int(codes[-3, 3]) == int(BRIDGE[48:], 16)
    assert PdqSignal.unpack(codes) == values
    # The packed distance (what indexes compute) is the reference distance.
    packed = np.bitwise_count(codes ^ codes[-3]).sum(axis=1)
    assert packed.tolist() == [PdqSignal.distance(value, BRIDGE) for value in values]


def test_pdq_packing_refuses_a_hash_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        PdqSignal.pack([BRIDGE, BRIDGE[:-2]])
    with pytest.raises(ValueError):
        PdqSignal.to_bytes(BRIDGE + "00")
    with pytest.raises(ValueError):
        PdqSignal.from_bytes(b"\0" * 31)
