"""Update compression as client-side Flower mods: int8 quantisation and top-k sparsification with error feedback.

The mod wraps the ClientApp's ``train`` function. It sees the message that arrived (the global model
``w``) and the reply (the local model ``w'``), and replaces the reply's ``"arrays"`` by a compressed
encoding of the *update* ``Δ = w' − w`` (a ``"compression"`` ConfigRecord names the method). The server
decodes it back to ``w + Δ̂`` before Flower's strategy aggregates (:func:`decode_reply`), so the strategy
code is Flower's own. The uplink bytes in the ledger are those of the compressed reply.

- ``int8``: per-tensor symmetric quantisation, ``q = round(Δ / s)``, ``s = max|Δ| / 127``; all tensors
  packed into one int8 array and one float32 array of scales (one array header each, not one per tensor).
- ``int8+deflate``: the same int8 codes, entropy-coded with deflate (the standard library's :mod:`zlib`,
  level 9) before they are sent, as deep-compression pipelines entropy-code their quantised weights
  (Han, Mao & Dally, ICLR 2016, Huffman coding); lossless on the codes, so the update is int8's exactly.
- ``topk``: the ``k = ceil(fraction · n)`` entries of largest magnitude of the flattened update, sent as
  float32 values and uint16/int32 indices (or a bit mask of n bits where that is smaller); the rest is kept on the client and added to the next round's
  update (error feedback: Seide et al., Interspeech 2014; Stich, Cordonnier & Jaggi, NeurIPS 2018). The
  residual lives in the node's ``Context.state`` (Flower keeps it across rounds).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message

RESIDUAL_KEY = "topk-residual"
"""Key of the top-k error-feedback residual in a node's ``Context.state``."""


def as_record(arrays: dict[str, np.ndarray]) -> ArrayRecord:
    """An ArrayRecord of named numpy arrays (keys kept, in order)."""
    return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in arrays.items()})


def _flat(arrays: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(a, np.float32).ravel() for a in arrays.values()])


