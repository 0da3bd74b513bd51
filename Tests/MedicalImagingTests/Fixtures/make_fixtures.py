"""Regenerates the MedicalImaging test fixtures and their expected values.

Run from this folder: `python3 make_fixtures.py` (needs pydicom 3, nibabel 5, numpy, pillow).
Real files are copied from the pydicom and nibabel packages; synthetic ones are written here.
Expected values come from pydicom / nibabel / PIL, never from the Swift code under test.
"""
import copy, gzip, json, os, shutil

import nibabel as nib
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from pydicom.sequence import Sequence
from pydicom.dataset import Dataset
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
NIB_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
EXPECTED = {}


def out(*p):
    path = os.path.join(HERE, *p)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def samples(arr, n=12, seed=0):
    """A few (index, value) pairs in NumPy index order, plus sum/min/max."""
    rng = np.random.default_rng(seed)
    idx = [tuple(int(rng.integers(0, s)) for s in arr.shape) for _ in range(n)]
    return {"samples": [[list(i), float(arr[i])] for i in idx],
            "sum": float(np.sum(arr, dtype=np.float64)), "min": float(arr.min()), "max": float(arr.max())}


# ---------------------------------------------------------------- NIfTI
def nifti_expect(name, img, volume=None):
    data = np.asarray(img.dataobj, dtype=np.float64)  # applies scl_slope/inter like get_fdata
    if volume is not None:
        data = data[..., volume]
    d = samples(data)
    d.update(shape=list(data.shape), affine=np.asarray(img.affine, dtype=float).tolist(),
             zooms=[float(z) for z in img.header.get_zooms()[:3]], dtype=str(img.header.get_data_dtype().name))
    EXPECTED[name] = d


def patch_header(path, fields):
    """Writes raw header fields (offset -> (struct format, value)), because nibabel recomputes
    scaling and xform codes on save and would otherwise undo what a fixture needs."""
    import struct
    gz = path.endswith(".gz")
    raw = bytearray(gzip.open(path).read() if gz else open(path, "rb").read())
    for offset, (fmt, value) in fields.items():
        raw[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        open(path, "wb").write(raw)


for f in ["anatomical.nii", "standard.nii.gz", "example_nifti2.nii.gz"]:
    shutil.copy(os.path.join(NIB_DATA, f), out("nifti", f))
nifti_expect("nifti/anatomical.nii", nib.load(out("nifti", "anatomical.nii")))
nifti_expect("nifti/standard.nii.gz", nib.load(out("nifti", "standard.nii.gz")))
nifti_expect("nifti/example_nifti2.nii.gz#1", nib.load(out("nifti", "example_nifti2.nii.gz")), volume=1)

rng = np.random.default_rng(7)
rot = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # 90 degrees about z
shear_free = np.eye(4)
shear_free[:3, :3] = rot @ np.diag([0.8, 1.2, 2.5])
shear_free[:3, 3] = [-10.5, 20.25, 3.0]
for dtype in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "float32", "float64"]:
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    lo, hi = (info.min, info.max) if info else (-1000.5, 1000.5)
    lo, hi = max(lo, -2**20), min(hi, 2**20)  # exactly representable in float32
    data = rng.uniform(lo, hi, size=(5, 4, 3)).astype(dtype)
    data.flat[0], data.flat[1] = lo, hi
    img = nib.Nifti1Image(data, shear_free, dtype=np.dtype(dtype))
    img.set_qform(shear_free, code=1)
    img.set_sform(shear_free, code=2)
    name = f"nifti/syn_{dtype}.nii"
    nib.save(img, out(name))
    nifti_expect(name, nib.load(out(name)))

# scl_slope/inter and sform that differs from the qform (sform wins).
data = rng.integers(-300, 300, size=(6, 5, 4)).astype(np.int16)
img = nib.Nifti1Image(data, np.eye(4), dtype=np.int16)
img.header.set_slope_inter(2.5, -100.0)
img.set_qform(np.diag([3.0, 3.0, 3.0, 1.0]), code=1)
sform = np.array([[0.9, 0.1, 0, -5], [0, 1.1, 0.2, 6], [0.05, 0, 2.0, 7], [0, 0, 0, 1]])
img.set_sform(sform, code=1)
nib.save(img, out("nifti/syn_slope_sform.nii.gz"))
patch_header(out("nifti/syn_slope_sform.nii.gz"), {112: ("<f", 2.5), 116: ("<f", -100.0)})
nifti_expect("nifti/syn_slope_sform.nii.gz", nib.load(out("nifti/syn_slope_sform.nii.gz")))

