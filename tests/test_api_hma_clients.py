"""Clients written for HMA, against a real ``clearsight api --no-auth`` on loopback (the
deployment behind an authenticating gateway, where HMA's clients send no key): each
client's own request sequence, as it sends it, and what it reads from the answers.

- ROOST Coop's ``HmaService`` (roostorg/coop, ``server/services/hmaService/index.ts``,
  commit 1e49f86c), which Coop calls for its hash banks: ``createBank`` (the ratio as
  text), ``updateBank`` (as a number), ``getBank``, ``addContentToBank`` (an upload as
  undici's FormData sends a Blob, or a URL with a JSON body), ``hashContentFromUrl``,
  ``lookupContent``, ``checkImageMatchWithDetails``, ``getExchangeApis``,
  ``getExchangeApiSchema``, ``createExchange``, ``getExchangeForBank``, ``deleteBank``.
  The same class, run unchanged under Node against ``clearsight api``, passed as well
  (the session notes of issue 19 say how). Coop's default service address ends in a
  slash, so its paths reach HMA doubled (``//c/banks``): HMA's Flask answers with a 308
  to the merged path, and fetch follows it (Coop's own ``.env`` names the address
  without the slash; an upload through that redirect fails against HMA too: undici
  sends the FormData again under a new boundary but the old Content-Type).
- An HMA demo's evaluator (Python ``requests``, from a CLIP demo built on HMA): it checks
  for a bank at ``/h/bank/NAME`` (no such route in HMA: any answer but 200 means
  "make it"), makes it, uploads photos, hashes one and looks its PDQ up raw.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEnvironment
from threatexchange.signal_type.pdq.signal import PdqSignal as HmaPdqSignal

from clearsight.exchanges.apis import connect

from .api_support import ApiService, api_service, wait_for
from .conftest import photo_like


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    photo_like(seed).save(buffer, format="PNG")
    return buffer.getvalue()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A media host on 127.0.0.1 (its base URL, and the folder it serves)."""
    folder = tmp_path_factory.mktemp("media")
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, media: tuple[str, Path]
) -> Iterator[ApiService]:
    host, _ = media
    home = tmp_path_factory.mktemp("api-clients")
    with api_service(home, "--no-auth", "--allow-url", host, keys=False) as running:
        yield running


