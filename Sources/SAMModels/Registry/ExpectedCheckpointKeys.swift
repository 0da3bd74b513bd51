import TensorRuntime

/// Every key and shape a published checkpoint of each model holds (spec §1.5, §2, §3, §8.4, §8.5),
/// generated from the architecture so a checkpoint can be checked key by key.
public enum ExpectedCheckpointKeys {
    public static func shapes(for kind: ModelKind) -> [(key: String, shape: Shape)] {
        var table = KeyTable()
        switch kind {
        case .samViTB, .medsam: table.addViT(dim: 768, depth: 12, global: [2, 5, 8, 11])
        case .samViTL: table.addViT(dim: 1024, depth: 24, global: [5, 11, 17, 23])
        case .samViTH: table.addViT(dim: 1280, depth: 32, global: [7, 15, 23, 31])
        case .litemedsam: table.addTinyViT(patchKernel: 1, classifierHead: false)
        case .mobilesam: table.addTinyViT(patchKernel: 3, classifierHead: true)
        }
        table.addMaskDecoder()
        table.addPromptEncoder()
        return table.entries
    }
}

private struct KeyTable {
    var entries: [(key: String, shape: Shape)] = []

    mutating func add(_ key: String, _ dims: [Int]) { entries.append((key, Shape(dims))) }

    mutating func addLinear(_ prefix: String, out: Int, in inDim: Int) {
        add(prefix + ".weight", [out, inDim])
        add(prefix + ".bias", [out])
    }

    mutating func addNorm(_ prefix: String, _ dim: Int) {
        add(prefix + ".weight", [dim])
        add(prefix + ".bias", [dim])
    }

    /// `ImageEncoderViT`: patch 16, window 14, MLP ratio 4, 64×64 grid, neck to 256.
    mutating func addViT(dim: Int, depth: Int, global: Set<Int>) {
        let p = "image_encoder."
        add(p + "pos_embed", [1, 64, 64, dim])
        add(p + "patch_embed.proj.weight", [dim, 3, 16, 16])
        add(p + "patch_embed.proj.bias", [dim])
        let headDim = dim / (dim == 768 ? 12 : 16)
        for i in 0..<depth {
            let b = p + "blocks.\(i)."
            let relRows = global.contains(i) ? 127 : 27
            addNorm(b + "norm1", dim)
            add(b + "attn.rel_pos_h", [relRows, headDim])
            add(b + "attn.rel_pos_w", [relRows, headDim])
            addLinear(b + "attn.qkv", out: 3 * dim, in: dim)
            addLinear(b + "attn.proj", out: dim, in: dim)
            addNorm(b + "norm2", dim)
            addLinear(b + "mlp.lin1", out: 4 * dim, in: dim)
            addLinear(b + "mlp.lin2", out: dim, in: 4 * dim)
        }
        addNeck(inChannels: dim)
    }

    mutating func addNeck(inChannels: Int) {
        add("image_encoder.neck.0.weight", [256, inChannels, 1, 1])
        addNorm("image_encoder.neck.1", 256)
        add("image_encoder.neck.2.weight", [256, 256, 3, 3])
        addNorm("image_encoder.neck.3", 256)
    }

    /// `Conv2d_BN`: a bias-free conv and an eval-mode BatchNorm with its counter.
    mutating func addConvBN(_ prefix: String, out: Int, inPerGroup: Int, kernel: Int) {
        add(prefix + ".c.weight", [out, inPerGroup, kernel, kernel])
        for name in ["weight", "bias", "running_mean", "running_var"] { add(prefix + ".bn.\(name)", [out]) }
        add(prefix + ".bn.num_batches_tracked", [])
    }

