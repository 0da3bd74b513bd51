"""Regenerates the enhanced multi-frame fixtures in `enhanced/` and `enhanced.json`.

Run from this folder: `python3 make_enhanced_fixtures.py` (needs pydicom 3 and numpy). pydicom
writes synthetic enhanced MR images whose frames are placed by per-frame functional groups
(PlanePositionSequence, per-frame PixelValueTransformationSequence, shared PlaneOrientation and
PixelMeasures). `enhanced.json` holds, per file and volume index, the frames sorted along the
slice normal with each frame's rescale applied (computed here with NumPy from the values written)
and the LPS affine; or the error fragments expected for a file that must be refused.
"""
import json, os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, generate_uid

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "enhanced")
os.makedirs(OUT, exist_ok=True)
ROWS, COLS = 6, 5
a = 0.3
row = np.array([np.cos(a), np.sin(a), 0.0])
col = np.array([-np.sin(a) * np.cos(0.2), np.cos(a) * np.cos(0.2), -np.sin(0.2)])  # unit, orthogonal to row
normal = np.cross(row, col)
origin = np.array([-20.0, 15.5, 40.25])
spacing = (0.8, 0.6)  # PixelSpacing: row spacing, column spacing
table = {}


def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def write(name, frames, syntax=ExplicitVRLittleEndian):
    """frames: list of (slice position index along the normal, stored int16 array, slope, intercept)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"  # Enhanced MR Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian if syntax == RLELossless else syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID = "MR", generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = ROWS, COLS, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.NumberOfFrames = len(frames)
    ds.SharedFunctionalGroupsSequence = Sequence([item(
        PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[f"{v:.6f}" for v in list(row) + list(col)])]),
        PixelMeasuresSequence=Sequence([item(PixelSpacing=list(spacing), SliceThickness="2.5")]))])
    per = []
    for k, _, slope, inter in frames:
        pos = origin + 2.5 * k * normal
        per.append(item(PlanePositionSequence=Sequence([item(ImagePositionPatient=[f"{v:.6f}" for v in pos])]),
                        PixelValueTransformationSequence=Sequence([item(RescaleSlope=str(slope), RescaleIntercept=str(inter),
                                                                        RescaleType="US")])))
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = np.stack([f[1] for f in frames]).astype(np.int16).tobytes()
    if syntax == RLELossless:
        ds.compress(RLELossless)
    ds.save_as(os.path.join(OUT, name), enforce_file_format=True)


def expect(name, frames, volume_index=None):
    """The frames of `volume_index` (k-th frame at each position in file order), sorted along the normal."""
    positions = sorted({f[0] for f in frames})
    chosen = []
    for p in positions:
        at = [f for f in frames if f[0] == p]
        chosen.append(at[volume_index or 0])
    vox = np.stack([f[1].astype(np.float64) * f[2] + f[3] for f in chosen])
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1] = row * spacing[1], col * spacing[0]
    p0 = origin + 2.5 * positions[0] * normal
    affine[:3, 2] = 2.5 * normal * ((positions[-1] - positions[0]) / max(1, len(positions) - 1))
    affine[:3, 3] = p0
    key = name if volume_index is None else f"{name}#{volume_index}"
    table[key] = {"shape_ijk": [COLS, ROWS, len(chosen)], "voxels": [float(v) for v in vox.reshape(-1)],
                  "affine": affine.tolist()}


rng = np.random.default_rng(3)
img = lambda: rng.integers(-200, 900, size=(ROWS, COLS)).astype(np.int16)
# Two time points of a 3-slice stack, slices stored out of order, a rescale per frame.
two = [(2, img(), 1.5, -10), (0, img(), 1.0, 0), (1, img(), 2.0, 5), (0, img(), 0.5, 1), (2, img(), 1.0, -3), (1, img(), 3.0, 0)]
write("two_volumes.dcm", two)
expect("two_volumes.dcm", two, 0)
expect("two_volumes.dcm", two, 1)
# One 4-slice stack stored in reverse, RLE-compressed, implicit-VR copy too.
rev = [(3, img(), 1.0, -1000), (2, img(), 1.0, -1000), (1, img(), 2.0, -1000), (0, img(), 1.0, -1000)]
write("reversed_rle.dcm", rev, RLELossless)
expect("reversed_rle.dcm", rev)
write("reversed_implicit.dcm", rev, ImplicitVRLittleEndian)
expect("reversed_implicit.dcm", rev)
# A missing slice: positions 0, 1, 3.
gap = [(0, img(), 1, 0), (1, img(), 1, 0), (3, img(), 1, 0)]
write("missing_slice.dcm", gap)
table["missing_slice.dcm"] = {"error": ["missing_slice.dcm", "not evenly spaced", "frame 3 at"]}
with open(os.path.join(HERE, "enhanced.json"), "w") as f:
    json.dump(table, f, indent=1, sort_keys=True)
print(f"wrote {len(os.listdir(OUT))} files to enhanced/ and {len(table)} entries to enhanced.json")
