#!/usr/bin/env python3
"""Runs COSMOS's own prompt sampling on real masks and records what it returns, for the Swift
check of `medsam evaluate`'s sampling (EvaluationTests.testSamplingEqualsCOSMOSCodeOnRealMasks).

COSMOS (Huang et al., "Segment anything model for medical images?") publishes its code at
github.com/yuhoo0302/Segment-Anything-Model-for-Medical-Images. Its evaluation script
`test_only_box.py` defines `find_box_from_mask`, `limit_rect`, `find_center_from_mask_new` and
`find_all_info`; `utils/get_prompts.py` holds the same four (identical code, other comments),
its `find_all_info` taking `point_num` (1, 5 or 10: point1, point5, point5+5). Nothing of theirs
is copied here: this script reads their files from a checkout (or a bare git directory) given
with --cosmos-repo, executes only those four function definitions of `test_only_box.py` (the
rest of that file imports torch and their segment_anything), imports `utils/get_prompts.py` as
it is, checks that both give the same output on every mask, and writes the output.

The masks are real: the six label masks of the evaluation fixture (MNI152 slices, grey and white
matter), and connected components (4-connected, scipy.ndimage.label) of nilearn's MNI152 2009a
grey/white-matter probability maps thresholded at 0.5 in axial slices (oriented as the fixture:
rows = j flipped, columns = i), chosen by rule to reach what the fixture masks do not: an
enlarged box inside the slice, clipped on each side alone (a crop of the slice around the
component), ending exactly at the border and half a pixel before it, odd and even extents, pixel
counts that are and are not multiples of 5, 5-19 pixels (more than six foreground samples), a
centroid outside its component, one-pixel-wide lines and 1-2 pixel components (where COSMOS's
code raises: the error is recorded). Masks are uint8 0/1, as COSMOS's preprocessing
(`pre_grey_rgb2D.py`) makes them.

Usage: cosmos_sampling.py --cosmos-repo PATH [--output FILE]
  PATH: a checkout or a git directory (bare or not) of the COSMOS repository; its HEAD commit
  is recorded. Needs numpy, opencv-python(-headless), scipy, pillow, nibabel and nilearn (its data
  files only; `pip install --no-deps nilearn` is enough).
"""
import argparse
import ast
import hashlib
import importlib.metadata
import json
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests/SegmentationTests/Fixtures/evaluation"
OUTPUT = FIXTURES / "cosmos_sampling.json"
FUNCTIONS = ["find_box_from_mask", "limit_rect", "find_center_from_mask_new", "find_all_info"]


# ----------------------------------------------------------------------------- COSMOS's code