    /// TinyViT with embed dims [64, 128, 160, 320], depths [2, 2, 6, 2], heads [2, 4, 5, 10],
    /// windows [7, 7, 14, 7], as LiteMedSAM (1×1 patch embedding) and MobileSAM (3×3) use it.
    mutating func addTinyViT(patchKernel: Int, classifierHead: Bool) {
        let p = "image_encoder."
        let dims = [64, 128, 160, 320], depths = [2, 2, 6, 2], heads = [2, 4, 5, 10], windows = [7, 7, 14, 7]
        addConvBN(p + "patch_embed.seq.0", out: 32, inPerGroup: 3, kernel: patchKernel)
        addConvBN(p + "patch_embed.seq.2", out: 64, inPerGroup: 32, kernel: patchKernel)
        for stage in 0..<4 {
            let s = p + "layers.\(stage)."
            let dim = dims[stage]
            for block in 0..<depths[stage] {
                let b = s + "blocks.\(block)."
                if stage == 0 {
                    addConvBN(b + "conv1", out: 4 * dim, inPerGroup: dim, kernel: 1)
                    addConvBN(b + "conv2", out: 4 * dim, inPerGroup: 1, kernel: 3)
                    addConvBN(b + "conv3", out: dim, inPerGroup: 4 * dim, kernel: 1)
                } else {
                    add(b + "attn.attention_biases", [heads[stage], windows[stage] * windows[stage]])
                    addNorm(b + "attn.norm", dim)
                    addLinear(b + "attn.qkv", out: 3 * dim, in: dim)
                    addLinear(b + "attn.proj", out: dim, in: dim)
                    addNorm(b + "mlp.norm", dim)
                    addLinear(b + "mlp.fc1", out: 4 * dim, in: dim)
                    addLinear(b + "mlp.fc2", out: dim, in: 4 * dim)
                    addConvBN(b + "local_conv", out: dim, inPerGroup: 1, kernel: 3)
                }
            }
            if stage < 3 {
                let out = dims[stage + 1]
                addConvBN(s + "downsample.conv1", out: out, inPerGroup: dim, kernel: 1)
                addConvBN(s + "downsample.conv2", out: out, inPerGroup: 1, kernel: 3)
                addConvBN(s + "downsample.conv3", out: out, inPerGroup: out, kernel: 1)
            }
        }
        if classifierHead {
            addNorm(p + "norm_head", 320)
            addLinear(p + "head", out: 1000, in: 320)
        }
        addNeck(inChannels: 320)
    }

    /// `MaskDecoder` with a depth-2 `TwoWayTransformer` (dim 256, MLP 2048, downsample 2).
    mutating func addMaskDecoder() {
        let t = "mask_decoder.transformer."
        func attention(_ prefix: String, inner: Int) {
            for name in ["q_proj", "k_proj", "v_proj"] { addLinear(prefix + "." + name, out: inner, in: 256) }
            addLinear(prefix + ".out_proj", out: 256, in: inner)
        }
        for layer in 0..<2 {
            let l = t + "layers.\(layer)."
            attention(l + "self_attn", inner: 256)
            addNorm(l + "norm1", 256)
            attention(l + "cross_attn_token_to_image", inner: 128)
            addNorm(l + "norm2", 256)
            addLinear(l + "mlp.lin1", out: 2048, in: 256)
            addLinear(l + "mlp.lin2", out: 256, in: 2048)
            addNorm(l + "norm3", 256)
            addNorm(l + "norm4", 256)
            attention(l + "cross_attn_image_to_token", inner: 128)
        }
        attention(t + "final_attn_token_to_image", inner: 128)
        addNorm(t + "norm_final_attn", 256)
        add("mask_decoder.iou_token.weight", [1, 256])
        add("mask_decoder.mask_tokens.weight", [4, 256])
        add("mask_decoder.output_upscaling.0.weight", [256, 64, 2, 2])
        add("mask_decoder.output_upscaling.0.bias", [64])
        addNorm("mask_decoder.output_upscaling.1", 64)
        add("mask_decoder.output_upscaling.3.weight", [64, 32, 2, 2])
        add("mask_decoder.output_upscaling.3.bias", [32])
        for m in 0..<4 {
            let h = "mask_decoder.output_hypernetworks_mlps.\(m).layers."
            addLinear(h + "0", out: 256, in: 256)
            addLinear(h + "1", out: 256, in: 256)
            addLinear(h + "2", out: 32, in: 256)
        }
        addLinear("mask_decoder.iou_prediction_head.layers.0", out: 256, in: 256)
        addLinear("mask_decoder.iou_prediction_head.layers.1", out: 256, in: 256)
        addLinear("mask_decoder.iou_prediction_head.layers.2", out: 4, in: 256)
    }

    /// `PromptEncoder` with embed dim 256 and mask_in_chans 16.
    mutating func addPromptEncoder() {
        let p = "prompt_encoder."
        add(p + "pe_layer.positional_encoding_gaussian_matrix", [2, 128])
        for i in 0..<4 { add(p + "point_embeddings.\(i).weight", [1, 256]) }
        add(p + "not_a_point_embed.weight", [1, 256])
        add(p + "mask_downscaling.0.weight", [4, 1, 2, 2])
        add(p + "mask_downscaling.0.bias", [4])
        addNorm(p + "mask_downscaling.1", 4)
        add(p + "mask_downscaling.3.weight", [16, 4, 2, 2])
        add(p + "mask_downscaling.3.bias", [16])
        addNorm(p + "mask_downscaling.4", 16)
        add(p + "mask_downscaling.6.weight", [256, 16, 1, 1])
        add(p + "mask_downscaling.6.bias", [256])
        add(p + "no_mask_embed.weight", [1, 256])
    }
}
