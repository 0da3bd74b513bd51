#!/usr/bin/env python3
"""Reference fixtures for the Swift checkpoint readers (Tests/CheckpointsTests/Fixtures).

Run with torch, segment-anything and safetensors installed:
    python3 scripts/reference/checkpoints.py [OUTPUT_DIR]

Writes small files (well under 1 MB together):
  tiny_sam.pth              a tiny-dimension SAM state dict with the real key names (torch.save, zip)
  tiny_sam_hf.safetensors   the same weights under Hugging Face SamModel names (safetensors package)
  tiny_sam_wrapped.pth      {"model": sd, "epoch": 3, "optimizer": {...}}
  tiny_sam_module.pth       {"state_dict": {"module." + key: value}} (DDP style)
  tiny_sam_deflated.pth     tiny_sam.pth re-zipped with deflate compression
  tiny_sam_zip64.pth        tiny_sam.pth re-written with zip64 records
  tiny_sam_expected.npy     every tensor of tiny_sam as float32, flattened and concatenated in key order
  tiny_sam_expected.tsv     key, shape, element offset into tiny_sam_expected.npy
  dtypes.pth                float16, bfloat16, float64, int64, int32, uint8, bool, 0-d, a transposed
                            view (strides) and a slice sharing its storage (storage offset)
  dtypes_expected.npy/.tsv  their values as float32, as above
  dtypes.safetensors        the same tensors (made contiguous) in safetensors
  evil.pth                  a pickle whose object reduces to os.system (must be refused, never run)
  legacy.pth                the pre-1.6 non-zip torch.save format (must be refused clearly)

The fixture folder also holds lite_medsam_keys.tsv (every key, shape and storage type of the real
lite_medsam.pth, in file order; docs/sam-spec.md §8.4), which this script does not write.

Also, with --vit-h PATH, writes a ~2.5 GB checkpoint with the real ViT-H key names and shapes and
random values for Benchmarks/checkpoint-load (never commit it).
"""
import io
import os
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
import torch


def tiny_sam_state_dict():
    """A SAM built from the real segment_anything modules with tiny dimensions."""
    from segment_anything.modeling import (ImageEncoderViT, MaskDecoder, PromptEncoder, Sam,
                                           TwoWayTransformer)
    torch.manual_seed(1234)
    dim = 8
    encoder = ImageEncoderViT(img_size=8, patch_size=4, embed_dim=dim, depth=2, num_heads=2,
                              mlp_ratio=2.0, out_chans=dim, qkv_bias=True, use_rel_pos=True,
                              window_size=1, global_attn_indexes=(1,))
    prompt = PromptEncoder(embed_dim=dim, image_embedding_size=(2, 2), input_image_size=(8, 8),
                           mask_in_chans=4)
    decoder = MaskDecoder(transformer_dim=dim,
                          transformer=TwoWayTransformer(depth=2, embedding_dim=dim, num_heads=2,
                                                        mlp_dim=16),
                          num_multimask_outputs=3, iou_head_depth=3, iou_head_hidden_dim=8)
    sam = Sam(encoder, prompt, decoder)
    sd = sam.state_dict()
    # Zero-initialised parameters (rel_pos, pos_embed) would make a weak test: fill everything.
    with torch.no_grad():
        for k, v in sd.items():
            v.copy_(torch.randn(v.shape) * 0.5 + 0.01 * torch.arange(v.numel()).reshape(v.shape))
    return sd


# Hugging Face SamModel renames (transformers convert_sam_to_hf.py), applied in order.
HF_RENAMES = [
    ("iou_prediction_head.layers.0", "iou_prediction_head.proj_in"),
    ("iou_prediction_head.layers.1", "iou_prediction_head.layers.0"),
    ("iou_prediction_head.layers.2", "iou_prediction_head.proj_out"),
    ("mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"),
    ("mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"),
    ("mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"),
    ("mask_downscaling.0", "mask_embed.conv1"),
    ("mask_downscaling.1", "mask_embed.layer_norm1"),
    ("mask_downscaling.3", "mask_embed.conv2"),
    ("mask_downscaling.4", "mask_embed.layer_norm2"),
    ("mask_downscaling.6", "mask_embed.conv3"),
    ("point_embeddings", "point_embed"),
    ("pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding"),
    ("image_encoder", "vision_encoder"),
    ("neck.0", "neck.conv1"),
    ("neck.1", "neck.layer_norm1"),
    ("neck.2", "neck.conv2"),
    ("neck.3", "neck.layer_norm2"),
    ("patch_embed.proj", "patch_embed.projection"),
    (".norm", ".layer_norm"),
    ("blocks", "layers"),
]


