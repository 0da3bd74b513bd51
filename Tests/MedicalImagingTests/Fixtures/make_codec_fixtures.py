"""Regenerates the compressed-DICOM fixtures in `codecs/` and `codecs.json`.

Run from this folder: `python3 make_codec_fixtures.py` (needs pydicom 3, numpy, imagecodecs,
pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg, pylibjpeg-rle from PyPI).
Real files are copied from pydicom's test files. The lossless-JPEG, 8-bit baseline and 12-bit
extended files are made here: imagecodecs (libjpeg-turbo 3) encodes synthetic images, pydicom
encapsulates them.
Expected values are pydicom's decoded pixels (pylibjpeg handlers) after the modality rescale,
times DoseGridScaling for RT Dose; never values from the Swift code under test.
"""
import json, os, shutil

import imagecodecs
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "codecs")
os.makedirs(OUT, exist_ok=True)

COPIED = ["MR_small_jpeg_ls_lossless.dcm", "JPEGLSNearLossless_16.dcm", "MR_small_jp2klossless.dcm",
          "693_J2KI.dcm", "rtdose_rle_1frame.dcm", "rtdose_expb_1frame.dcm", "MR_small_expb.dcm",
          "JPGExtended.dcm"]  # 12-bit DCT JPEG (the Swift reader's own DCT decoder)


def synthetic(name, frames, bits, signed, encode, uid):
    """A greyscale secondary-capture file whose frames are `encode(frame)` codestreams."""
    rng = np.random.default_rng(len(name))
    rows, cols = 40, 56
    y, x = np.mgrid[0:rows, 0:cols]
    arrays = []
    for f in range(frames):
        # Smooth structure plus noise, spanning the whole stored range.
        base = np.sin(x / 7.0 + f) * np.cos(y / 5.0) * 0.45 + 0.5
        v = base * (2 ** bits - 1) + rng.integers(-40, 40, size=base.shape)
        v = np.clip(v, 0, 2 ** bits - 1)
        if signed:
            v = v - 2 ** (bits - 1)
        arrays.append(v.astype(np.int32))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = uid
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID = "OT", generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, int(signed)
    ds.RescaleSlope, ds.RescaleIntercept = "0.5", "-10"
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = encapsulate([encode(a) for a in arrays], has_bot=frames > 1)
    ds["PixelData"].VR = "OB"
    ds.save_as(os.path.join(OUT, name), enforce_file_format=True)


def unsigned_bits(a, bits):
    return (a.astype(np.int64) & (2 ** bits - 1)).astype(np.uint16 if bits > 8 else np.uint8)


def lossless(bits, predictor):
    return lambda a: imagecodecs.jpeg8_encode(unsigned_bits(a, bits), lossless=True, predictor=predictor,
                                              bitspersample=bits)