# qform only, left-handed (qfac -1), rotated.
theta = 0.3
r = np.array([[np.cos(theta), 0, np.sin(theta)], [0, 1, 0], [-np.sin(theta), 0, np.cos(theta)]])
q = np.eye(4)
q[:3, :3] = r @ np.diag([1.5, 0.7, -2.0])
q[:3, 3] = [12, -8, 30]
img = nib.Nifti1Image(rng.normal(size=(4, 3, 5)).astype(np.float32), None)
img.set_qform(q, code=1)
img.set_sform(None, code=0)
nib.save(img, out("nifti/syn_qform_only.nii"))
nifti_expect("nifti/syn_qform_only.nii", nib.load(out("nifti/syn_qform_only.nii")))

# Neither qform nor sform: nibabel's fallback affine.
img = nib.Nifti1Image(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), None)
img.set_qform(None, code=0)
img.set_sform(None, code=0)
img.header.set_zooms((2.0, 3.0, 4.0))
nib.save(img, out("nifti/syn_no_xform.nii"))
patch_header(out("nifti/syn_no_xform.nii"), {252: ("<h", 0), 254: ("<h", 0), 80: ("<f", 2.0), 84: ("<f", 3.0), 88: ("<f", 4.0)})
nifti_expect("nifti/syn_no_xform.nii", nib.load(out("nifti/syn_no_xform.nii")))

# NIfTI-2 written by nibabel.
img = nib.Nifti2Image(rng.normal(size=(3, 4, 2)).astype(np.float32), shear_free)
img.set_qform(shear_free, code=1)
nib.save(img, out("nifti/syn_nifti2.nii"))
nifti_expect("nifti/syn_nifti2.nii", nib.load(out("nifti/syn_nifti2.nii")))

# Bad NIfTI inputs.
raw = open(out("nifti/syn_slope_sform.nii.gz"), "rb").read()
open(out("bad/truncated.nii.gz"), "wb").write(raw[: len(raw) // 2])
raw = bytearray(open(out("nifti/syn_float32.nii"), "rb").read())
open(out("bad/truncated_data.nii"), "wb").write(raw[:-17])
bad = bytearray(raw); bad[0:4] = (123).to_bytes(4, "little")
open(out("bad/corrupt_sizeof_hdr.nii"), "wb").write(bad)
bad = bytearray(raw); bad[70:72] = (32).to_bytes(2, "little")  # complex64
open(out("bad/complex_datatype.nii"), "wb").write(bad)
bad = bytearray(raw); bad[344:348] = b"xx1\0"
open(out("bad/bad_magic.nii"), "wb").write(bad)
open(out("bad/not_gzip.nii.gz"), "wb").write(b"this is not gzip data at all, only text" * 5)

# ---------------------------------------------------------------- DICOM
def dicom_expect(name, ds):
    arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    if "DoseGridScaling" in ds:  # RT Dose: the stored integers times the grid scaling are dose
        arr = arr * float(ds.DoseGridScaling)
    d = samples(arr)
    ps = [float(v) for v in ds.get("PixelSpacing", [1, 1])]
    z = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1
    d.update(rows=int(ds.Rows), columns=int(ds.Columns), spacing=[ps[1], ps[0], float(z)],
             modality=ds.get("Modality"))
    EXPECTED[name] = d


for f in ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "image_dfl.dcm", "rtdose_1frame.dcm",
          "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "MR_truncated.dcm"]:
    shutil.copy(get_testdata_file(f), out("dicom", f))
for f in ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "image_dfl.dcm", "rtdose_1frame.dcm"]:
    dicom_expect("dicom/" + f, pydicom.dcmread(out("dicom", f)))

ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))


