#!/usr/bin/env python3
"""Checks the pixels and geometry `medsam convert` decodes against pydicom, for every DICOM file
shipped with the PyPI package pydicom (`pydicom/data/test_files`, sub-folders included).

pydicom decodes compressed transfer syntaxes through its optional handlers (pylibjpeg,
pylibjpeg-libjpeg, pylibjpeg-openjpeg, pylibjpeg-rle; `scripts/setup.sh` installs them). For each
greyscale file pydicom decodes (one sample per pixel, 8/16/32 bits allocated, MONOCHROME1/2), runs
`medsam convert --input FILE --output X.npy --json` and compares:
  pixels   every value of the (frames, rows, columns) array after the modality LUT
           (RescaleSlope/Intercept), times DoseGridScaling for RT Dose; MONOCHROME1 inverted within
           the stored range (larger is brighter); relative tolerance 1e-6 of the largest magnitude
           (the Swift reader keeps float32). Lossy DCT JPEG (.50, .51) may differ by one stored
           grey level (times |RescaleSlope|): decoders round the inverse DCT differently (pydicom's
           libjpeg and libjpeg-turbo 3 differ by one on JPGExtended.dcm too); the count of such
           values is reported
  geometry shape [Columns, Rows, frames]; spacing [PixelSpacing[1], PixelSpacing[0], slice step];
           the LPS affine: columns ImageOrientationPatient x PixelSpacing, origin
           ImagePositionPatient, slice step from GridFrameOffsetVector (multi-frame RT Dose), else
           SpacingBetweenSlices, else SliceThickness, else 1
8-bit colour files (and 16/32-bit RGB in RLE) in native, RLE, JPEG baseline/extended/lossless,
JPEG-LS or JPEG 2000 pixel data (RGB
planar 0 and 1, little and big endian, YBR_FULL, YBR_FULL_422, YBR_RCT; multi-frame ones on frame
0) must equal pydicom's RGB
`pixel_array`: exactly, except lossy JPEG within 3 grey levels (decoders differ in IDCT rounding
and chroma upsampling; pydicom's libjpeg and libjpeg-turbo differ by up to 3 on these files).
PALETTE COLOR files must equal pydicom's `apply_color_lut(pixel_array, ds)` exactly.
Every other file (no pixel data, damaged, unsupported) must succeed or fail with an `error:`
line; a crash (killed by a signal) is a failure.

Usage: check_dicom_pixels.py MEDSAM_BINARY      exit status 0 when everything matches, 1 otherwise
"""
import argparse, json, os, subprocess, sys, tempfile, warnings

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut, apply_modality_lut

JPEG_DCT_SYNTAXES = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
RTOL = 1e-6
LOSSY = []  # lossy DCT files whose values differ by one grey level somewhere


def test_files():
    root = os.path.dirname(get_testdata_file("CT_small.dcm"))
    found = []
    for folder, _, names in os.walk(root):
        for n in names:
            if n.startswith("DICOMDIR") or n.endswith((".txt", ".json", ".py", ".gz", ".bz2", ".zip")):
                continue
            found.append(os.path.relpath(os.path.join(folder, n), root))
    return root, sorted(found)


# Besides native ones: RLE, JPEG lossless (process 14), JPEG-LS, JPEG 2000, JPEG baseline/extended.
COLOUR_SYNTAXES = {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
                   "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
                   "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"} | JPEG_DCT_SYNTAXES
COLOUR_JPEG_ATOL = 3  # grey levels: JPEG decoders differ in IDCT rounding and chroma upsampling