class CoopHma:
    """Coop's requests, one method per ``HmaService`` method, sent as its ``fetchHTTP``
    sends them: no key, JSON bodies with ``Content-Type: application/json``, redirects
    followed (fetch's default), and the address joined as Coop joins it."""

    def __init__(self, base: str) -> None:
        self.url = base  # as Coop's .env names it: HMA_SERVICE_URL=http://localhost:9876
        self.http = httpx.Client(follow_redirects=True, timeout=30)
        self.json = {"Content-Type": "application/json"}

    def create_bank(self, hma_name: str, enabled_ratio: float) -> httpx.Response:
        body = {"name": hma_name, "enabled_ratio": _js_number(enabled_ratio)}
        return self.http.post(f"{self.url}/c/banks", content=json.dumps(body), headers=self.json)

    def update_ratio(self, hma_name: str, enabled_ratio: float) -> httpx.Response:
        body = json.dumps({"enabled_ratio": enabled_ratio})
        return self.http.put(f"{self.url}/c/bank/{hma_name}", content=body, headers=self.json)

    def get_bank(self, hma_name: str) -> httpx.Response:
        return self.http.get(f"{self.url}/c/bank/{hma_name}")

    def list_bank(self, hma_name: str) -> httpx.Response:  # listBanks sends a JSON header
        return self.http.get(f"{self.url}/c/bank/{hma_name}", headers=self.json)

    def delete_bank(self, hma_name: str) -> httpx.Response:
        return self.http.delete(f"{self.url}/c/bank/{hma_name}")

    def add_file(self, bank: str, data: bytes, **fields: str) -> httpx.Response:
        # undici's FormData.append(name, blob): filename "blob", no type of its own.
        files = {"photo": ("blob", data, "application/octet-stream")}
        return self.http.post(f"{self.url}/c/bank/{bank}/content", files=files, data=fields)

    def add_url(self, bank: str, url: str, body: dict[str, Any] | None) -> httpx.Response:
        address = f"{self.url}/c/bank/{bank}/content?url={quote(url, safe='')}"
        if body is None:
            return self.http.post(address)
        return self.http.post(address, content=json.dumps(body), headers=self.json)

    def hash_url(self, url: str) -> httpx.Response:
        return self.http.get(f"{self.url}/h/hash?url={quote(url, safe='')}")

    def lookup(self, **params: str) -> httpx.Response:
        order = ("url", "content_type", "signal_type", "signal")  # as Coop appends them
        query = "&".join(f"{key}={quote(params[key], safe='')}" for key in order if key in params)
        return self.http.get(f"{self.url}/m/lookup?{query}")

    def check_image_match(self, banks: list[str], signal_type: str, signal: str) -> list[str]:
        found = self.lookup(signal=signal, signal_type=signal_type)
        assert found.is_success  # Coop throws otherwise
        matches = found.json()
        return [bank for bank in banks if matches.get(bank)]

    def exchange_apis(self) -> list[dict[str, Any]]:
        names = self.http.get(f"{self.url}/c/exchanges/apis")
        assert names.is_success
        infos = []
        for name in names.json():
            config = self.http.get(f"{self.url}/c/exchanges/api/{quote(name, safe='')}")
            body = config.json() if config.is_success else {}
            infos.append(
                {
                    "name": name,
                    "supports_auth": body.get("supports_authentification", False),
                    "has_auth": body.get("has_set_authentification", False),
                }
            )
        return infos

    def exchange_schema(self, api: str) -> httpx.Response:
        return self.http.get(f"{self.url}/c/exchanges/api/{quote(api, safe='')}/schema")

    def create_exchange(self, bank: str, api: str, api_json: dict[str, Any]) -> httpx.Response:
        body = json.dumps({"bank": bank, "api": api, "api_json": api_json})
        return self.http.post(f"{self.url}/c/exchanges", content=body, headers=self.json)

    def set_credentials(self, api: str, credentials: dict[str, Any]) -> httpx.Response:
        body = json.dumps({"credential_json": credentials})
        return self.http.post(
            f"{self.url}/c/exchanges/api/{quote(api, safe='')}", content=body, headers=self.json
        )

    def exchange_for_bank(self, hma_name: str) -> dict[str, Any] | None:
        shown = self.http.get(f"{self.url}/c/exchange/{quote(hma_name, safe='')}")
        if shown.status_code == 404:
            return None
        assert shown.is_success
        api = str(shown.json().get("api", ""))
        config = self.http.get(f"{self.url}/c/exchanges/api/{quote(api, safe='')}")
        info: dict[str, Any] = {
            "api": api,
            "enabled": bool(shown.json().get("enabled")),
            "has_auth": config.json()["has_set_authentification"],
        }
        status = self.http.get(f"{self.url}/c/exchange/{quote(hma_name, safe='')}/status")
        assert status.is_success
        fetched = status.json()
        info["last_fetch_succeeded"] = fetched["last_fetch_succeeded"]
        info["up_to_date"] = fetched["up_to_date"]
        info["fetched_items"] = fetched["fetched_items"]
        info["is_fetching"] = fetched["running_fetch_start_ts"] is not None
        return info


def _js_number(value: float) -> str:
    """JavaScript's ``Number.prototype.toString`` for the ratios Coop sends."""
    return str(int(value)) if value == int(value) else repr(value)


@pytest.fixture
def coop(service: ApiService) -> Iterator[CoopHma]:
    client = CoopHma(service.base)
    try:
        yield client
    finally:
        client.http.close()


def test_coop_makes_updates_finds_and_deletes_a_bank(coop: CoopHma) -> None:
    name = "COOP_ORG1_TEST_BANK"
    made = coop.create_bank(name, 1.0)
    assert made.status_code == 201
    assert made.json() == {"name": name, "matching_enabled_ratio": 1.0}
    half = coop.create_bank("COOP_ORG1_HALF", 0.5)
    assert half.json()["matching_enabled_ratio"] == 0.5
    assert coop.create_bank(name, 1.0).status_code == 403  # Coop throws: already there

    changed = coop.update_ratio(name, 0.25)
    assert changed.is_success and changed.json()["matching_enabled_ratio"] == 0.25
    assert coop.get_bank(name).status_code == 200
    assert coop.list_bank(name).json()["matching_enabled_ratio"] == 0.25
    assert coop.delete_bank(name).is_success
    assert coop.get_bank(name).status_code == 404  # Coop forgets its own copy on a 404
    assert coop.delete_bank("COOP_ORG1_HALF").is_success