def hf_name(key):
    import re
    for old, new in HF_RENAMES:
        key = key.replace(old, new)
    m = re.match(r"(.*output_hypernetworks_mlps\.\d+\.)layers\.(\d)(.*)", key)
    if m:
        key = m.group(1) + {"0": "proj_in", "1": "layers.0", "2": "proj_out"}[m.group(2)] + m.group(3)
    return key


def write_expected(tensors, stem, out):
    keys = list(tensors.keys())
    flat, offset, rows = [], 0, []
    for k in keys:
        v = tensors[k].detach().to(torch.float64).to(torch.float32).contiguous().numpy().ravel()
        rows.append(f"{k}\t{list(tensors[k].shape)}\t{offset}\t{str(tensors[k].dtype)}")
        flat.append(v)
        offset += v.size
    np.save(os.path.join(out, stem + "_expected.npy"), np.concatenate(flat).astype(np.float32))
    with open(os.path.join(out, stem + "_expected.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def rezip_deflated(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))


def rezip_zip64(src, dst):
    """Write every record as stored with zip64 extras and a zip64 end of central directory, as a
    >4 GB torch.save would, although the file is tiny."""
    with zipfile.ZipFile(src) as zin:
        records = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    out = io.BytesIO()
    central = []
    for name, data in records:
        nb = name.encode()
        crc = zlib.crc32(data)
        offset = out.tell()
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc,
                              0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra)))
        out.write(nb + extra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                                   0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(cextra), 0, 0, 0, 0,
                                   0xFFFFFFFF) + nb + cextra)
    cd_offset = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_offset
    eocd64 = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(records), len(records),
                          cd_size, cd_offset))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(dst, "wb") as f:
        f.write(out.getvalue())


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def vit_h_state_dict():
    """Random tensors with the real SAM ViT-H names and shapes (docs/sam-spec.md §1)."""
    from segment_anything import sam_model_registry
    with torch.device("meta"):
        sam = sam_model_registry["vit_h"]()
    g = torch.Generator().manual_seed(0)
    return OrderedDict((k, torch.rand(v.shape, generator=g)) for k, v in sam.state_dict().items())


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--vit-h":
        sd = vit_h_state_dict()
        torch.save(sd, sys.argv[2])
        n = sum(v.numel() for v in sd.values())
        print(f"wrote {sys.argv[2]}: {len(sd)} tensors, {n} elements")
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "Tests", "CheckpointsTests", "Fixtures")
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)

    sd = tiny_sam_state_dict()
    torch.save(sd, p("tiny_sam.pth"))
    write_expected(sd, "tiny_sam", out)
    torch.save({"model": sd, "epoch": 3, "optimizer": {"lr": 1e-4, "betas": (0.9, 0.999)}},
               p("tiny_sam_wrapped.pth"))
    torch.save({"state_dict": OrderedDict(("module." + k, v) for k, v in sd.items())},
               p("tiny_sam_module.pth"))
    rezip_deflated(p("tiny_sam.pth"), p("tiny_sam_deflated.pth"))
    rezip_zip64(p("tiny_sam.pth"), p("tiny_sam_zip64.pth"))

    from safetensors.torch import save_file
    hf = OrderedDict((hf_name(k), v.contiguous()) for k, v in sd.items())
    hf["shared_image_embedding.positional_embedding"] = \
        hf["prompt_encoder.shared_embedding.positional_embedding"].clone()
    save_file(hf, p("tiny_sam_hf.safetensors"), metadata={"format": "pt"})

    torch.manual_seed(99)
    base = torch.randn(6, 5)
    dt = OrderedDict()
    dt["half"] = torch.randn(3, 4).half()
    dt["bfloat"] = torch.randn(2, 3).to(torch.bfloat16)
    dt["double"] = torch.randn(5).double()
    dt["long"] = torch.tensor([[-3, 7], [123456789, 0]], dtype=torch.int64)
    dt["int"] = torch.tensor([1, -2, 3], dtype=torch.int32)
    dt["byte"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    dt["bool"] = torch.tensor([True, False, True])
    dt["scalar"] = torch.tensor(2.5)
    dt["base"] = base
    dt["transposed"] = base.t()          # strides (1, 5) over base's storage
    dt["slice"] = base[2:4, 1:]          # storage offset 11, strides (5, 1)
    torch.save(dt, p("dtypes.pth"))
    write_expected(dt, "dtypes", out)
    save_file(OrderedDict((k, v.contiguous().clone()) for k, v in dt.items()),
              p("dtypes.safetensors"))

    torch.save({"w": torch.zeros(2), "payload": Evil()}, p("evil.pth"))
    torch.save({"w": torch.ones(2)}, p("legacy.pth"), _use_new_zipfile_serialization=False)
    total = sum(os.path.getsize(p(f)) for f in os.listdir(out))
    print(f"wrote {len(os.listdir(out))} files to {out}, {total} bytes; tiny_sam has {len(sd)} tensors")


if __name__ == "__main__":
    main()