def colour_readable(ds):
    """An 8-bit colour image in native (uncompressed) or COLOUR_SYNTAXES pixel data: what the
    reader decodes to RGB (pydicom's pixel_array converts YBR_FULL and YBR_FULL_422 to RGB too).
    Multi-frame files are compared on their first frame (--volume-index 0)."""
    uid = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    wide_rle = ds.get("BitsAllocated") in (16, 32) and uid == "1.2.840.10008.1.2.5" and ds.get("PhotometricInterpretation") == "RGB"
    return (ds.get("SamplesPerPixel", 1) == 3 and (ds.get("BitsAllocated") == 8 or wide_rle)
            and ds.get("PhotometricInterpretation") in ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT")
            and uid is not None and (not uid.is_compressed or uid in COLOUR_SYNTAXES))


def expectation(path):
    """('compare', pixels, geometry) or ('skip', reason)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path)
        except Exception as e:
            return "skip", f"pydicom cannot read it: {e}"
        if "PixelData" not in ds:
            return "skip", "no pixel data"
        uid = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
        if colour_readable(ds):
            try:
                rgb = ds.pixel_array.astype(np.float64)
            except Exception as e:
                return "skip", f"pydicom cannot decode the pixels: {e}"
            multi = int(ds.get("NumberOfFrames", 1) or 1) > 1
            return "colour", rgb[0] if multi else rgb, multi, COLOUR_JPEG_ATOL if uid in JPEG_DCT_SYNTAXES else 0
        if ds.get("PhotometricInterpretation") == "PALETTE COLOR" and ds.get("SamplesPerPixel", 1) == 1 \
                and ds.get("BitsAllocated") in (8, 16) and ds.get("PixelRepresentation", 0) == 0 \
                and "RedPaletteColorLookupTableData" in ds:
            try:
                rgb = apply_color_lut(ds.pixel_array, ds).astype(np.float64)
            except Exception as e:
                return "skip", f"pydicom cannot decode the pixels: {e}"
            multi = int(ds.get("NumberOfFrames", 1) or 1) > 1
            return "colour", rgb[0] if multi else rgb, multi, 0
        if ds.get("SamplesPerPixel", 1) != 1 or ds.get("BitsAllocated") not in (8, 16, 32) \
                or ds.get("PhotometricInterpretation") not in ("MONOCHROME1", "MONOCHROME2"):
            return "skip", "colour, palette or 1-bit image (not supported by the reader)"
        try:
            arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
        except Exception as e:
            return "skip", f"pydicom cannot decode the pixels: {e}"
    if "DoseGridScaling" in ds:
        arr = arr * float(ds.DoseGridScaling)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames == 1:
        arr = arr[None]
    if ds.PhotometricInterpretation == "MONOCHROME1":
        bits, signed = int(ds.get("BitsStored", ds.BitsAllocated)), ds.get("PixelRepresentation", 0) == 1
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
        slope, inter = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        arr = (lo * slope + inter) + (hi * slope + inter) - arr
    ps = [float(v) for v in ds.get("PixelSpacing", [1, 1])]
    o = [float(v) for v in ds.get("ImageOrientationPatient", [1, 0, 0, 0, 1, 0])]
    row, col = np.array(o[:3]), np.array(o[3:])
    normal = np.cross(row, col)
    z = float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1)
    step = normal * z
    offsets = [float(v) for v in ds.get("GridFrameOffsetVector") or []]
    if frames > 1 and len(offsets) == frames:
        d = (offsets[-1] - offsets[0]) / (frames - 1)
        z, step = abs(d), normal * d
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = row * ps[1], col * ps[0], step
    affine[:3, 3] = [float(v) for v in ds.get("ImagePositionPatient", [0, 0, 0])]
    slope = abs(float(ds.get("RescaleSlope", 1))) * float(ds.get("DoseGridScaling", 1))
    return "compare", arr, {"shape": [int(ds.Columns), int(ds.Rows), frames], "spacing": [ps[1], ps[0], z],
                            "affine": affine, "atol": slope * 1.0001 if uid in JPEG_DCT_SYNTAXES else 0.0}


def compare(name, got, info, want, geometry):
    problems = []
    if got.shape != want.shape:
        return [f"{name}: pixel array shape {got.shape} != pydicom's {want.shape}"]
    scale = max(1.0, float(np.abs(want).max()))
    diff = np.abs(got.astype(np.float64) - want)
    limit = max(RTOL * scale, geometry["atol"])
    if diff.max() > limit:
        k = np.unravel_index(int(diff.argmax()), diff.shape)
        problems.append(f"pixel (frame, row, column) {tuple(int(i) for i in k)}: {got[k]} != {want[k]} "
                        f"({int((diff > limit).sum())} of {diff.size} values differ)")
    elif geometry["atol"] and diff.max() > RTOL * scale:
        LOSSY.append(f"{name}: {int((diff > RTOL * scale).sum())} of {diff.size} values differ by one grey level")
    if info.get("shape") != geometry["shape"]:
        problems.append(f"shape {info.get('shape')} != {geometry['shape']}")
    if not np.allclose(info.get("spacing", []), geometry["spacing"], rtol=1e-6, atol=1e-6):
        problems.append(f"spacing {info.get('spacing')} != {geometry['spacing']}")
    if not np.allclose(np.array(info.get("affine")), geometry["affine"], rtol=1e-5, atol=1e-4):
        problems.append(f"affine {info.get('affine')} != {geometry['affine'].tolist()}")
    return [f"{name}: {p}" for p in problems]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("medsam", help="path to the medsam binary")
    args = parser.parse_args()
    root, names = test_files()
    failures, compared, others, colour = [], 0, 0, 0
    syntaxes = set()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "pixels.npy")
        for name in names:
            path = os.path.join(root, name)
            kind, *value = expectation(path)
            frame = ["--volume-index", "0"] if kind == "colour" and value[1] else []
            run = subprocess.run([args.medsam, "convert", "--input", path, "--output", out, "--force", "--json", *frame],
                                 capture_output=True, text=True)
            if run.returncode < 0:
                failures.append(f"{name}: killed by signal {-run.returncode}")
                continue
            if kind == "skip":
                others += 1
                if run.returncode > 0 and "error:" not in run.stderr:
                    failures.append(f"{name}: exit {run.returncode} without an 'error:' line: {run.stderr.strip()[:200]}")
                continue
            compared += 1
            if kind == "colour":
                colour += 1
                if run.returncode != 0:
                    failures.append(f"{name}: exit {run.returncode}: {run.stderr.strip()}")
                    continue
                got, want, atol = np.load(out).astype(np.float64), value[0], value[2]
                if got.shape != want.shape:
                    failures.append(f"{name}: RGB {got.shape}, pydicom's {want.shape}")
                    continue
                diff = np.abs(got - want)
                # As for greyscale: the reader keeps float32, so 32-bit samples are exact to 1e-6.
                atol = max(atol, RTOL * float(np.abs(want).max()) if want.max() >= 2 ** 24 else 0)
                if diff.max() > atol:
                    failures.append(f"{name}: RGB differs from pydicom's by up to {diff.max():.0f} "
                                    f"({int((diff > atol).sum())} values beyond {atol})")
                elif diff.max() > 0:
                    LOSSY.append(f"{name}: colour, {int((diff > 0).sum())} of {diff.size} values differ, by at most {diff.max():.0f}")
                continue
            if run.returncode != 0:
                failures.append(f"{name}: exit {run.returncode}: {run.stderr.strip()}")
                continue
            syntaxes.add(str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID))
            failures += compare(name, np.load(out), json.loads(run.stdout), value[0], value[1])
    print(f"pydicom {pydicom.__version__}: {compared} files compared pixel by pixel "
          f"({len(syntaxes)} greyscale transfer syntaxes; {colour} colour files as RGB), "
          f"{others} other files run (no crash, clear error)")
    for f in LOSSY:
        print("lossy JPEG (within the tolerance):", f)
    for f in failures:
        print("MISMATCH", f)
    print("OK" if not failures else f"{len(failures)} mismatches")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