def test_coops_default_address_reaches_the_routes_through_a_redirect(
    service: ApiService,
) -> None:
    coop = CoopHma(service.base + "/")  # Coop's default: http://localhost:9876/
    try:
        made = coop.create_bank("COOP_ORG1_DEFAULT", 0.5)
        assert made.status_code == 201 and [r.status_code for r in made.history] == [308]
        assert made.history[0].headers["location"] == "/c/banks"
        assert coop.get_bank("COOP_ORG1_DEFAULT").json()["matching_enabled_ratio"] == 0.5
        found = coop.lookup(signal=HmaPdqSignal.get_examples()[0], signal_type="pdq")
        assert found.status_code == 200 and found.history[0].status_code == 308
        queried = found.history[0].headers["location"]
        assert queried.startswith("/m/lookup?signal_type=pdq&signal=")  # the query kept
        assert coop.delete_bank("COOP_ORG1_DEFAULT").is_success
    finally:
        coop.http.close()


def test_coop_banks_an_upload_and_matches_it(coop: CoopHma) -> None:
    bank = "COOP_ORG1_UPLOADS"
    assert coop.create_bank(bank, 1.0).status_code == 201
    data = png(31)
    added = coop.add_file(bank, data, content_id="type1:item1", note="Reported")
    assert added.is_success, added.text
    content = added.json()  # BankContentResponse
    assert set(content) == {"id", "signals"} and isinstance(content["id"], int)
    pdq = content["signals"]["pdq"]

    wait_for(lambda: coop.check_image_match([bank, "COOP_ORG1_OTHER"], "pdq", pdq) == [bank])
    found = coop.lookup(signal=pdq, signal_type="pdq").json()
    assert found[bank] == [{"bank_content_id": content["id"], "distance": "0"}]

    # metadata.json goes in the form's `metadata` field, which HMA reads as the whole
    # metadata object and refuses (extra keys are forbidden there): so do we.
    refused = coop.add_file(bank, png(32), metadata=json.dumps({"source": "report"}))
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("Invalid metadata")


def test_coop_banks_and_looks_up_media_by_url(coop: CoopHma, media: tuple[str, Path]) -> None:
    host, folder = media
    data = png(33)
    (folder / "a.png").write_bytes(data)
    url = f"http://{host}/a.png"
    bank = "COOP_ORG1_BY_URL"
    assert coop.create_bank(bank, 1.0).status_code == 201

    hashed = coop.hash_url(url)
    assert hashed.is_success and set(hashed.json()) == {"pdq"}
    body = {"metadata": {"content_id": "type1:item2", "json": {"source": "report"}}, "note": "n"}
    added = coop.add_url(bank, url, body)
    assert added.is_success, added.text
    assert added.json()["signals"] == hashed.json()
    bare = coop.add_url(bank, url, None)  # no metadata and no note: no body at all
    assert bare.is_success, bare.text

    def by_url() -> dict[str, Any]:
        found: dict[str, Any] = coop.lookup(url=url, content_type="photo").json()
        return found

    wait_for(lambda: len(by_url().get("pdq", {}).get(bank, [])) == 2)
    ids = {match["bank_content_id"] for match in by_url()["pdq"][bank]}
    assert ids == {added.json()["id"], bare.json()["id"]}