def _unflat(flat: np.ndarray, like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out, i = {}, 0
    for k, a in like.items():
        out[k] = flat[i:i + a.size].reshape(a.shape).astype(a.dtype)
        i += a.size
    return out


def encode_int8(delta: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-tensor symmetric int8 quantisation of an update, packed: ``{"q": int8[n], "scale": float32[t]}``."""
    scales = np.asarray([float(np.max(np.abs(a))) / 127.0 if a.size else 0.0 for a in delta.values()], np.float32)
    q = [np.zeros(a.size, np.int8) if s == 0 else np.clip(np.rint(np.asarray(a).ravel() / s), -127, 127)
         .astype(np.int8) for a, s in zip(delta.values(), scales, strict=True)]
    return {"q": np.concatenate(q), "scale": scales}


def decode_int8(enc: dict[str, np.ndarray], like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The update an :func:`encode_int8` encoding stands for, shaped as ``like``."""
    sizes = [a.size for a in like.values()]
    scale = np.repeat(enc["scale"].astype(np.float32), sizes)
    return _unflat(enc["q"].astype(np.float32) * scale, like)


DEFLATE_LEVEL = 9
"""zlib compression level of ``int8+deflate`` (9: smallest output)."""


def encode_int8_deflate(delta: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`encode_int8`, its codes deflated: ``{"qz": uint8[deflate stream], "scale": float32[t]}``."""
    enc = encode_int8(delta)
    return {"qz": np.frombuffer(zlib.compress(enc["q"].tobytes(), DEFLATE_LEVEL), np.uint8), "scale": enc["scale"]}


def decode_int8_deflate(enc: dict[str, np.ndarray], like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The update an :func:`encode_int8_deflate` encoding stands for, shaped as ``like``."""
    q = np.frombuffer(zlib.decompress(np.ascontiguousarray(enc["qz"]).tobytes()), np.int8)
    return decode_int8({"q": q, "scale": enc["scale"]}, like)


def encode_topk(delta: dict[str, np.ndarray], fraction: float,
                residual: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Top-k of ``delta + residual`` by magnitude: ``(encoding, new residual)``.

    The positions go as uint16/int32 indices (``"indices"``) or, where that is smaller (k above about
    n / 16), as a packed bit mask of n bits (``"mask"``); the values as float32 (``"values"``).
    """
    flat = _flat(delta)
    if residual is not None and residual.shape == flat.shape:
        flat = flat + residual
    k = max(1, math.ceil(fraction * flat.size))
    idx = np.sort(np.argpartition(np.abs(flat), flat.size - k)[flat.size - k:])
    kept = np.zeros_like(flat)
    kept[idx] = flat[idx]
    itype = np.uint16 if flat.size <= np.iinfo(np.uint16).max + 1 else np.int32
    if k * np.dtype(itype).itemsize > math.ceil(flat.size / 8):
        mask = np.zeros(flat.size, bool)
        mask[idx] = True
        where = {"mask": np.packbits(mask)}
    else:
        where = {"indices": idx.astype(itype)}
    return {"values": flat[idx].astype(np.float32), **where}, flat - kept


def decode_topk(enc: dict[str, np.ndarray], like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The sparse update a :func:`encode_topk` encoding stands for, shaped as ``like``."""
    n = sum(a.size for a in like.values())
    flat = np.zeros(n, np.float32)
    if "mask" in enc:
        idx = np.flatnonzero(np.unpackbits(enc["mask"], count=n))
    else:
        idx = enc["indices"].astype(np.int64)
    flat[idx] = enc["values"]
    return _unflat(flat, like)


def compression_mod(msg: Message, context: Context, call_next) -> Message:
    """Client-side Flower mod: compress the update of a ``train`` reply as the message's config asks.

    The incoming ``"config"`` ConfigRecord's ``"compression"`` (``"none"``, ``"int8"``, ``"int8+deflate"``,
    ``"topk"``) and
    ``"topk-fraction"`` choose the method; error replies and ``"none"`` pass through unchanged.
    """
    reply = call_next(msg, context)
    cfg = msg.content["config"] if "config" in msg.content else {}
    method = str(cfg.get("compression", "none"))
    if method == "none" or reply.has_error() or "arrays" not in reply.content:
        return reply
    glob = msg.content["arrays"].to_numpy_ndarrays()
    local = reply.content["arrays"].to_numpy_ndarrays()
    keys = list(reply.content["arrays"].keys())
    delta = {k: np.asarray(lo, np.float32) - np.asarray(g, np.float32)
             for k, lo, g in zip(keys, local, glob, strict=True)}
    if method == "int8":
        enc = encode_int8(delta)
    elif method == "int8+deflate":
        enc = encode_int8_deflate(delta)
    elif method == "topk":
        state = context.state
        residual = state[RESIDUAL_KEY].to_numpy_ndarrays()[0] if RESIDUAL_KEY in state else None
        enc, residual = encode_topk(delta, float(cfg.get("topk-fraction", 0.05)), residual)
        state[RESIDUAL_KEY] = ArrayRecord([residual])
    else:
        raise ValueError(f"unknown compression {method!r}")
    reply.content["arrays"] = as_record(enc)
    reply.content["compression"] = ConfigRecord({"method": method})
    return reply


def decode_reply(reply: Message, global_arrays: ArrayRecord) -> None:
    """Replace a compressed reply's ``"arrays"`` by the local model ``w + Δ̂`` it encodes (in place)."""
    if reply.has_error() or "compression" not in reply.content:
        return
    method = reply.content["compression"]["method"]
    like = {k: a.numpy() for k, a in global_arrays.items()}
    enc = {k: a.numpy() for k, a in reply.content["arrays"].items()}
    decode = {"int8": decode_int8, "int8+deflate": decode_int8_deflate}.get(method, decode_topk)
    delta = decode(enc, like)
    reply.content["arrays"] = as_record({k: (like[k].astype(np.float32) + delta[k]).astype(like[k].dtype)
                                         for k in like})
    del reply.content["compression"]


__all__ = ["DEFLATE_LEVEL", "RESIDUAL_KEY", "as_record", "compression_mod", "decode_int8", "decode_int8_deflate",
           "decode_reply", "decode_topk", "encode_int8", "encode_int8_deflate", "encode_topk"]
