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