def test_coop_reads_the_exchanges(coop: CoopHma, media: tuple[str, Path]) -> None:
    _, folder = media
    listing = folder / "exchange.txt"
    listing.write_text(f"pdq {HmaPdqSignal.get_examples()[0]}\n")
    apis = {info["name"]: info for info in coop.exchange_apis()}
    assert {"ncmec", "stop_ncii", "fb_threatexchange", "file"} <= set(apis)
    assert apis["ncmec"]["supports_auth"] and not apis["file"]["supports_auth"]
    assert not apis["ncmec"]["has_auth"]
    schema = coop.exchange_schema("ncmec").json()  # Coop's ExchangeApiSchema
    assert schema["credentials_schema"] is None  # set on the service's machine only
    fields = {field["name"]: field for field in schema["config_schema"]["fields"]}
    assert set(fields["environment"]) == {"name", "type", "required", "default", "help", "choices"}
    assert "https://hashsharing.ncmec.org/npo" in fields["environment"]["choices"]  # as Coop's
    assert fields["only_esp_ids"]["type"] == "set_of_number"
    file_fields = coop.exchange_schema("file").json()["config_schema"]["fields"]
    assert [(f["name"], f["required"]) for f in file_fields][0] == ("filename", True)
    assert coop.exchange_schema("nowhere").status_code == 404  # Coop falls back then

    assert coop.exchange_for_bank("COOP_ORG1_FEED") is None
    made = coop.create_exchange("COOP_ORG1_FEED", "file", {"filename": str(listing)})
    assert made.status_code == 201, made.text
    info = coop.exchange_for_bank("COOP_ORG1_FEED")
    assert info == {
        "api": "file",
        "enabled": True,
        "has_auth": False,
        "last_fetch_succeeded": None,
        "up_to_date": False,
        "fetched_items": 0,
        "is_fetching": False,
    }
    # Credentials never cross HTTP here: Coop's setExchangeCredentials throws on the 403.
    refused = coop.set_credentials("ncmec", {"user": "u", "password": "p"})
    assert refused.status_code == 403


def test_an_hma_demo_evaluator_banks_photos_and_matches_one(
    service: ApiService, tmp_path: Path
) -> None:
    base = service.base
    bank = "LABELLED_BANK"
    photos = [tmp_path / f"photo-{seed}.png" for seed in (41, 42, 43)]
    for seed, path in zip((41, 42, 43), photos, strict=True):
        path.write_bytes(png(seed))

    # bank_exists: a path HMA has not; anything but 200 and the evaluator makes the bank.
    assert requests.get(f"{base}/h/bank/{bank}", timeout=30).status_code != 200
    assert requests.post(f"{base}/c/banks", json={"name": bank}, timeout=30).ok
    for path in photos:
        with path.open("rb") as handle:
            files = {"photo": (path.name, handle)}
            added = requests.post(f"{base}/c/bank/{bank}/content", files=files, timeout=30)
        assert added.ok, added.text

    with photos[0].open("rb") as handle:
        hashed = requests.post(f"{base}/h/hash", files={"photo": (photos[0].name, handle)})
    assert hashed.ok
    signal = hashed.json()["pdq"]
    params: dict[str, Any] = {"signal_type": "pdq", "signal": signal, "include_distance": True}

    def matched() -> list[dict[str, Any]]:
        answer = requests.get(f"{base}/m/raw_lookup", params=params, timeout=30)
        assert answer.ok, answer.text  # requests writes the flag True as "True"
        matches: list[dict[str, Any]] = answer.json()["matches"]
        return matches

    wait_for(lambda: len(matched()) >= 1)
    assert {"bank_content_id", "distance"} == set(matched()[0])
    assert "0" in {match["distance"] for match in matched()}


def test_the_no_auth_service_still_refuses_what_hma_refuses(service: ApiService) -> None:
    """The gateway deployment answers HMA's errors, not ours about keys."""
    answer = httpx.get(f"{service.base}/m/lookup", params={"signal_type": "pdq"}, timeout=30)
    assert answer.status_code == 400
    assert answer.json() == {"message": "Either url or both signal and signal_type are required"}


@pytest.mark.parametrize(
    "environment", ["test_Industry", "https://exttest.cybertip.org/hashsharing"]
)
def test_an_ncmec_environment_is_taken_by_name_or_as_hmas_api_json_gives_it(
    environment: str,
) -> None:
    """Coop's built-in NCMEC schema (HMA's) offers the environments' URLs: the library's
    enum values, which HMA's ``api_json`` carries; the command line names them."""
    connected = connect("ncmec", {"environment": environment}, "user:password")
    assert connected.api.collab.environment is NCMECEnvironment.test_Industry  # type: ignore[attr-defined]