class CosmosRepo:
    """Reads files of the COSMOS repository from a work tree or a git directory."""

    def __init__(self, path):
        self.path = Path(path)
        if (self.path / "test_only_box.py").is_file():
            self.git = ["git", "-C", str(self.path)]
            self.worktree = True
        else:
            self.git = ["git", "--git-dir", str(self.path)]
            self.worktree = False
        r = subprocess.run(self.git + ["rev-parse", "HEAD"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"error: --cosmos-repo {path}: expected a checkout or git directory of COSMOS's repository "
                     f"(git rev-parse HEAD: {r.stderr.strip()})")
        self.commit = r.stdout.strip()

    def read(self, name):
        if self.worktree and (self.path / name).is_file():
            return (self.path / name).read_text()
        r = subprocess.run(self.git + ["show", f"HEAD:{name}"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"error: --cosmos-repo {self.path}: no {name} at HEAD {self.commit} (expected COSMOS's repository)")
        return r.stdout


def functions_from(source, filename, names):
    """Executes only the top-level `def`s named `names` of `source`, in a namespace holding cv2
    and numpy as the file imports them; returns that namespace."""
    tree = ast.parse(source, filename)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    found = [d.name for d in defs]
    if sorted(found) != sorted(names):
        sys.exit(f"error: {filename}: expected the functions {names}, found {found}")
    namespace = {"cv2": cv2, "np": np}
    exec(compile(ast.Module(body=defs, type_ignores=[]), filename, "exec"), namespace)
    return namespace


def module_from(source, filename):
    """Imports `source` (utils/get_prompts.py, which imports only cv2 and numpy) as a module."""
    module = types.ModuleType("cosmos_get_prompts")
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def run_cosmos(test_script, get_prompts, mask):
    """What COSMOS's code returns for one mask, as JSON-ready lists, or the error it raises."""
    def raw(fn):
        try:
            coords, labels, fg, bg, box1, centre = fn(mask)
            return {"centroid": [int(centre[0]), int(centre[1])],
                    "points_fg": np.asarray(fg).astype(int).tolist(),
                    "points_bg": np.asarray(bg).astype(int).tolist(),
                    "point_coords": np.asarray(coords).astype(int).tolist(),
                    "point_labels": np.asarray(labels).astype(int).tolist(),
                    "enlarged_box": [float(v) for v in box1]}
        except Exception as e:   # recorded: COSMOS's code fails on this mask
            return {"error": f"{type(e).__name__}: {e}"}

    out = raw(test_script["find_center_from_mask_new"])
    if raw(get_prompts.find_center_from_mask_new) != out:
        sys.exit("error: test_only_box.py and utils/get_prompts.py disagree on a mask")
    out["limit_rect"] = [float(v) for v in test_script["limit_rect"](mask, 2)]
    out["box"] = [int(v) for v in test_script["find_box_from_mask"](mask)]
    if "error" not in out:
        # What the point modes feed SAM: find_all_info's first point_num points and labels.
        prompts = {}
        for mode, k in (("point1", 1), ("point5", 5), ("point5+5", 10)):
            pts, labels, boxes = get_prompts.find_all_info(mask[None], [1], k)
            prompts[mode] = {"points": pts[0].astype(int).tolist(), "labels": labels[0].astype(int).tolist()}
            if [int(v) for v in boxes[0]] != out["box"]:
                sys.exit("error: find_all_info's box differs from find_box_from_mask's")
        # The evaluation script's own find_all_info takes the first ten (point5+5).
        pts, labels, boxes, _ = test_script["find_all_info"](mask[None], [1])
        if (np.asarray(pts[0]).astype(int).tolist() != prompts["point5+5"]["points"]
                or np.asarray(labels[0]).astype(int).tolist() != prompts["point5+5"]["labels"]):
            sys.exit("error: test_only_box.find_all_info differs from get_prompts.find_all_info(point_num=10)")
        out["prompts"] = prompts
    return out


# ----------------------------------------------------------------------------- masks

def runs(mask):
    """Row-major runs of foreground pixels: [[first flat index, length], ...]."""
    flat = np.concatenate([[0], mask.ravel().astype(np.int8), [0]])
    d = np.diff(flat)
    starts, ends = np.where(d == 1)[0], np.where(d == -1)[0]
    return [[int(s), int(e - s)] for s, e in zip(starts, ends)]


def axis_clipping(lo, hi, size):
    """How limit_rect's 2x range meets the slice along one axis (for choosing and labelling
    cases; the fixture's values come from COSMOS's code): start clipped at 0, end at the size."""
    e = hi - lo
    start = lo - e / 2
    end = start + 2 * e
    return {"start_clipped": start < 0, "end_clipped": end >= size, "end_exact": end == size,
            "end_half_before": end == size - 0.5, "odd": e % 2 == 1}


def describe(mask):
    ys, xs = np.where(mask == 1)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    H, W = mask.shape
    cx, cy = int(xs.sum() / len(xs)), int(ys.sum() / len(ys))
    return {"n": int(len(xs)), "w": int(x1 - x0), "h": int(y1 - y0),
            "x": axis_clipping(int(x0), int(x1), W), "y": axis_clipping(int(y0), int(y1), H),
            "centroid_outside": not bool(mask[cy, cx])}


def load_maps():
    import nibabel as nib
    import nilearn
    data = Path(nilearn.__file__).parent / "datasets/data"
    maps = {}
    for tissue in ("gm", "wm"):
        v = np.asarray(nib.load(data / f"mni_icbm152_{tissue}_tal_nlin_sym_09a_converted.nii.gz").dataobj,
                       dtype=np.float64)
        maps[tissue] = v / 255 if v.max() > 1.5 else v
    return maps


def components(maps):
    """Every 4-connected component of the thresholded maps in axial slices, in a fixed order
    (tissue, slice, scipy's label number)."""
    from scipy import ndimage
    for tissue in ("gm", "wm"):
        vol = maps[tissue]
        for k in range(vol.shape[2]):
            s = np.ascontiguousarray(vol[:, :, k].T[::-1]) > 0.5
            lab, count = ndimage.label(s)
            for c in range(1, count + 1):
                yield tissue, k, c, lab == c


def crop_for(comp, side, exact=None):
    """A crop of the slice [r0, r1) x [c0, c1) around a component so that the 2x range is clipped
    on `side` only; `exact` ("exact" or "half") instead places the end at the size or half a pixel
    before it, on the right. None if the slice has no room."""
    ys, xs = np.where(comp)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    w, h = x1 - x0, y1 - y0
    H, W = comp.shape
    # Room on the unclipped sides: more than e/2 + 1 pixels. On the clipped side: e/4 pixels
    # (start at lo - e/2 < 0; end at lo' + 1.5e > size).
    def far(e): return e + 2
    def near(e): return e // 4
    c0, c1, r0, r1 = x0 - far(w), x1 + far(w) + 1, y0 - far(h), y1 + far(h) + 1
    if side == "left": c0 = x0 - near(w)
    if side == "right": c1 = x1 + near(w) + 1
    if side == "top": r0 = y0 - near(h)
    if side == "bottom": r1 = y1 + near(h) + 1
    if exact is not None:
        # end = (x0 - c0) + 1.5 w (crop coordinates) against the width c1 - c0.
        end = (x0 - c0) + 1.5 * w
        target = end if exact == "exact" else end + 0.5
        if target != int(target):
            return None
        c1 = c0 + int(target)
    if c0 < 0 or r0 < 0 or c1 > W or r1 > H or c1 <= x1:
        return None
    return [int(r0), int(r1), int(c0), int(c1)]


def choose_cases(maps):
    """The volume's cases: one component for each need, the first in `components`' order."""
    needs = {
        # (name, predicate on describe(), crop side or None, exact-end rule or None)
        "inside, even x even": (lambda d: d["n"] > 50 and d["n"] % 5 and not d["w"] % 2 and not d["h"] % 2, None, None),
        "inside, even x odd": (lambda d: d["n"] > 50 and d["n"] % 5 and not d["w"] % 2 and d["h"] % 2, None, None),
        "inside, odd x even": (lambda d: d["n"] > 50 and d["n"] % 5 and d["w"] % 2 and not d["h"] % 2, None, None),
        "inside, odd x odd": (lambda d: d["n"] > 50 and d["n"] % 5 and d["w"] % 2 and d["h"] % 2, None, None),
        "inside, n a multiple of 5": (lambda d: d["n"] > 50 and d["n"] % 5 == 0, None, None),
        "inside, centroid outside the component": (lambda d: d["n"] > 50 and d["centroid_outside"], None, None),
        "5-9 pixels (step 1)": (lambda d: 5 <= d["n"] <= 9 and d["w"] > 0 and d["h"] > 0, None, None),
        "10-19 pixels": (lambda d: 10 <= d["n"] <= 19 and d["n"] % 5 and d["w"] > 0 and d["h"] > 0, None, None),
        "20-50 pixels": (lambda d: 20 <= d["n"] <= 50 and d["n"] % 5, None, None),
        "1 pixel": (lambda d: d["n"] == 1, None, None),
        "2 pixels": (lambda d: d["n"] == 2, None, None),
        "vertical line (w = 0)": (lambda d: d["n"] >= 5 and d["w"] == 0, None, None),
        "horizontal line (h = 0)": (lambda d: d["n"] >= 5 and d["h"] == 0, None, None),
    }
    for side in ("left", "right", "top", "bottom"):
        for odd in (False, True):
            axis = "w" if side in ("left", "right") else "h"
            needs[f"clipped {side} only, {'odd' if odd else 'even'} extent"] = (
                (lambda a, o: lambda d: 60 <= d["n"] <= 400 and d["n"] % 5 and d[a] >= 8 and d[a] % 2 == o)(axis, int(odd)),
                side, None)
    needs["end exactly at the border (right)"] = (
        lambda d: 60 <= d["n"] <= 400 and d["w"] >= 8 and d["w"] % 2 == 0, "none", "exact")
    needs["end half a pixel before the border (right)"] = (
        lambda d: 60 <= d["n"] <= 400 and d["w"] >= 8 and d["w"] % 2 == 1, "none", "half")

    chosen = {}
    for tissue, k, c, comp in components(maps):
        if len(chosen) == len(needs):
            break
        d = describe(comp.astype(np.uint8))
        for name, (pred, side, exact) in needs.items():
            if name in chosen or not pred(d):
                continue
            if side is None:
                # "inside": the 2x range within the slice on both axes.
                if name.startswith("inside") and any(d[a][k2] for a in ("x", "y") for k2 in ("start_clipped", "end_clipped")):
                    continue
                chosen[name] = (tissue, k, c, None, comp)
            else:
                crop = crop_for(comp, side, exact)
                if crop is None:
                    continue
                r0, r1, c0, c1 = crop
                m = comp[r0:r1, c0:c1]
                dd = describe(m.astype(np.uint8))
                clip = {"left": dd["x"]["start_clipped"], "right": dd["x"]["end_clipped"],
                        "top": dd["y"]["start_clipped"], "bottom": dd["y"]["end_clipped"]}
                want = {s: s == side or (s == "right" and exact == "exact") for s in clip}
                if clip != want:
                    continue
                if exact == "exact" and not dd["x"]["end_exact"]:
                    continue
                if exact == "half" and not dd["x"]["end_half_before"]:
                    continue
                chosen[name] = (tissue, k, c, crop, comp)
    missing = [n for n in needs if n not in chosen]
    if missing:
        sys.exit(f"error: no MNI152 component found for: {missing}")
    return [(name,) + chosen[name] for name in needs]


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cosmos-repo", required=True, help="checkout or git directory of COSMOS's repository")
    ap.add_argument("--output", default=str(OUTPUT))
    args = ap.parse_args()

    repo = CosmosRepo(args.cosmos_repo)
    test_src, prompts_src = repo.read("test_only_box.py"), repo.read("utils/get_prompts.py")
    test_script = functions_from(test_src, "test_only_box.py", FUNCTIONS)
    get_prompts = module_from(prompts_src, "utils/get_prompts.py")

    from PIL import Image
    import nilearn
    maps = load_maps()
    cases = []

    def add(name, identity, mask):
        mask = np.ascontiguousarray(mask.astype(np.uint8))
        d = describe(mask) if mask.any() else None
        cases.append({"name": name, "identity": identity, "height": int(mask.shape[0]), "width": int(mask.shape[1]),
                      "n": int(mask.sum()), "sha256": hashlib.sha256(mask.tobytes()).hexdigest(),
                      "runs": runs(mask),
                      "centroid_outside": d["centroid_outside"],
                      "cosmos": run_cosmos(test_script, get_prompts, mask)})

    for png in sorted((FIXTURES / "mni/labels").glob("*.png")):
        lab = np.asarray(Image.open(png))
        for label, tissue in ((1, "grey matter"), (2, "white matter")):
            add(f"evaluation fixture {png.stem} {tissue}",
                {"file": f"mni/labels/{png.name}", "label": label}, lab == label)
    for name, tissue, k, c, crop, comp in choose_cases(maps):
        identity = {"map": f"mni_icbm152_{tissue}_tal_nlin_sym_09a_converted.nii.gz", "threshold": 0.5,
                    "axial_slice": k, "orientation": "rows = j flipped, columns = i",
                    "component": c, "connectivity": 4}
        mask = comp
        if crop is not None:
            r0, r1, c0, c1 = crop
            identity["crop_rows"], identity["crop_columns"] = [r0, r1], [c0, c1]
            mask = comp[r0:r1, c0:c1]
        add(name, identity, mask)

    versions = {p: importlib.metadata.version(p) for p in ("numpy", "opencv-python-headless", "scipy", "nibabel", "nilearn", "pillow")
                if _installed(p)}
    versions["python"] = sys.version.split()[0]
    versions["cv2"] = cv2.__version__
    fixture = {
        "made_by": "scripts/reference/cosmos_sampling.py --cosmos-repo <COSMOS checkout>",
        "cosmos": {"repository": "github.com/yuhoo0302/Segment-Anything-Model-for-Medical-Images",
                   "commit": repo.commit,
                   "functions": {"test_only_box.py": FUNCTIONS, "utils/get_prompts.py": ["find_all_info (point_num 1, 5, 10)"]},
                   "sha256": {"test_only_box.py": hashlib.sha256(test_src.encode()).hexdigest(),
                              "utils/get_prompts.py": hashlib.sha256(prompts_src.encode()).hexdigest()}},
        "versions": versions,
        "notes": "runs: row-major [first flat index, length] of the mask's pixels (uint8 0/1). cosmos: "
                 "find_center_from_mask_new's outputs (points_fg, points_bg, point_coords, point_labels, "
                 "enlarged_box = its box1; centroid), limit_rect(mask, 2) as (x, y, w, h), find_box_from_mask, "
                 "and find_all_info's prompts for point_num 1, 5, 10; or the error the code raises.",
        "cases": cases,
    }
    Path(args.output).write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    errors = sum("error" in c["cosmos"] for c in cases)
    sixth = sum(len(c["cosmos"].get("points_fg", [])) > 5 for c in cases)
    print(f"{len(cases)} masks ({errors} where COSMOS's code raises, {sixth} with more than five foreground "
          f"samples), commit {repo.commit}, {Path(args.output).stat().st_size} bytes -> {args.output}")


def _installed(name):
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


if __name__ == "__main__":
    main()
