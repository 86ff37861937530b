"""Signed C2PA fixtures, made in the test with the shared test-only ES256 chain and key.

No timestamp authority is named (tests have no network), so signatures carry no
trusted time; the SDK still validates them.
"""

from __future__ import annotations

import datetime
import io
import json
from dataclasses import dataclass
from pathlib import Path

import c2pa  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
GENERATOR = {"name": "clearsight-tests", "version": "1.0"}


@dataclass(frozen=True)
class Ingredient:
    """A file added to a manifest as an ingredient, under ``label``."""

    title: str
    relationship: str  # parentOf, componentOf or inputTo
    label: str
    data: bytes
    media_type: str


def created(source_type: str) -> list[dict[str, object]]:
    """The actions of a file made from nothing, by a tool of the given source type."""
    return [
        {
            "action": "c2pa.created",
            "digitalSourceType": IPTC + source_type,
            "softwareAgent": {"name": "Test Generator", "version": "0.1"},
        }
    ]


def opened(label: str) -> dict[str, object]:
    return {"action": "c2pa.opened", "parameters": {"ingredientIds": [label]}}


def manifest(actions: list[dict[str, object]]) -> dict[str, object]:
    return {
        "claim_generator_info": [GENERATOR],
        "title": "fixture",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }


def sign(
    provenance: Path,
    source: bytes,
    media_type: str,
    definition: dict[str, object],
    ingredients: tuple[Ingredient, ...] = (),
) -> bytes:
    """``source`` with a manifest signed by the shared test chain embedded in it."""
    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256,
        (provenance / "es256_certs.pem").read_bytes(),
        (provenance / "es256_private.key").read_bytes(),
        None,
    )
    signed = io.BytesIO()
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(definition) as builder:
        for ingredient in ingredients:
            description = {
                "title": ingredient.title,
                "relationship": ingredient.relationship,
                "label": ingredient.label,
            }
            builder.add_ingredient(
                json.dumps(description), ingredient.media_type, io.BytesIO(ingredient.data)
            )
        builder.sign(signer, media_type, io.BytesIO(source), signed)
    return signed.getvalue()


def intermediate_certificate(provenance: Path) -> str:
    """The test chain's intermediate CA, as PEM: a trust anchor that makes the test
    signer trusted (the chain file holds no root)."""
    chain = (provenance / "es256_certs.pem").read_text()
    end = "-----END CERTIFICATE-----"
    certificates = [part + end for part in chain.split(end) if "BEGIN" in part]
    return certificates[1].strip() + "\n"


def unrelated_certificate_authority() -> str:
    """A fresh self-signed CA, as PEM, that signed nothing here: a trust list that
    leaves the test signer out. (``cryptography`` comes with c2pa-python.)"""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unrelated Test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()
