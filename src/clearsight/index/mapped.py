"""Read the arrays of an uncompressed ``.npz`` as memory maps, without copying them.

``numpy.load`` maps a ``.npy`` file (``mmap_mode="r"``) but reads an ``.npz`` member
into private memory. The index cache writes ``.npz`` files uncompressed (stored zip
members), so each member's array lies whole at a fixed offset of the file; mapping
it there gives every process that loads the index the same pages of the page cache.
That is what lets a second worker of the matching service serve a ten-million-code
index for the cost of its own interpreter, not another copy of the index.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip member's local file header
_LOCAL_SIGNATURE = b"PK\x03\x04"


def load_mapped(path: Path, names: tuple[str, ...]) -> dict[str, npt.NDArray[Any]]:
    """The arrays ``names`` of the ``.npz`` at ``path``, each a read-only memory map.

    Raises ValueError for a member that is compressed, absent or not a plain array
    (object arrays, which would need pickling, included)."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
        for name in names:
            info = archive.getinfo(f"{name}.npy")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path.name}: {name} is compressed")
            handle.seek(info.header_offset)
            fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
            if fields[0] != _LOCAL_SIGNATURE:
                raise ValueError(f"{path.name}: {name} has no local header")
            handle.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            if dtype.hasobject:
                raise ValueError(f"{path.name}: {name} holds objects")
            offset = handle.tell()
            if not int(np.prod(shape)):
                arrays[name] = np.zeros(shape, dtype=dtype)
                continue
            mapped = np.memmap(
                path,
                dtype=dtype,
                mode="r",
                offset=offset,
                shape=shape,
                order="F" if fortran else "C",
            )
            # A plain ndarray over the same pages: compiled kernels take no subclasses.
            arrays[name] = np.asarray(mapped)
    return arrays
