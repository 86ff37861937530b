"""C2PA manifests: what a signed provenance record says of a file's origin, and whether
the record still holds.

The manifest store is read and validated offline with ``c2pa-python`` (the C2PA Rust
SDK): remote manifests and OCSP responses are never fetched. Three validation states:

* **trusted**: signature and content hashes check out and the signer chains to a
  configured trust anchor. None is configured by default, so by default no signer is
  trusted and every detail says so; pass the C2PA trust list (or your own) as PEM.
* **intact**: signature and hashes check out, but the signer is unknown. This is not
  invalid; it proves the record is unchanged since signing, not who signed it.
* **invalid**: a hash or signature check failed (the pixels changed after signing, or
  the manifest itself was altered). Always reported as its own item, with the codes.

Weights. An origin claim (an action's IPTC ``digitalSourceType``) in a trusted manifest
is strong evidence for AI. In an intact one it is moderate: anyone can make a
certificate, and labelling a real photograph "AI-generated" to have it set aside is the
forgery that matters most here. A camera claim is one step weaker throughout (a camera
pointed at a screen signs too), and a term that fits only loosely (``algorithmicMedia``)
one step weaker again. In an invalid manifest every claim is weak. A claim carried by
an ingredient's own manifest (an earlier version of the picture) is one step weaker
than the same claim about the file itself.

Details name codes, terms, software and signer, never free text: ingredient titles are
shown only when they look like plain file names (a generator's file name can hold the
prompt), and action parameters are not read.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import c2pa  # type: ignore[import-untyped]

from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.xmp import SourceType, source_type

# The types c2pa-python reads that a triage scan meets; the sniffer's names and aliases.
SUPPORTED_MEDIA_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/x-webp",
        "image/heic",
        "image/heif",
        "image/avif",
        "image/tiff",
        "video/mp4",
        "application/mp4",
        "video/quicktime",
    }
)
# The JUMBF box type of a C2PA manifest store ("c2pa" and the ISO suffix). Its presence
# tells a manifest the SDK could not read from a file that never had one.
MANIFEST_STORE_TYPE = bytes.fromhex("6332706100110010800000aa00389b71")
_STORE_MARK = MANIFEST_STORE_TYPE[:4]
_REMOTE_MARK = b"provenance"
# Failure codes that say who signed, not whether the record holds.
TRUST_ONLY_CODES = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})

# What the common failure codes mean, for a reviewer who does not know the C2PA spec.
_FAILURE_MEANINGS = {
    "assertion.dataHash.mismatch": "the file's bytes changed after signing",
    "assertion.boxesHash.mismatch": "the file's bytes changed after signing",
    "assertion.bmffHash.mismatch": "the file's bytes changed after signing",
    "assertion.hashedURI.mismatch": "the manifest was altered after signing",
    "claimSignature.mismatch": "the signature does not match the claim",
    "signingCredential.invalid": "the signing certificate is malformed",
    "signingCredential.expired": "the signing certificate had expired",
    "signingCredential.revoked": "the signing certificate was revoked",
}
_STATUS_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")
_ACTIONS_LABEL = re.compile(r"c2pa\.actions(?:\.v2)?(?:__\d+)?")
_PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9]{1,24}(?:[_-][A-Za-z0-9]{1,24})?\.[A-Za-z0-9]{2,5}")
_MAX_INGREDIENT_DEPTH = 8
_MAX_LISTED_INGREDIENTS = 5


class Validation(StrEnum):
    TRUSTED = "trusted"
    INTACT = "intact"  # signature and hashes hold; the signer is not on a trust list
    INVALID = "invalid"


_AI_STRENGTH = {
    Validation.TRUSTED: Strength.STRONG,
    Validation.INTACT: Strength.MODERATE,
    Validation.INVALID: Strength.WEAK,
}
_WEAKER = {Strength.STRONG: Strength.MODERATE, Strength.MODERATE: Strength.WEAK}


class C2paDetector:
    """Origin claims, validation state, claim generator and ingredients of a C2PA
    manifest store.

    ``trust_anchors``: PEM certificates whose signers count as trusted (the C2PA trust
    list, or an organisation's own). Without them no signer is trusted.
    """

    def __init__(self, trust_anchors: str | None = None) -> None:
        self._trust_anchors = trust_anchors

    @property
    def name(self) -> str:
        return "c2pa"

    def examine(self, file: OriginInput) -> list[Evidence]:
        if file.media_type not in SUPPORTED_MEDIA_TYPES or not may_hold_manifest(file.data):
            return []
        try:
            store = self._read_store(file)
        except (c2pa.C2paError, ValueError, OSError) as error:
            # The binding raises C2paError for what the SDK rejects, and ValueError or
            # OSError from its own checks; either way the store is not evidence we can read.
            return _unreadable(error, file.data)
        if store is None:
            return []
        return _StoreReport(store, trust_list=self._trust_anchors is not None).evidence()

    def _read_store(self, file: OriginInput) -> Mapping[str, object] | None:
        settings: dict[str, object] = {
            "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}
        }
        if self._trust_anchors is not None:
            settings["trust"] = {"trust_anchors": self._trust_anchors}
        with c2pa.Context.from_dict(settings) as context:
            reader = c2pa.Reader.try_create(file.media_type, io.BytesIO(file.data), None, context)
            if reader is None:
                return None
            with reader:
                parsed: object = json.loads(reader.json())
        return _mapping(parsed)


def may_hold_manifest(data: bytes) -> bool:
    """Whether ``data`` may carry a C2PA manifest: embedded, as a JUMBF store (its box
    type and label both begin "c2pa", in a JPEG's APP11 segments, a PNG's caBX chunk or
    an ISO BMFF uuid box), or by reference to a remote one (XMP's dcterms:provenance).

    Most files have neither, and handing every file to the SDK costs about a
    millisecond; without either marker the SDK finds no store and reports nothing.
    """
    return _STORE_MARK in data or _REMOTE_MARK in data


def _unreadable(error: Exception, data: bytes) -> list[Evidence]:
    """A store that is there but cannot be read is weak evidence of nothing in
    particular; a failure on a file with no store at all is no evidence."""
    message = str(error)
    if message.startswith("Remote"):
        host = urlsplit(message.rpartition(" ")[2]).hostname or "an unnamed host"
        detail = (
            f"C2PA manifest is stored remotely, at {_safe(host)}; not fetched, "
            "as clearsight works offline"
        )
    elif MANIFEST_STORE_TYPE in data:
        # Only the error's category: the SDK's messages can quote the manifest's contents.
        category = _safe(message.partition(":")[0].split()[0] if message.strip() else "")
        detail = f"C2PA manifest store present but could not be read ({category or 'error'})"
    else:
        return []
    return [Evidence(kind="c2pa", points_to=None, strength=Strength.WEAK, detail=detail)]


@dataclass(frozen=True)
class _Claim:
    """One action's origin-bearing source type, as found in one manifest."""

    assertion: str
    action: str
    kind: SourceType
    agent: str

    def describe(self) -> str:
        agent = f", software agent {self.agent}" if self.agent else ""
        return (
            f"{self.assertion} action {self.action} declares digitalSourceType "
            f"{self.kind.uri} ({self.kind.meaning}){agent}"
        )


class _StoreReport:
    """The evidence one manifest store gives, read from the SDK's JSON report."""

    def __init__(self, store: Mapping[str, object], trust_list: bool) -> None:
        self._store = store
        self._trust_list = trust_list
        self._manifests = _mapping(store.get("manifests"))
        self._label = _text(store.get("active_manifest"))
        self._active = _mapping(self._manifests.get(self._label))
        self._failures = _active_failures(store, self._label)
        self._validation = _validation(_text(store.get("validation_state")), self._failures)

    def evidence(self) -> list[Evidence]:
        items = [self._summary()]
        generator = _generator(self._active)
        state = self._state(self._validation, self._failures)
        for claim in _claims(self._active):
            items.append(
                Evidence(
                    kind="c2pa",
                    points_to=claim.kind.points_to,
                    strength=_claim_strength(claim.kind, self._validation),
                    detail=(
                        f"C2PA {claim.describe()}; manifest: {state}; claim generator {generator}"
                    ),
                )
            )
        items.extend(self._ingredient_claims(self._active, self._validation, set(), True, 0))
        return list({item.detail: item for item in items}.values())

    def _summary(self) -> Evidence:
        signer = _text(_mapping(self._active.get("signature_info")).get("issuer"))
        signed_by = f"; signed by issuer {_safe(signer)}" if signer else ""
        ingredients = _list(self._active.get("ingredients"))
        failed = self._validation is Validation.INVALID or any(
            self._broken(_mapping(ingredient)) for ingredient in ingredients
        )
        return Evidence(
            kind="c2pa",
            points_to=None,
            # A failed check is worth a reviewer's look even though it points nowhere;
            # it is common after an editor that kept the manifest but changed the pixels.
            strength=Strength.MODERATE if failed else Strength.WEAK,
            detail=(
                f"C2PA manifest: {self._state(self._validation, self._failures)}{signed_by}; "
                f"claim generator {_generator(self._active)}; {self._ingredient_list(ingredients)}"
            ),
        )

    def _ingredient_list(self, ingredients: Sequence[object]) -> str:
        if not ingredients:
            return "no ingredients"
        described = []
        for ingredient in map(_mapping, ingredients[:_MAX_LISTED_INGREDIENTS]):
            relationship = _safe(_text(ingredient.get("relationship"))) or "relationship not given"
            described.append(
                f"{_title(ingredient)} ({relationship}, {self._provenance(ingredient)})"
            )
        more = len(ingredients) - _MAX_LISTED_INGREDIENTS
        listed = "; ".join(described) + (f"; and {more} more" if more > 0 else "")
        return f"{len(ingredients)} ingredient{'s' if len(ingredients) > 1 else ''}: {listed}"

    def _provenance(self, ingredient: Mapping[str, object]) -> str:
        if not ingredient.get("active_manifest"):
            return "no manifest"
        codes = ", ".join(self._broken(ingredient))
        if codes:
            return f"with a manifest of its own that failed validation: {codes}"
        return "with a manifest of its own"

    def _broken(self, ingredient: Mapping[str, object]) -> list[str]:
        """The failure codes, other than trust, of an ingredient's own manifest."""
        failures = _ingredient_failures(self._store, ingredient)
        return [code for code in failures if code not in TRUST_ONLY_CODES]

    def _state(self, validation: Validation, failures: Sequence[str]) -> str:
        where = "none is configured" if not self._trust_list else "not on the configured one"
        unknown_signer = f"signer not on a trust list ({where})"
        untrusted = "signingCredential.untrusted" in failures
        if validation is Validation.INVALID:
            codes = [code for code in failures if code not in TRUST_ONLY_CODES]
            named = ", ".join(_explained(code) for code in codes) or "no failure code given"
            also = f"; {unknown_signer}" if untrusted else ""
            return f"failed validation: {named}{also}"
        if validation is Validation.INTACT:
            return f"signature and hashes intact, {unknown_signer}"
        return "signature and hashes intact, signer on the configured trust list"

    def _ingredient_claims(
        self,
        manifest: Mapping[str, object],
        validation: Validation,
        seen: set[str],
        parents_only: bool,
        depth: int,
    ) -> Iterator[Evidence]:
        """Claims in the ingredients' own manifests, down the chain of earlier versions."""
        if depth >= _MAX_INGREDIENT_DEPTH:
            return
        for entry in _list(manifest.get("ingredients")):
            ingredient = _mapping(entry)
            label = _text(ingredient.get("active_manifest"))
            own = _mapping(self._manifests.get(label))
            if not own or label in seen:
                continue
            seen.add(label)
            failures = _ingredient_failures(self._store, ingredient)
            state = _ingredient_validation(validation, failures)
            relationship = _safe(_text(ingredient.get("relationship")))
            for claim in _claims(own):
                points_to = _through_ingredient(
                    claim.kind.points_to, parents_only and relationship == "parentOf"
                )
                if points_to is None:
                    continue
                strength = _claim_strength(claim.kind, state)
                yield Evidence(
                    kind="c2pa",
                    points_to=points_to,
                    strength=_WEAKER.get(strength, Strength.WEAK),
                    detail=(
                        f"C2PA ingredient {_title(ingredient)} "
                        f"({relationship or 'relationship not given'}) "
                        f"has its own manifest, whose {claim.describe()}; "
                        f"ingredient manifest: {self._state(state, failures)}"
                    ),
                )
            yield from self._ingredient_claims(
                own, state, seen, parents_only and relationship == "parentOf", depth + 1
            )


def _claims(manifest: Mapping[str, object]) -> Iterator[_Claim]:
    for entry in _list(manifest.get("assertions")):
        assertion = _mapping(entry)
        label = _text(assertion.get("label"))
        if not _ACTIONS_LABEL.fullmatch(label):
            continue
        for item in _list(_mapping(assertion.get("data")).get("actions")):
            action = _mapping(item)
            kind = source_type(_text(action.get("digitalSourceType")))
            if kind is not None:
                yield _Claim(label, _safe(_text(action.get("action"))), kind, _agent(action))


def _claim_strength(kind: SourceType, validation: Validation) -> Strength:
    strength = _AI_STRENGTH[validation]
    if kind.points_to is PointsTo.CAMERA:
        strength = _WEAKER.get(strength, Strength.WEAK)
    return kind.weigh(strength)


def _through_ingredient(points_to: PointsTo, parents_only: bool) -> PointsTo | None:
    """What an ingredient's claim says of the file made from it. A chain of parents
    keeps the origin (an edit of a generated picture is still generated); a generated
    component makes a composite; a camera component says nothing of the whole."""
    if parents_only or points_to is PointsTo.AI_EDIT:
        return points_to
    return PointsTo.AI_EDIT if points_to is PointsTo.AI else None


def _validation(state: str, failures: Sequence[str]) -> Validation:
    if state == "Invalid" or any(code not in TRUST_ONLY_CODES for code in failures):
        return Validation.INVALID
    return Validation.TRUSTED if state == "Trusted" else Validation.INTACT


def _ingredient_validation(active: Validation, failures: Sequence[str]) -> Validation:
    if active is Validation.INVALID or any(code not in TRUST_ONLY_CODES for code in failures):
        return Validation.INVALID
    if "signingCredential.untrusted" in failures:
        return Validation.INTACT
    return active


def _active_failures(store: Mapping[str, object], label: str) -> list[str]:
    results = _mapping(store.get("validation_results"))
    if results:
        return _codes(_mapping(results.get("activeManifest")).get("failure"))
    # Older reports: one flat list of failures for the whole store; keep the active
    # manifest's.
    statuses = _list(store.get("validation_status"))
    return _codes(
        [status for status in statuses if label in _text(_mapping(status).get("url", label))]
    )


def _ingredient_failures(
    store: Mapping[str, object], ingredient: Mapping[str, object]
) -> list[str]:
    """The failure codes of an ingredient's manifest, wherever this SDK version puts them:
    on the ingredient itself, or among the store's ingredient deltas."""
    own = _mapping(ingredient.get("validation_results"))
    codes = _codes(_mapping(own.get("activeManifest")).get("failure"))
    codes += _codes(ingredient.get("validation_status"))  # older SDKs: failures only
    label = _text(ingredient.get("label"))
    deltas = _list(_mapping(store.get("validation_results")).get("ingredientDeltas"))
    for delta in map(_mapping, deltas):
        uri = _text(delta.get("ingredientAssertionURI"))
        if label and uri.endswith("/" + label):
            codes += _codes(_mapping(delta.get("validationDeltas")).get("failure"))
    return list(dict.fromkeys(codes))


def _codes(statuses: object) -> list[str]:
    """The status codes in a list of statuses. Only code-shaped strings: an older
    ingredient's statuses are stored in the manifest, so its signer wrote them."""
    codes = [_text(_mapping(status).get("code")) for status in _list(statuses)]
    return [code for code in codes if _STATUS_CODE.fullmatch(code)]


def _explained(code: str) -> str:
    meaning = _FAILURE_MEANINGS.get(code)
    return f"{code} ({meaning})" if meaning else code


def _generator(manifest: Mapping[str, object]) -> str:
    named = []
    for info in map(_mapping, _list(manifest.get("claim_generator_info"))):
        words = (_safe(_text(info.get("name"))), _safe(_text(info.get("version"))))
        if words[0]:
            named.append(" ".join(word for word in words if word))
    if named:
        return ", ".join(named[:3])
    return _safe(_text(manifest.get("claim_generator"))) or "not named"


def _agent(action: Mapping[str, object]) -> str:
    agent = action.get("softwareAgent")
    if isinstance(agent, dict):
        words = (_safe(_text(agent.get("name"))), _safe(_text(agent.get("version"))))
        return " ".join(word for word in words if word)
    return _safe(_text(agent))


def _title(ingredient: Mapping[str, object]) -> str:
    title = _text(ingredient.get("title"))
    if _PLAIN_FILE_NAME.fullmatch(title):
        return title
    return "[title withheld: free text]" if title else "[untitled]"


def _safe(text: str, limit: int = 64) -> str:
    """``text`` as printable characters on one line, cut to ``limit``."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split())[:limit]


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