def small_ct(pixels, **attrs):
    ds = copy.deepcopy(ct)
    ds.PixelData = pixels.astype(np.int16).tobytes()
    ds.Rows, ds.Columns = pixels.shape
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


# No pixel data element.
ds = copy.deepcopy(ct)
del ds.PixelData
ds.save_as(out("bad/no_pixel_data.dcm"), enforce_file_format=True)

# MONOCHROME1, 12 stored bits, signed.
px = rng.integers(-2048, 2047, size=(6, 7))
ds = small_ct(px, PhotometricInterpretation="MONOCHROME1", BitsStored=12, HighBit=11)
ds.save_as(out("dicom/mono1.dcm"), enforce_file_format=True)
EXPECTED["dicom/mono1.dcm"] = {"stored": px.tolist(), "slope": float(ct.RescaleSlope),
                               "intercept": float(ct.RescaleIntercept), "bits_stored": 12}

# Undefined-length nested sequences before the pixel data, explicit and implicit VR.
def with_sequences(ds):
    inner = Dataset(); inner.CodeValue = "T-1"; inner.CodeMeaning = "inner"
    item = Dataset(); item.CodeValue = "X"; item.ConceptCodeSequence = Sequence([inner])
    ds.ProcedureCodeSequence = Sequence([item, copy.deepcopy(item)])
    ds["ProcedureCodeSequence"].is_undefined_length = True
    for n, it in enumerate(ds.ProcedureCodeSequence):
        # One item of undefined length (ends with an item delimiter), one of defined length.
        it.is_undefined_length_sequence_item = n == 0
        it["ConceptCodeSequence"].is_undefined_length = True
    return ds

px = rng.integers(-1000, 1000, size=(5, 4))
ds = with_sequences(small_ct(px))
ds.save_as(out("dicom/sequences_explicit.dcm"), enforce_file_format=True)
dicom_expect("dicom/sequences_explicit.dcm", pydicom.dcmread(out("dicom/sequences_explicit.dcm")))
ds = with_sequences(small_ct(px))
ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
ds.save_as(out("dicom/sequences_implicit.dcm"), implicit_vr=True, little_endian=True, enforce_file_format=True)
dicom_expect("dicom/sequences_implicit.dcm", pydicom.dcmread(out("dicom/sequences_implicit.dcm")))

# A series of 4 oblique slices, files named against the spatial order, plus a non-DICOM file.
iop = [np.cos(0.2), np.sin(0.2), 0.0, -np.sin(0.2), np.cos(0.2), 0.0]
normal = np.cross(iop[:3], iop[3:])
origin = np.array([-20.0, 15.0, -40.0])
series_px = []
for k in range(4):
    px = rng.integers(-1000, 1500, size=(5, 6))
    series_px.append(px)
    ds = small_ct(px, ImageOrientationPatient=[f"{v:.6f}" for v in iop],
                  ImagePositionPatient=[f"{v:.4f}" for v in origin + normal * 2.5 * k],
                  SeriesInstanceUID="1.2.826.0.1.3680043.8.498.1", InstanceNumber=k + 1,
                  SOPInstanceUID=f"1.2.826.0.1.3680043.8.498.1.{k}", PixelSpacing=["0.75", "0.5"])
    ds.save_as(out("series", f"slice_{3 - k}.dcm"), enforce_file_format=True)
open(out("series", "README.txt"), "w").write("not a DICOM file; the series reader must skip it\n")
EXPECTED["series"] = {"voxels_kji": np.stack(series_px).tolist(), "origin": origin.tolist(),
                      "row": iop[:3], "column": iop[3:], "normal": normal.tolist(), "spacing": [0.5, 0.75, 2.5],
                      "intercept": float(ct.RescaleIntercept)}

# Two series in one folder.
for k, uid in enumerate(["1.2.826.0.1.3680043.8.498.10", "1.2.826.0.1.3680043.8.498.20"]):
    ds = small_ct(rng.integers(0, 100, size=(3, 3)), SeriesInstanceUID=uid,
                  ImagePositionPatient=["0", "0", str(k)])
    ds.save_as(out("bad", "two_series", f"im{k}.dcm"), enforce_file_format=True)

