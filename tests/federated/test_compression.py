import numpy as np

from workbench.federated.compression import (
    as_record,
    decode_int8,
    decode_int8_deflate,
    decode_topk,
    encode_int8,
    encode_int8_deflate,
    encode_topk,
)

RNG = np.random.default_rng(0)
DELTA = {"w": RNG.normal(size=(16, 64)).astype(np.float32), "b": RNG.normal(size=16).astype(np.float32)}


def test_int8_error_is_at_most_half_a_step():
    enc = encode_int8(DELTA)
    dec = decode_int8(enc, DELTA)
    for k, s in zip(DELTA, enc["scale"], strict=True):
        # rounding to the nearest step: |error| <= s / 2 (plus float32 rounding)
        assert np.abs(dec[k] - DELTA[k]).max() <= s / 2 * (1 + 1e-5)


def test_int8_record_is_about_a_quarter_of_fp32():
    fp32, int8 = as_record(DELTA).count_bytes(), as_record(encode_int8(DELTA)).count_bytes()
    # 1,040 values: 4,160 B of fp32 data vs 1,040 B of int8 + 8 B of scales, plus one .npy header per array
    assert 3.0 < fp32 / int8 < 4.0


def test_topk_error_feedback_keeps_what_was_not_sent():
    enc, residual = encode_topk(DELTA, 0.1)
    sent = decode_topk(enc, DELTA)
    n = sum(a.size for a in DELTA.values())
    assert len(enc["values"]) == int(np.ceil(0.1 * n))
    flat_sent = np.concatenate([sent[k].ravel() for k in DELTA])
    flat = np.concatenate([DELTA[k].ravel() for k in DELTA])
    np.testing.assert_allclose(flat_sent + residual, flat, rtol=0, atol=0)  # exact split of the update
    # the next round sends the residual's largest entries too
    enc2, residual2 = encode_topk({k: np.zeros_like(v) for k, v in DELTA.items()}, 0.1, residual)
    np.testing.assert_allclose(np.abs(enc2["values"]).min(), np.sort(np.abs(residual))[-len(enc2["values"])])


def test_dense_topk_sends_a_bit_mask_when_it_is_smaller():
    enc, residual = encode_topk(DELTA, 0.2)  # 208 of 1,040 entries: 416 B of uint16 indices > 130 B of mask
    assert "mask" in enc and "indices" not in enc and enc["mask"].nbytes == 130
    sent = decode_topk(enc, DELTA)
    flat = np.concatenate([DELTA[k].ravel() for k in DELTA])
    np.testing.assert_array_equal(np.concatenate([sent[k].ravel() for k in DELTA]) + residual, flat)
    assert int(np.count_nonzero(np.concatenate([sent[k].ravel() for k in DELTA]))) == 208


def test_int8_deflate_is_lossless_on_the_int8_codes():
    # a trained update is concentrated near zero: its int8 codes use few of the 255 levels, which deflate exploits
    delta = {"w": (RNG.laplace(scale=0.01, size=(64, 64)) * (RNG.random((64, 64)) < 0.5)).astype(np.float32)}
    enc = encode_int8_deflate(delta)
    dec, plain = decode_int8_deflate(enc, delta), decode_int8(encode_int8(delta), delta)
    np.testing.assert_array_equal(dec["w"], plain["w"])  # the same update as int8, bit for bit
    assert as_record(enc).count_bytes() < as_record(encode_int8(delta)).count_bytes()
