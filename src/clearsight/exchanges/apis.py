"""The boundary with python-threatexchange: its exchange APIs, made ready to fetch.

Each API is the library's own ``SignalExchangeAPI`` and client; clearsight never
speaks NCMEC's, StopNCII's, the Graph API's or TAT's protocol itself. What is done
here is what the library leaves to its caller, and the faults found in it, each fixed
at this boundary rather than by copying a client (tests/test_exchange_library_faults.py
shows each fault in the library as installed):

* **Base URLs.** Every API takes ``base_url`` in its settings (a test server, a proxy):
  StopNCII and the Graph client take one; NCMEC's client takes an environment enum
  and TAT's a class constant, so a small subclass sets the address.
* **StopNCII withdrawals.** The library's record mapping compares ``hashValue`` (a
  hash) with the case states ``Withdrawn``/``Deleted``, so it never deletes; the
  records are read by ``hashStatus`` instead (as clearsight's file import does).
* **Graph API retries.** ``ThreatExchangeAPI.get_json_from_url`` builds a session with
  retries and a timeout, then calls ``requests.get`` beside it: no retry on a 500 and
  no timeout. The subclass uses the session.
* **NCMEC time window.** The client formats ``from``/``to`` in local time but labels
  them ``Z``: on a machine not on UTC it asks for the wrong window. The subclass
  formats UTC.
* **NCMEC page cost.** The client builds a new session (and a new connection) for
  every page of 1,000 entries, and strips the namespace through ``iterparse``'s
  events in Python; a national list is a thousand pages and a million entries. The
  subclass keeps one session (same retries and timeout) and parses each page in one
  call, then renames the elements in one pass: the same tree, the same parsing after.

Errors leave as one line (:func:`fetch_errors`): an HTTP status, never a URL, since
the Graph API puts the access token in its query string.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from threatexchange.exchanges.auth import (
    SignalExchangeAPIInvalidAuthException,
    SignalExchangeAPIMissingAuthException,
)
from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.clients.ncmec import hash_api as ncmec_client
from threatexchange.exchanges.clients.stopncii.api import StopNCIIAPI
from threatexchange.exchanges.clients.techagainstterrorism.api import TATHashListAPI
from threatexchange.exchanges.collab_config import CollaborationConfigBase
from threatexchange.exchanges.fetch_state import FetchCheckpointBase, FetchDelta
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCollabConfig,
    FBThreatExchangeSignalExchangeAPI,
)
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.exchanges.impl.ncmec_api import (
    NCMECCheckpoint,
    NCMECCollabConfig,
    NCMECSignalExchangeAPI,
)
from threatexchange.exchanges.impl.stop_ncii_api import (
    StopNCIICheckpoint,
    StopNCIISignalExchangeAPI,
)
from threatexchange.exchanges.impl.techagainstterrorism_api import TATSignalExchangeAPI
from threatexchange.exchanges.signal_exchange_api import AnySignalExchangeAPI
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.signal_base import SignalType

from clearsight.banks.prepared import PreparedEntry
from clearsight.banks.records import ImportEvent
from clearsight.errors import DependencyError, UserError
from clearsight.exchanges import translate

SIGNAL_TYPES: list[type[SignalType]] = [PdqSignal, VideoMD5Signal]
# A page's updates as bank events, or as the rows those would be prepared into.
Translate = Callable[[Mapping[Any, Any]], Iterator[PreparedEntry | ImportEvent]]


class ExchangeCredentialsError(DependencyError):
    """An exchange's credentials are missing, malformed or refused (exit 3)."""


@dataclass(frozen=True)
class Connected:
    """A library exchange API ready to fetch, and how its updates become entries.

    ``snapshot``: each fetch gives the whole list (a local file), so what it leaves out
    is withdrawn.
    """

    api: AnySignalExchangeAPI
    checkpoint_cls: type[FetchCheckpointBase]
    translate: Translate
    snapshot: bool = False


