#!/usr/bin/env python3
"""Checks the DICOM SEG files DICOMSegTests wrote (MEDSAM_SEG_EXPORT_DIR) with the tools users trust:

  dciodvfy (Debian dicom3tools)  no errors and no warnings against the Segmentation IOD
  pydicom                        Modality SEG, one frame per segment and source slice, referenced series
  highdicom                      the segment labels, and each segment's pixels over each source image
                                 (get_pixels_by_source_instance) equal the mask the test wrote (.npy,
                                 (k, j, i) order, label values)

With MEDSAM_BINARY, the same checks run on the SEG `medsam convert --input MASK.nii.gz --like SERIES_DIR
--output X.dcm --segment-names lesion,vessel` writes from the NIfTI copy of the mask.

Usage: check_dicom_seg.py EXPORT_DIR SERIES_DIR [MEDSAM_BINARY]   (SERIES_DIR: the source images)
Exit status 0 when everything matches, 1 otherwise.
"""
import glob, os, shutil, subprocess, sys

import highdicom as hd
import numpy as np
import pydicom


def main():
    export, series_dir = sys.argv[1], sys.argv[2]
    mask = np.load(os.path.join(export, "series_seg_mask.npy"))
    failures = check(os.path.join(export, "series_seg.dcm"), mask, series_dir)
    checked = 1
    if len(sys.argv) > 3:
        cli = os.path.join(export, "cli_seg.dcm")
        run = subprocess.run([sys.argv[3], "convert", "--input", os.path.join(export, "series_seg_mask.nii.gz"), "--like", series_dir,
                              "--output", cli, "--segment-names", "lesion,vessel", "--force"], capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"medsam convert to SEG: exit {run.returncode}: {run.stderr.strip()}")
        else:
            failures += [f"medsam convert: {f}" for f in check(cli, mask, series_dir)]
            checked += 1
    print(f"{checked} DICOM SEG file(s) of 4 source slices, 2 segments: dciodvfy, pydicom and highdicom checked")
    for f in failures:
        print("MISMATCH", f)
    print("OK" if not failures else f"{len(failures)} mismatches")
    return 0 if not failures else 1


def check(path, mask, series_dir):
    failures = []
    sources = [pydicom.dcmread(f) for f in glob.glob(os.path.join(series_dir, "*.dcm"))]
    # The Swift reader sorts slices along the normal; do the same to pair slices with the mask.
    normal = np.cross(np.array(sources[0].ImageOrientationPatient[:3], float), np.array(sources[0].ImageOrientationPatient[3:], float))
    sources.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))

    if shutil.which("dciodvfy"):
        run = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
        problems = [l for l in (run.stdout + run.stderr).splitlines() if l.startswith(("Error", "Warning"))]
        failures += [f"dciodvfy: {p}" for p in problems]
    else:
        failures.append("dciodvfy is not installed (Debian package dicom3tools; scripts/setup.sh installs it)")

    ds = pydicom.dcmread(path)
    if ds.Modality != "SEG" or int(ds.NumberOfFrames) != 2 * len(sources):
        failures.append(f"pydicom: Modality {ds.Modality}, {ds.NumberOfFrames} frames (expected SEG, {2 * len(sources)})")
    if ds.ReferencedSeriesSequence[0].SeriesInstanceUID != sources[0].SeriesInstanceUID:
        failures.append("pydicom: ReferencedSeriesSequence does not name the source series")
    for key in ("StudyInstanceUID", "PatientID", "FrameOfReferenceUID"):
        if ds.get(key) != sources[0].get(key):
            failures.append(f"pydicom: {key} {ds.get(key)} differs from the source's {sources[0].get(key)}")

    seg = hd.seg.segread(path)
    labels = [seg.get_segment_description(n).SegmentLabel for n in (1, 2)]
    if labels != ["lesion", "vessel"]:
        failures.append(f"highdicom: segment labels {labels}")
    uids = [d.SOPInstanceUID for d in sources]
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1, 2])
    for k in range(len(uids)):
        for s in (1, 2):
            got, want = pixels[k, :, :, s - 1].astype(bool), mask[k] == s
            if not np.array_equal(got, want):
                failures.append(f"highdicom: segment {s} over source slice {k} ({uids[k]}): "
                                f"{int((got != want).sum())} of {want.size} pixels differ")
    return failures


if __name__ == "__main__":
    sys.exit(main())
