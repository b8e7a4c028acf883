"""The vectorised encoder against a straightforward reference and a decoder round-trip."""

import struct

import cramjam
import numpy as np
import pytest

from stackctl.seeding.generate import Series, make_labels
from stackctl.seeding.remote_write import encode_labels, encode_write_request, plan_lanes


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def _ld(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def reference(series: list[tuple[list[tuple[str, str]], list[int], list[float]]]) -> bytes:
    """Textbook protobuf encoding of prometheus.WriteRequest, one field at a time."""
    out = b""
    for labels, ts, vals in series:
        body = b"".join(_ld(1, _ld(1, k.encode()) + _ld(2, v.encode())) for k, v in labels)
        for t, v in zip(ts, vals):
            sample = _varint(1 << 3 | 1) + struct.pack("<d", v) + _varint(2 << 3 | 0) + _varint(t)
            body += _ld(2, sample)
        out += _ld(1, body)
    return out


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        b = buf[i]
        n |= (b & 0x7F) << shift
        i += 1
        shift += 7
        if not b & 0x80:
            return n, i


def decode(buf: bytes) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
    """A minimal decoder: WriteRequest -> [(labels, [(ts, value)])]."""
    def fields(b: bytes):
        i = 0
        while i < len(b):
            key, i = _read_varint(b, i)
            wt = key & 7
            if wt == 2:
                n, i = _read_varint(b, i)
                yield key >> 3, b[i:i + n]
                i += n
            elif wt == 1:
                yield key >> 3, b[i:i + 8]
                i += 8
            else:
                v, i = _read_varint(b, i)
                yield key >> 3, v
    out = []
    for _, ts_bytes in fields(buf):
        labels, samples = {}, []
        for f, payload in fields(ts_bytes):
            parts = dict(fields(payload))
            if f == 1:
                labels[parts[1].decode()] = parts[2].decode()
            else:
                samples.append((parts[2], struct.unpack("<d", parts[1])[0]))
        out.append((labels, samples))
    return out


SERIES = [
    (sorted([("__name__", "jobs_total"), ("outcome", "ready")]), [1_700_000_000_000, 1_700_000_015_000], [0.0, 12.5]),
    (sorted([("__name__", "x"), ("le", "+Inf"), ("é", "ü")]), [2**35, 2**42 - 1], [-1e300, float("inf")]),
]


def test_byte_exact_against_reference() -> None:
    chunks = [(encode_labels(tuple(names)), np.array(t, dtype=np.int64), np.array(v)) for names, t, v in SERIES]
    assert encode_write_request(chunks) == reference(SERIES)


def test_round_trip_through_snappy_and_decoder() -> None:
    rng = np.random.default_rng(0)
    ts = 1_750_000_000_000 + 15_000 * np.arange(500, dtype=np.int64)
    vals = rng.normal(size=500)
    raw = encode_write_request([(encode_labels(make_labels("m", {"a": "b"})), ts, vals)])
    back = decode(cramjam.snappy.decompress_raw(bytes(cramjam.snappy.compress_raw(raw))).read())
    assert back[0][0] == {"__name__": "m", "a": "b"}
    assert back[0][1] == list(zip(ts.tolist(), vals.tolist()))


def test_rejects_timestamps_outside_the_six_byte_range() -> None:
    with pytest.raises(ValueError, match="epoch milliseconds"):
        encode_write_request([(b"", np.array([1000], dtype=np.int64), np.array([1.0]))])


def test_lanes_keep_each_series_in_time_order_and_lose_nothing() -> None:
    ts = 1_750_000_000_000 + 1000 * np.arange(1000, dtype=np.int64)
    series = [Series(make_labels("m", {"i": str(i)}), ts, np.arange(1000.0)) for i in range(7)]
    lanes = plan_lanes(series, max_samples=900, lanes=3)
    seen: dict[bytes, list[int]] = {}
    for lane in lanes:
        for request in lane:
            assert sum(len(c[1]) for c in request) <= 900 + 7
            for labels, t, _ in request:
                seen.setdefault(labels, []).extend(t.tolist())
    assert len(seen) == 7 and all(v == ts.tolist() for v in seen.values())