def connect(api_name: str, config: Mapping[str, Any], secret: str | None) -> Connected:
    """The library's API ``api_name`` with ``config`` and the credentials ``secret``."""
    base_url = config.get("base_url")
    if api_name == "file":
        filename = config.get("filename")
        if not filename:
            raise UserError('a file exchange needs --config \'{"filename": "/path/list.txt"}\'')
        file_collab = FileCollaborationConfig(
            name="file", filename=str(filename), signal_type=config.get("signal_type")
        )
        return Connected(
            LocalFileSignalExchangeAPI(file_collab),
            FetchCheckpointBase,
            translate.signal_events,
            snapshot=True,
        )
    if not secret:
        raise ExchangeCredentialsError(
            f"no {api_name} credentials: set them with `clearsight exchange credentials {api_name}`"
        )
    if api_name == "ncmec":
        environment = _ncmec_environment(config.get("environment", "Industry"))
        only = {int(esp) for esp in config.get("only_esp_ids", [])}
        collab = NCMECCollabConfig(name="ncmec", environment=environment, only_esp_ids=only)
        user, _, password = secret.partition(":")
        if not user or not password:
            raise ExchangeCredentialsError("ncmec credentials are USER:PASSWORD")
        ncmec = _NCMEC(collab, user, password, base_url)
        return Connected(
            ncmec, NCMECCheckpoint, lambda updates: translate.ncmec_prepared(updates, only)
        )
    if api_name == "stop_ncii":
        parts = secret.split(",")
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise ExchangeCredentialsError(
                "stop_ncii credentials are FETCH_FUNCTION_KEY,SUBSCRIPTION_KEY"
            )
        client = StopNCIIAPI(parts[1], parts[0], base_url_override=base_url)
        stopncii = _StopNCII(CollaborationConfigBase("stop_ncii", "stop_ncii", True), client)
        return Connected(stopncii, StopNCIICheckpoint, translate.stopncii_events)
    if api_name == "fb_threatexchange":
        group = config.get("privacy_group")
        if group is None:
            raise UserError("a fb_threatexchange exchange needs --config '{\"privacy_group\": ID}'")
        graph = _GraphClient(secret.strip(), endpoint_override=base_url)
        try:
            graph.app_id  # noqa: B018 (the token's app id: a malformed token fails here)
        except ValueError:
            raise ExchangeCredentialsError(
                "fb_threatexchange credentials are APP_ID|SECRET"
            ) from None
        te_collab = FBThreatExchangeCollabConfig(name="te", privacy_group=int(group))
        te = FBThreatExchangeSignalExchangeAPI(graph, te_collab)
        return Connected(
            te,
            FBThreatExchangeSignalExchangeAPI.get_checkpoint_cls(),
            translate.threatexchange_events,
        )
    if api_name == "tat":
        user, _, password = secret.partition(":")
        if not user or not password:
            raise ExchangeCredentialsError("tat credentials are USER:PASSWORD")
        tat = _TAT(user, password, base_url)
        return Connected(tat, TATSignalExchangeAPI.get_checkpoint_cls(), translate.signal_events)
    raise UserError(f"unknown exchange API {api_name!r}")


def ncmec_environments() -> list[str]:
    """The NCMEC environments as HMA's ``api_json`` names them: the library's URLs."""
    return [environment.value for environment in ncmec_client.NCMECEnvironment]


def _ncmec_environment(name: object) -> ncmec_client.NCMECEnvironment:
    """The environment by its name ("Industry"), or by its URL, as HMA's ``api_json``
    gives it (the library's enum value: what Coop sends through HMA's API)."""
    try:
        return ncmec_client.NCMECEnvironment[str(name)]
    except KeyError:
        pass
    try:
        return ncmec_client.NCMECEnvironment(str(name))
    except ValueError:
        known = ", ".join(e.name for e in ncmec_client.NCMECEnvironment)
        raise UserError(f"unknown NCMEC environment {name!r}: one of {known}") from None


@contextmanager
def fetch_errors(api_name: str) -> Iterator[None]:
    """Turn the library's and requests' failures into one-line DependencyErrors.

    Only the status or the kind of failure is kept, and the cause is dropped (``from
    None``): a requests error names the URL, and the Graph API's holds the token.
    """
    try:
        yield
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else 0
        if status in (401, 403):
            raise ExchangeCredentialsError(
                f"{api_name} refused the credentials (HTTP {status}): set them with "
                f"`clearsight exchange credentials {api_name}`"
            ) from None
        raise DependencyError(
            f"{api_name} answered HTTP {status}; run the fetch again to resume"
        ) from None
    except requests.exceptions.RetryError:
        raise DependencyError(
            f"{api_name} kept failing after retries; run the fetch again to resume"
        ) from None
    except (requests.ConnectionError, requests.Timeout) as error:
        raise DependencyError(
            f"could not reach {api_name} ({type(error).__name__}); run the fetch again to resume"
        ) from None
    except (SignalExchangeAPIMissingAuthException, SignalExchangeAPIInvalidAuthException):
        raise ExchangeCredentialsError(f"{api_name} credentials are missing or invalid") from None
    except requests.RequestException as error:
        raise DependencyError(f"{api_name} request failed ({type(error).__name__})") from None