def lossless_with_restarts(bits, predictor, rows_per_interval):
    """A lossless JPEG (process 14) encoder with restart markers, written here because imagecodecs
    offers no restart interval; libjpeg-turbo 3 (imagecodecs) must decode its output exactly."""
    def encode(a):
        a = unsigned_bits(a, bits).astype(np.int64)
        h, w = a.shape
        # One canonical Huffman table: all 17 difference categories with 5-bit codes 0..16.
        counts, values = [0, 0, 0, 0, 17] + [0] * 11, list(range(17))
        out = bytearray(b"\xff\xd8")
        out += b"\xff\xc3" + (11).to_bytes(2, "big") + bytes([bits]) + h.to_bytes(2, "big") + w.to_bytes(2, "big") + bytes([1, 1, 0x11, 0])
        out += b"\xff\xc4" + (3 + 16 + 17).to_bytes(2, "big") + bytes([0x00] + counts + values)
        out += b"\xff\xdd" + (4).to_bytes(2, "big") + (rows_per_interval * w).to_bytes(2, "big")
        out += b"\xff\xda" + (8).to_bytes(2, "big") + bytes([1, 1, 0x00, predictor, 0, 0])
        acc, nacc, data = 0, 0, bytearray()

        def put(value, n):
            nonlocal acc, nacc
            acc, nacc = (acc << n) | (value & ((1 << n) - 1)), nacc + n
            while nacc >= 8:
                byte = (acc >> (nacc - 8)) & 0xFF
                data.append(byte)
                if byte == 0xFF:
                    data.append(0)
                nacc -= 8

        for y in range(h):
            first = y % rows_per_interval == 0
            if first and y > 0:
                if nacc:
                    put((1 << (8 - nacc)) - 1, 8 - nacc)  # pad with 1-bits
                data.extend(bytes([0xFF, 0xD0 + (y // rows_per_interval - 1) % 8]))
            for x in range(w):
                if first:
                    pred = (1 << (bits - 1)) if x == 0 else a[y, x - 1]
                elif x == 0:
                    pred = a[y - 1, x]
                else:
                    ra, rb, rc = a[y, x - 1], a[y - 1, x], a[y - 1, x - 1]
                    pred = [None, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1), (ra + rb) >> 1][predictor]
                diff = (int(a[y, x]) - int(pred)) % 65536
                diff = diff - 65536 if diff > 32768 else diff
                s = 16 if diff == 32768 else abs(diff).bit_length()
                put(s, 5)
                if 0 < s < 16:
                    put(diff if diff > 0 else diff + (1 << s) - 1, s)
        if nacc:
            put((1 << (8 - nacc)) - 1, 8 - nacc)
        out += data + b"\xff\xd9"
        decoded = imagecodecs.jpeg8_decode(bytes(out))
        assert np.array_equal(decoded, unsigned_bits(a, bits)), "libjpeg-turbo 3 disagrees with the restart encoder"
        return bytes(out)
    return encode


def expect(path):
    ds = pydicom.dcmread(path)
    arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    if "DoseGridScaling" in ds:
        arr = arr * float(ds.DoseGridScaling)
    if int(ds.get("NumberOfFrames", 1) or 1) == 1:
        arr = arr[None]
    # frames x rows x columns, flattened row-major: the order the Swift reader stores voxels.
    flat = arr.reshape(-1)
    weights = np.arange(flat.size) % 97 + 1
    return {"transfer_syntax": str(ds.file_meta.TransferSyntaxUID), "shape": list(arr.shape),
            "sum": float(flat.sum()), "weighted_sum": float((flat * weights).sum()),
            "min": float(flat.min()), "max": float(flat.max()),
            "first": [float(v) for v in flat[:16]], "last": [float(v) for v in flat[-16:]]}


for f in COPIED:
    shutil.copy(get_testdata_file(f), os.path.join(OUT, f))
synthetic("lossless_p1_12bit.dcm", 1, 12, False, lossless(12, 1), "1.2.840.10008.1.2.4.70")
synthetic("lossless_p7_16bit_signed.dcm", 1, 16, True, lossless(16, 7), "1.2.840.10008.1.2.4.57")
synthetic("lossless_p4_10bit_3frames.dcm", 3, 10, True, lossless(10, 4), "1.2.840.10008.1.2.4.57")
synthetic("lossless_p6_8bit.dcm", 1, 8, False, lossless(8, 6), "1.2.840.10008.1.2.4.57")
synthetic("lossless_restarts_p5_16bit.dcm", 1, 16, False, lossless_with_restarts(16, 5, 3), "1.2.840.10008.1.2.4.57")
synthetic("extended_12bit_2frames.dcm", 2, 12, False,
          lambda a: imagecodecs.jpeg8_encode(a.astype(np.uint16), level=85, bitspersample=12), "1.2.840.10008.1.2.4.51")
synthetic("baseline_8bit_2frames.dcm", 2, 8, False,
          lambda a: imagecodecs.jpeg8_encode(a.astype(np.uint8), level=90), "1.2.840.10008.1.2.4.50")

table = {"pydicom_version": pydicom.__version__, "files": {}}
for f in sorted(os.listdir(OUT)):
    table["files"][f] = expect(os.path.join(OUT, f))
with open(os.path.join(HERE, "codecs.json"), "w") as fh:
    json.dump(table, fh, indent=1, sort_keys=True)
print(f"wrote {len(table['files'])} files to codecs/ and codecs.json")
