#!/usr/bin/env python3
"""Writes the JPEG-LS fuzz seeds that pydicom's files do not cover (Fuzz/corpus/jpegls/): CharLS
(Debian's libcharls2, through ctypes) encodings with preset coding parameters (an LSE segment),
with 2-component separate scans, and a stream with a restart interval (DRI + RST markers),
stitched from CharLS encodings of each interval as JPEGLSCodecTests.testRestartIntervals does.
The pydicom-derived seeds are the first frame of each pydicom JPEG-LS test file."""
import ctypes, os
import numpy as np

lib = ctypes.CDLL("libcharls.so.2")
lib.charls_jpegls_encoder_create.restype = ctypes.c_void_p


class FrameInfo(ctypes.Structure):
    _fields_ = [("width", ctypes.c_uint32), ("height", ctypes.c_uint32), ("bits_per_sample", ctypes.c_int32), ("component_count", ctypes.c_int32)]


class Presets(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("maxval", "t1", "t2", "t3", "reset")]


def encode(planes, bits, near=0, interleave=0, presets=None):
    """planes: (components, height, width) uint16; interleave 0 takes planes, 1/2 pixels."""
    c, h, w = planes.shape
    enc = ctypes.c_void_p(lib.charls_jpegls_encoder_create())
    info = FrameInfo(w, h, bits, c)
    assert lib.charls_jpegls_encoder_set_frame_info(enc, ctypes.byref(info)) == 0
    assert lib.charls_jpegls_encoder_set_near_lossless(enc, near) == 0
    assert lib.charls_jpegls_encoder_set_interleave_mode(enc, interleave) == 0
    if presets:
        assert lib.charls_jpegls_encoder_set_preset_coding_parameters(enc, ctypes.byref(Presets(*presets))) == 0
    src = planes if interleave == 0 else planes.transpose(1, 2, 0)
    raw = np.ascontiguousarray(src.astype(np.uint8 if bits <= 8 else np.uint16)).tobytes()
    size = ctypes.c_size_t()
    lib.charls_jpegls_encoder_get_estimated_destination_size(enc, ctypes.byref(size))
    out = ctypes.create_string_buffer(size.value + 1024)
    assert lib.charls_jpegls_encoder_set_destination_buffer(enc, out, ctypes.c_size_t(len(out))) == 0
    assert lib.charls_jpegls_encoder_encode_from_buffer(enc, raw, ctypes.c_size_t(len(raw)), 0) == 0
    written = ctypes.c_size_t()
    lib.charls_jpegls_encoder_get_bytes_written(enc, ctypes.byref(written))
    lib.charls_jpegls_encoder_destroy(enc)
    return out.raw[:written.value]


def image(c, h, w, maxval, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    ramp = (x * 13 + y * 7) * max(1, maxval // 200)
    flat = np.full((h, w), maxval // 3)
    noise = rng.integers(0, maxval + 1, (h, w))
    region = ((x // 7) + (y // 5)) % 3
    base = np.where(region == 0, ramp, np.where(region == 1, flat, noise))
    return np.clip(np.stack([base + k for k in range(c)]), 0, maxval)


def restart_stream(planes, bits, interval):
    c, h, w = planes.shape
    stream = b""
    for k, top in enumerate(range(0, h, interval)):
        part = encode(planes[:, top:top + interval], bits)
        sos = part.index(b"\xff\xda")
        end = sos + 2 + int.from_bytes(part[sos + 2:sos + 4], "big")
        data = part[end:-2]
        if top == 0:
            header = bytearray(part[:end])
            sof = header.index(b"\xff\xf7")
            header[sof + 5:sof + 7] = h.to_bytes(2, "big")
            header[sos:sos] = b"\xff\xdd\x00\x04" + interval.to_bytes(2, "big")
            stream = bytes(header) + data
        else:
            stream += bytes([0xFF, 0xD0 + (k - 1) % 8]) + data
    return stream + b"\xff\xd9"


folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jpegls")
os.makedirs(folder, exist_ok=True)
seeds = {
    "charls_12bit_presets_reset3.jls": encode(image(1, 24, 32, 4095, 1), 12, presets=(0, 5, 30, 200, 3)),
    "charls_12bit_near2_presets.jls": encode(image(1, 24, 32, 4095, 2), 12, near=2, presets=(0, 9, 40, 300, 16)),
    "charls_2components_separate_scans.jls": encode(image(2, 16, 20, 255, 3), 8),
    "charls_10bit_restart4.jls": restart_stream(image(1, 13, 23, 1023, 4), 10, 4),
}
for name, data in seeds.items():
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)
    print(name, len(data))