# ---------------------------------------------------------------- PNG / JPEG / NPY / NPZ
grey8 = rng.integers(0, 256, size=(5, 7)).astype(np.uint8)
rgb8 = rng.integers(0, 256, size=(4, 6, 3)).astype(np.uint8)
grey16 = rng.integers(0, 65536, size=(3, 5)).astype(np.uint16)
Image.fromarray(grey8).save(out("raster/grey8.png"))
Image.fromarray(rgb8).save(out("raster/rgb8.png"))
Image.fromarray(grey16).save(out("raster/grey16.png"))
np.save(out("raster/grey8.npy"), grey8)
np.save(out("raster/rgb8.npy"), rgb8)
np.save(out("raster/grey16.npy"), grey16)
yy, xx = np.mgrid[0:16, 0:24]
jpeg_rgb = np.stack([xx * 10, yy * 15, (xx + yy) * 5], axis=-1).astype(np.uint8)
Image.fromarray(jpeg_rgb).save(out("raster/rgb.jpg"), quality=95)
Image.fromarray(jpeg_rgb[..., 0]).save(out("raster/grey.jpg"), quality=95)
np.save(out("raster/rgb_jpg_decoded.npy"), np.asarray(Image.open(out("raster/rgb.jpg"))))
np.save(out("raster/grey_jpg_decoded.npy"), np.asarray(Image.open(out("raster/grey.jpg"))))
raw = open(out("raster/rgb.jpg"), "rb").read()
open(out("bad/truncated.jpg"), "wb").write(raw[:60])
raw = open(out("raster/rgb8.png"), "rb").read()
open(out("bad/truncated.png"), "wb").write(raw[: len(raw) - 30])
np.save(out("raster/float_hw.npy"), rng.normal(size=(3, 4)).astype(np.float32))

imgs2 = rng.integers(0, 256, size=(6, 5, 3)).astype(np.uint8)
gts2 = (rng.uniform(size=(6, 5)) > 0.5).astype(np.uint8)
np.savez_compressed(out("npz/case2d.npz"), imgs=imgs2, gts=gts2, boxes=np.array([[1, 1, 4, 5]]))
imgs3 = rng.integers(-1000, 1000, size=(3, 4, 5)).astype(np.int16)
np.savez(out("npz/case3d.npz"), imgs=imgs3, gts=(imgs3 > 0).astype(np.uint8),
         boxes=np.array([[0, 1, 0, 3, 3, 2]]), spacing=np.array([0.8, 0.9, 2.5]))
EXPECTED["npz/case2d.npz"] = {"imgs": imgs2.tolist(), "gts_sum": int(gts2.sum())}
EXPECTED["npz/case3d.npz"] = {"imgs": imgs3.tolist(), "spacing": [0.8, 0.9, 2.5]}
raw = open(out("npz/case3d.npz"), "rb").read()
open(out("bad/truncated.npz"), "wb").write(raw[: len(raw) // 2])
np.savez(out("bad/no_imgs.npz"), pictures=imgs2)
raw = bytearray(open(out("npz/case2d.npz"), "rb").read())
# Corrupt the deflated payload of the first member (keep the ZIP structure intact).
name_len = int.from_bytes(raw[26:28], "little"); extra_len = int.from_bytes(raw[28:30], "little")
start = 30 + name_len + extra_len
raw[start:start + 8] = b"\xff" * 8
open(out("bad/corrupt_member.npz"), "wb").write(raw)

# MedSAM's MR normalisation (pre_CT_MR.py), computed with NumPy on a volume with zeros.
mr = rng.gamma(2.0, 150.0, size=(4, 5, 6)).astype(np.float32)
mr[mr < 60] = 0
lower, upper = np.percentile(mr[mr > 0], 0.5), np.percentile(mr[mr > 0], 99.5)
pre = np.clip(mr, lower, upper)
pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
pre[mr == 0] = 0
EXPECTED["mr_normalisation"] = {"input": mr.ravel().tolist(), "output": pre.ravel().tolist()}

with open(out("expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
print("fixtures written; total bytes:",
      sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(HERE) for n in ns))
