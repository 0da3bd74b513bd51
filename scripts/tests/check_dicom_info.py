#!/usr/bin/env python3
"""Checks `medsam info --input FILE --json` against pydicom for pydicom's own DICOM test files.

For every file shipped in the PyPI package pydicom (`pydicom/data/test_files`) that the Swift
reader supports (native, deflated, big-endian, RLE, JPEG lossless, 8-bit JPEG, JPEG-LS and JPEG 2000
transfer syntaxes, one sample per pixel, 8/16/32 bits allocated, MONOCHROME1/2, pixel data that pydicom
can decode with its pylibjpeg handlers), compares:
  shape   [Columns, Rows, NumberOfFrames]          (file order i, j, k)
  spacing [PixelSpacing[1], PixelSpacing[0], GridFrameOffsetVector step (multi-frame RT Dose), else
           SpacingBetweenSlices or SliceThickness or 1]
  min/max after the modality LUT (RescaleSlope/Intercept), i.e. Hounsfield units for CT, times
          DoseGridScaling for RT Dose;
          MONOCHROME1 images are compared after inversion within the stored range.
Files with another transfer syntax must be refused: non-zero exit and an `error:` line naming the
transfer syntax UID. Lossy DCT JPEG min/max may differ by one grey level (`atol`). Every other file (colour, no pixel data, damaged)
must either succeed or fail with an `error:` line; a crash (killed by a signal) is a failure.

Usage:
  check_dicom_info.py MEDSAM_BINARY            run the CLI on every file and report mismatches
  check_dicom_info.py --expected-json OUT      only write pydicom's values (for the Swift test)
Exit status 0 when everything matches, 1 otherwise.
"""
import argparse, json, os, subprocess, sys, warnings

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

SUPPORTED_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
                      "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                      "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
                      "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
# Lossy DCT JPEG: decoders may round the inverse DCT differently by one grey level.
JPEG_DCT_SYNTAXES = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
TOLERANCE = 1e-3


def test_files():
    folder = os.path.dirname(get_testdata_file("CT_small.dcm"))
    return folder, sorted(f for f in os.listdir(folder) if f.endswith(".dcm"))


def expectation(path):
    """pydicom's view of one file: ('supported', values), ('refused', uid) or ('skip', reason)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path)
        except Exception as e:  # no preamble/DICM, unreadable
            return "skip", f"pydicom cannot read it: {e}"
        uid = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
        if "PixelData" not in ds:
            return "skip", "no pixel data"
        if uid and uid not in SUPPORTED_SYNTAXES:
            return "refused", uid
        if ds.get("SamplesPerPixel", 1) != 1 or ds.get("BitsAllocated") not in (8, 16, 32) \
                or ds.get("PhotometricInterpretation") not in ("MONOCHROME1", "MONOCHROME2"):
            return "skip", "colour, palette or 1-bit image (not supported by the reader)"
        try:
            arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
            if "DoseGridScaling" in ds:  # RT Dose: stored integers times the grid scaling are dose
                arr = arr * float(ds.DoseGridScaling)
        except Exception as e:
            return "skip", f"pydicom cannot decode the pixels: {e}"
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        bits, signed = int(ds.get("BitsStored", ds.BitsAllocated)), ds.get("PixelRepresentation", 0) == 1
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
        slope, inter = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        arr = (lo * slope + inter) + (hi * slope + inter) - arr
    ps = [float(v) for v in ds.get("PixelSpacing", [1, 1])]
    z = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1
    offsets = [float(v) for v in ds.get("GridFrameOffsetVector") or []]
    if frames > 1 and len(offsets) == frames:  # RT Dose: frames placed by GridFrameOffsetVector
        z = abs(offsets[-1] - offsets[0]) / (frames - 1)
    values = {"shape": [int(ds.Columns), int(ds.Rows), frames], "spacing": [ps[1], ps[0], float(z)],
              "min": float(arr.min()), "max": float(arr.max())}
    if uid in JPEG_DCT_SYNTAXES:
        values["atol"] = abs(float(ds.get("RescaleSlope", 1)))
    return "supported", values


def compare(name, got, want):
    problems = []
    if got.get("shape") != want["shape"]:
        problems.append(f"shape {got.get('shape')} != {want['shape']}")
    for key in ("min", "max"):
        if not isinstance(got.get(key), (int, float)) or \
                abs(got[key] - want[key]) > max(TOLERANCE * max(1, abs(want[key])), want.get("atol", 0)):
            problems.append(f"{key} {got.get(key)} != {want[key]}")
    spacing = got.get("spacing") or []
    if len(spacing) != 3 or any(abs(a - b) > 1e-6 * max(1, abs(b)) for a, b in zip(spacing, want["spacing"])):
        problems.append(f"spacing {spacing} != {want['spacing']}")
    return [f"{name}: {p}" for p in problems]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("medsam", nargs="?", help="path to the medsam binary")
    parser.add_argument("--expected-json", help="write pydicom's expectations to this file and exit")
    args = parser.parse_args()
    folder, names = test_files()
    table = {name: expectation(os.path.join(folder, name)) for name in names}

    if args.expected_json:
        out = {"pydicom_version": pydicom.__version__, "test_files": folder,
               "supported": {n: v for n, (k, v) in table.items() if k == "supported"},
               "refused": {n: v for n, (k, v) in table.items() if k == "refused"}}
        with open(args.expected_json, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
        print(f"wrote {len(out['supported'])} supported and {len(out['refused'])} refused files to {args.expected_json}")
        return 0
    if not args.medsam:
        parser.error("give the medsam binary, or --expected-json OUT")

    failures, checked, refused, others = [], 0, 0, 0
    for name, (kind, value) in table.items():
        path = os.path.join(folder, name)
        run = subprocess.run([args.medsam, "info", "--input", path, "--json"], capture_output=True, text=True)
        if kind == "skip":
            others += 1
            if run.returncode < 0:
                failures.append(f"{name}: killed by signal {-run.returncode} ({value})")
            elif run.returncode > 0 and "error:" not in run.stderr:
                failures.append(f"{name}: exit {run.returncode} without an 'error:' line: {run.stderr.strip()[:200]}")
            continue
        if kind == "refused":
            refused += 1
            if run.returncode == 0:
                failures.append(f"{name}: transfer syntax {value} should be refused but info succeeded")
            elif value not in run.stderr or "error:" not in run.stderr:
                failures.append(f"{name}: refusal does not name the transfer syntax {value}: {run.stderr.strip()}")
            continue
        checked += 1
        if run.returncode != 0:
            failures.append(f"{name}: exit {run.returncode}: {run.stderr.strip()}")
            continue
        try:
            got = json.loads(run.stdout)
        except json.JSONDecodeError as e:
            failures.append(f"{name}: stdout is not one JSON object ({e}): {run.stdout[:200]!r}")
            continue
        failures += compare(name, got, value)

    print(f"pydicom {pydicom.__version__}: {checked} files compared, {refused} refusals checked, "
          f"{others} other files run (no crash, clear error)")
    for f in failures:
        print("MISMATCH", f)
    print("OK" if not failures else f"{len(failures)} mismatches")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
