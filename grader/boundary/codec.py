"""Plain data across the boundary: tagged JSON plus .npy blobs, never pickle.

A message is a JSON header and a list of blobs, framed with lengths. Values are
encoded by exact type: a subclass of ndarray or float is not an ndarray or a
float here, it is "other" and carries only its type's name. Decoding loads
blobs with allow_pickle=False and admits only real numeric dtypes.
"""

from __future__ import annotations

import io
import json
import math
import re
import socket
import struct

import numpy as np

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
# The JSON part: the Encoder's 100,000 items fit in a few MiB, and parsing costs ~15x its size in memory.
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 16
MAX_ITEMS = 100_000
_NUMERIC_KINDS = "biuf"
_PLAIN_SCALARS = {
    np.float64: "float", np.float32: "float", np.float16: "float",
    np.int64: "int", np.int32: "int", np.int16: "int", np.int8: "int",
    np.uint64: "int", np.uint32: "int", np.uint16: "int", np.uint8: "int",
}


# The header numpy itself writes for a C-ordered array; anything else goes through np.load.
_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|][biuf][1248])', 'fortran_order': False, 'shape': \(((?:\d+, )*\d+,?|)\), \} *\n")


class CodecError(ValueError):
    """A value that cannot cross the boundary, or a message that is not one."""


def _float_text(value: float):
    return value if math.isfinite(value) else repr(value)  # 'nan', 'inf', '-inf'


class Encoder:
    """Turns a value into a JSON-able tree and a list of .npy blobs."""

    def __init__(self, torch_module=None):
        self.blobs: list[bytes] = []
        self.items = 0
        self.torch = torch_module

    def _blob(self, array: np.ndarray) -> int:
        if array.dtype.kind not in _NUMERIC_KINDS or array.dtype.fields is not None:
            raise CodecError(f"arrays of dtype {array.dtype} cannot be returned; use float32 or float64")
        self.blobs.append(npy_bytes(array))
        return len(self.blobs) - 1

    def encode(self, value, depth: int = 0):
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise CodecError("the value is nested too deeply or has too many elements")
        kind = type(value)
        if value is None:
            return {"t": "none"}
        if kind is bool or kind is np.bool_:
            return {"t": "bool", "v": bool(value)}
        if kind is int:
            return {"t": "int", "v": value}
        if kind is float:
            return {"t": "float", "v": _float_text(value)}
        if kind in _PLAIN_SCALARS:
            if _PLAIN_SCALARS[kind] == "int":
                return {"t": "int", "v": int(value)}
            return {"t": "float", "v": _float_text(float(value)), "dtype": str(value.dtype)}
        if kind is str:
            return {"t": "str", "v": value[:10_000]}
        if kind is np.ndarray:
            return {"t": "array", "i": self._blob(value)}
        if self.torch is not None and kind is self.torch.Tensor:
            array = value.detach().cpu().resolve_conj().resolve_neg().numpy()
            return {"t": "tensor", "i": self._blob(array)}
        if kind is Tensor:  # a value already made plain, encoded again to be stored
            return {"t": "tensor", "i": self._blob(value.array)}
        if kind is Other:
            return {"t": "other", "type": value.type_name}
        if kind in (list, tuple):
            return {"t": kind.__name__, "v": [self.encode(item, depth + 1) for item in value]}
        if kind is dict:
            if not all(type(key) is str for key in value):
                raise CodecError("dict keys must be strings")
            return {"t": "dict", "v": {key: self.encode(item, depth + 1) for key, item in value.items()}}
        return {"t": "other", "type": f"{kind.__module__}.{kind.__qualname__}"}


class Other:
    """A value of a type that may not cross the boundary; only its type's name came back."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"

    def __eq__(self, other) -> bool:
        return type(other) is Other and other.type_name == self.type_name


class Tensor:
    """A tensor that came back from student code, held as a plain ndarray."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def __repr__(self) -> str:
        return f"tensor({np.array2string(self.array, precision=6, threshold=40)})"


def _parse_float(raw) -> float:
    if type(raw) in (int, float):
        try:
            return float(raw)
        except OverflowError:  # an integer literal beyond float64
            raise CodecError(f"bad float {str(raw)[:20]}...") from None
    if raw in ("nan", "inf", "-inf"):
        return float(raw)
    raise CodecError(f"bad float {raw!r}")


