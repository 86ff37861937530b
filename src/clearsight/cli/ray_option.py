"""``scan --ray auto|ADDRESS`` and ``--path-map FROM=TO``: a scan fingerprinted on Ray.

Ray is a large optional library (the ``[ray]`` extra) that takes seconds to import, so
nothing here imports it: :func:`ray_executor` does, when a scan asks for Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from clearsight.errors import DependencyError

if TYPE_CHECKING:
    from clearsight.scan.ray_executor import RayExecutor

RAY_ADDRESS_ENV = "CLEARSIGHT_RAY_ADDRESS"


def ray_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--ray`` (its ``ray_address``) and ``--path-map`` (``path_maps``)."""
    command = click.option(
        "--path-map",
        "path_maps",
        multiple=True,
        metavar="FROM=TO",
        help="With --ray: worker nodes read files under FROM at TO (repeatable).",
    )(command)
    return click.option(
        "--ray",
        "ray_address",
        envvar=RAY_ADDRESS_ENV,
        metavar="auto|ADDRESS",
        help=(
            "Fingerprint on Ray: 'auto' starts Ray on this machine, an address "
            f"(HOST:6379) joins a running cluster [env {RAY_ADDRESS_ENV}]. Needs the "
            "[ray] extra."
        ),
    )(command)


def ray_executor(address: str, workers: int | None, path_maps: Sequence[str]) -> RayExecutor:
    """The executor of a scan on Ray at ``address`` (Ray is imported here)."""
    try:
        from clearsight.scan.ray_executor import PathMap, RayExecutor
    except ModuleNotFoundError as exc:
        raise DependencyError(
            f"--ray needs Ray ({exc.name} is not installed): pip install 'clearsight[ray]'"
        ) from exc
    maps = [PathMap.parse(text) for text in path_maps]
    return RayExecutor(address, workers=workers, path_maps=maps)


def node_counts(executor: RayExecutor) -> list[dict[str, object]]:
    """The files each node fingerprinted, most first, for ``--json``."""
    return [
        {"node_id": node_id, "address": address, "files": files}
        for (address, node_id), files in executor.node_files.most_common()
    ]