# The fixes, each the smallest subclass that makes the library's own client do it.


class _NCMECClient(ncmec_client.NCMECHashAPI):
    def __init__(
        self,
        user: str,
        password: str,
        environment: ncmec_client.NCMECEnvironment,
        base_url: str | None,
    ) -> None:
        super().__init__(user, password, environment)
        if base_url:
            self._base_url = base_url.rstrip("/")
        self._kept: requests.Session | None = None

    def _get(
        self,
        endpoint: ncmec_client.NCMECEndpoint,
        *,
        path: str = "",
        next_: str = "",
        **params: Any,
    ) -> ET.Element:
        """The library's _get, through one kept session, with one parse a page."""
        url = "/".join((self._base_url, self.VERSION, endpoint.value))
        if path:
            url = "/".join((url, path))
        if next_:
            url = self._base_url + next_
            params = {}
        if self._kept is None:
            self._kept = self._get_session()
        response = self._kept.get(url, params=params)
        response.raise_for_status()
        root = ET.fromstring(response.content)
        for element in root.iter():
            _, has_namespace, local = element.tag.partition("}")
            if has_namespace:
                element.tag = local
        return root

    def get_entries(
        self, *, start_timestamp: int = 0, end_timestamp: int = 0, next_: str = ""
    ) -> ncmec_client.GetEntriesResponse:
        """The library's get_entries, with the window in UTC as its ``Z`` says."""
        end_timestamp = end_timestamp or int(time.time())
        params: dict[str, Any] = {"from": utc_text(start_timestamp)}
        response = self._get(
            ncmec_client.NCMECEndpoint.entries, next_=next_, to=utc_text(end_timestamp), **params
        )
        return ncmec_client.GetEntriesResponse.from_xml(
            ncmec_client._XMLWrapper(response), int(time.time())
        )


def utc_text(timestamp: int) -> str:
    """NCMEC's time format, in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _NCMEC(NCMECSignalExchangeAPI):
    def __init__(
        self, collab: NCMECCollabConfig, username: str, password: str, base_url: str | None
    ) -> None:
        super().__init__(collab, username, password)
        self._base_url = base_url

    def get_client(self, environment: ncmec_client.NCMECEnvironment) -> ncmec_client.NCMECHashAPI:
        return _NCMECClient(self._username, self._password, environment, self._base_url)


class _StopNCII(StopNCIISignalExchangeAPI):
    def fetch_iter(
        self, _supported_signal_types: Any, checkpoint: StopNCIICheckpoint | None
    ) -> Iterator[FetchDelta[Any, Any, StopNCIICheckpoint]]:
        """The library's fetch_iter, yielding its records whole, keyed as it keys them:
        :func:`translate.stopncii_events` reads each by its ``hashStatus``."""
        start = StopNCIIAPI.DEFAULT_START_TIME if checkpoint is None else checkpoint.update_time
        for result in self.api.fetch_hashes_iter(start_timestamp=start):
            yield FetchDelta(
                {(r.signalType.value, r.hashValue): r for r in result.hashRecords},
                StopNCIICheckpoint.from_stopncii_fetch(result),
            )


class _GraphClient(ThreatExchangeAPI):
    def get_json_from_url(
        self, url: str, params: Any = None, *, json_obj_hook: Callable[..., Any] | None = None
    ) -> Any:
        """The library's, through the session it makes (retries, a timeout)."""
        with self._get_session() as session:  # type: ignore[no-untyped-call]
            response = session.get(url, params=params or {})
            response.raise_for_status()
            return response.json(object_hook=json_obj_hook)


class _TAT(TATSignalExchangeAPI):
    def __init__(self, username: str, password: str, base_url: str | None) -> None:
        super().__init__(username, password)
        self._base_url = base_url

    def get_client(self) -> TATHashListAPI:
        client = TATHashListAPI(username=self.username, password=self.password)
        if self._base_url:
            # BASE_URL is a class constant there; an instance attribute shadows it.
            client.BASE_URL = self._base_url.rstrip("/") + "/"  # type: ignore[misc]
        return client