class Decoder:
    """Rebuilds a value from a header tree and blobs, trusting nothing in them.

    `as_torch` turns tensors back into torch tensors (the child's side);
    otherwise they come back as `Tensor` wrappers around plain arrays.
    """

    def __init__(self, blobs: list[bytes], torch_module=None):
        self.blobs = blobs
        self.torch = torch_module
        self.items = 0

    def _array(self, index) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(self.blobs):
            raise CodecError("bad blob reference")
        try:
            array = _quick_npy(self.blobs[index])
            if array is None:
                array = np.load(io.BytesIO(self.blobs[index]), allow_pickle=False)
        except Exception as error:  # a malformed .npy of any kind
            raise CodecError(f"unreadable array: {error}") from None
        if type(array) is not np.ndarray or array.dtype.kind not in _NUMERIC_KINDS or array.dtype.fields:
            raise CodecError(f"arrays of dtype {getattr(array, 'dtype', '?')} are not accepted")
        return array

    def decode(self, node, depth: int = 0):
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS or type(node) is not dict or type(node.get("t")) is not str:
            raise CodecError("malformed value, nested too deeply or with too many elements")
        tag = node["t"]
        if tag == "none":
            return None
        if tag == "bool" and type(node.get("v")) is bool:
            return node["v"]
        if tag == "int" and type(node.get("v")) is int:
            return node["v"]
        if tag == "float":
            return _parse_float(node.get("v"))
        if tag == "str" and type(node.get("v")) is str:
            return node["v"]
        if tag == "array":
            return self._array(node.get("i"))
        if tag == "tensor":
            array = self._array(node.get("i"))
            return self.torch.from_numpy(array.copy()) if self.torch is not None else Tensor(array)
        if tag in ("list", "tuple") and type(node.get("v")) is list:
            items = [self.decode(item, depth + 1) for item in node["v"]]
            return items if tag == "list" else tuple(items)
        if tag == "dict" and type(node.get("v")) is dict:
            return {str(key): self.decode(item, depth + 1) for key, item in node["v"].items()}
        # The Encoder writes module.qualname: a name without a dot could pose as a plain kind ("array").
        if tag == "other" and type(node.get("type")) is str and "." in node["type"]:
            return Other(node["type"][:200])
        raise CodecError(f"malformed value tagged {tag!r}")


def npy_bytes(array: np.ndarray) -> bytes:
    """The array as a version 1.0 .npy file, as np.save writes it, without its per-call overhead."""
    header = f"{{'descr': '{array.dtype.str}', 'fortran_order': False, 'shape': {tuple(array.shape)!r}, }}".encode()
    padding = 63 - (len(_NPY_MAGIC) + 2 + len(header)) % 64  # the data starts at a multiple of 64
    header += b" " * padding + b"\n"
    return _NPY_MAGIC + struct.pack("<H", len(header)) + header + array.tobytes()


def _quick_npy(blob: bytes) -> np.ndarray | None:
    """A .npy file in np.save's usual form, read without np.load's literal parser; None otherwise."""
    if not blob.startswith(_NPY_MAGIC) or len(blob) < 10:
        return None
    (size,) = struct.unpack("<H", blob[8:10])
    match = _NPY_HEADER.fullmatch(blob, 10, 10 + size)
    if match is None:
        return None
    shape = tuple(int(part) for part in match[2].split(b",") if part.strip())
    dtype = np.dtype(match[1].decode())
    count = math.prod(shape)
    if len(shape) > 32 or len(blob) - 10 - size != count * dtype.itemsize:
        raise CodecError("the array's data does not match its header")
    return np.frombuffer(blob, dtype, count, 10 + size).reshape(shape).copy()


# ---- framing ---------------------------------------------------------------


def _read_exactly(read, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = read(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def frame(header: dict, blobs: list[bytes] = ()) -> bytes:
    """One message as bytes: its sizes, the JSON header, then each blob with its size."""
    head = json.dumps(header, separators=(",", ":")).encode()
    parts = [struct.pack("!IQ", len(blobs), len(head)), head]
    for blob in blobs:
        parts += [struct.pack("!Q", len(blob)), blob]
    return b"".join(parts)


def read_frame(read) -> tuple[dict, list[bytes]]:
    """One message from read(n), which returns at most n bytes and b"" at the end."""
    count, head_size = struct.unpack("!IQ", _read_exactly(read, 12))
    total = head_size
    if count > MAX_ITEMS or head_size > MAX_HEADER_BYTES:
        raise CodecError(f"message too large (header over {MAX_HEADER_BYTES >> 20} MiB or too many blobs)")
    try:
        header = json.loads(_read_exactly(read, head_size))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deeply, an int too long to parse
        raise CodecError("message header is not JSON that can be read") from None
    if type(header) is not dict:
        raise CodecError("message header is not an object")
    blobs = []
    for _ in range(count):
        (size,) = struct.unpack("!Q", _read_exactly(read, 8))
        total += size
        if total > MAX_MESSAGE_BYTES:
            raise CodecError(f"message larger than {MAX_MESSAGE_BYTES >> 20} MiB")
        blobs.append(_read_exactly(read, size))
    return header, blobs


def send_message(sock: socket.socket, header: dict, blobs: list[bytes] = ()) -> None:
    sock.sendall(frame(header, blobs))


def recv_message(sock: socket.socket) -> tuple[dict, list[bytes]]:
    return read_frame(sock.recv)


def encode_value(value, torch_module=None) -> tuple[dict, list[bytes]]:
    encoder = Encoder(torch_module)
    return encoder.encode(value), encoder.blobs
