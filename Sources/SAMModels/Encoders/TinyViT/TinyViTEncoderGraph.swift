import TensorRuntime

/// TinyViT as LiteMedSAM and MobileSAM use it (docs/sam-spec.md §8.2): input `[B, 3, S, S]`, output
/// `[B, neckChannels, R, R]`. Conv stages run in NCHW, transformer stages in `[B, H, W, C]`.
enum TinyViTEncoderGraph {
    static func build(_ c: TinyViTConfig, input x: Value, layers l: Layers, prefix p: String = "image_encoder") -> Value {
        let e0 = c.embedDims[0]
        var h: Value
        switch c.patchEmbedding {
        case .pointwise:
            h = l.convBN(x, "\(p).patch_embed.seq.0", 3, e0 / 2, kernel: 1, activation: .gelu)
            h = l.convBN(h, "\(p).patch_embed.seq.2", e0 / 2, e0, kernel: 1)
        case .strided3x3:
            h = l.convBN(x, "\(p).patch_embed.seq.0", 3, e0 / 2, kernel: 3, stride: 2, padding: 1, activation: .gelu)
            h = l.convBN(h, "\(p).patch_embed.seq.2", e0 / 2, e0, kernel: 3, stride: 2, padding: 1)
        }
        // Stage 0: MBConv blocks on NCHW.
        for i in 0..<c.depths[0] {
            h = mbConv(h, "\(p).layers.0.blocks.\(i)", e0, expand: c.mbconvExpandRatio, layers: l)
        }
        h = patchMerging(h, "\(p).layers.0.downsample", e0, c.embedDims[1], stride: c.mergeStrides[0], layers: l)
        var tokens = l.toChannelsLast(h)
        for s in 1..<c.embedDims.count {
            for i in 0..<c.depths[s] {
                tokens = block(tokens, "\(p).layers.\(s).blocks.\(i)", dim: c.embedDims[s], heads: c.heads[s],
                               window: c.windowSizes[s], mlpRatio: c.mlpRatio, layers: l)
            }
            if s + 1 < c.embedDims.count {
                let merged = patchMerging(l.toChannelsFirst(tokens), "\(p).layers.\(s).downsample", c.embedDims[s],
                                          c.embedDims[s + 1], stride: c.mergeStrides[s], layers: l)
                tokens = l.toChannelsLast(merged)
            }
        }
        if c.classifierClasses > 0 {
            // TinyViT's ImageNet head: stored in MobileSAM's checkpoints, unused by segmentation.
            let last = c.embedDims.last!
            l.w.storedOnly("\(p).norm_head.weight", [last])
            l.w.storedOnly("\(p).norm_head.bias", [last])
            l.w.storedOnly("\(p).head.weight", [c.classifierClasses, last])
            l.w.storedOnly("\(p).head.bias", [c.classifierClasses])
        }
        return l.neck(l.toChannelsFirst(tokens), "\(p).neck", c.embedDims.last!, c.neckChannels)
    }

    /// MBConv: 1×1 expand, GELU, 3×3 depthwise, GELU, 1×1 project, residual add, then GELU.
    private static func mbConv(_ x: Value, _ bp: String, _ dim: Int, expand: Int, layers l: Layers) -> Value {
        let hidden = dim * expand
        var h = l.convBN(x, "\(bp).conv1", dim, hidden, kernel: 1, activation: .gelu)
        h = l.convBN(h, "\(bp).conv2", hidden, hidden, kernel: 3, padding: 1, groups: hidden, activation: .gelu)
        h = l.convBN(h, "\(bp).conv3", hidden, dim, kernel: 1)
        return l.g.gelu(l.g.add(h, x, name: "\(bp).residual"))
    }

    /// PatchMerging: 1×1, GELU, 3×3 depthwise (stride 2, or 1 for the last merge), GELU, 1×1; no residual.
    private static func patchMerging(_ x: Value, _ bp: String, _ dim: Int, _ out: Int, stride: Int, layers l: Layers) -> Value {
        var h = l.convBN(x, "\(bp).conv1", dim, out, kernel: 1, activation: .gelu)
        h = l.convBN(h, "\(bp).conv2", out, out, kernel: 3, stride: stride, padding: 1, groups: out, activation: .gelu)
        return l.convBN(h, "\(bp).conv3", out, out, kernel: 1)
    }

    /// TinyViTBlock on `[B, H, W, C]`: windowed attention (the LayerNorm is inside the attention,
    /// so zero padding is normalised to the LN bias, docs/sam-spec.md §8.2), residual, depthwise local conv
    /// (no residual), then a pre-norm MLP with residual.
    private static func block(_ x: Value, _ bp: String, dim: Int, heads: Int, window: Int, mlpRatio: Int,
                              layers l: Layers) -> Value {
        let g = l.g, height = x.shape[1], width = x.shape[2]
        let hd = dim / heads
        let windows = g.windowPartition(x, window: window, name: "\(bp).window_partition")
        var a = l.layerNorm(windows, "\(bp).attn.norm", dim, eps: TinyViTConfig.layerNormEps)
        a = l.linear(a, "\(bp).attn.qkv", dim, 3 * dim)
        let table = l.w.param("\(bp).attn.attention_biases", [heads, window * window])
        a = g.attention([a, table], AttentionParams(heads: heads, headDim: hd, layout: .packedTinyViT,
                                                    bias: .biasTable(window: window)), name: "\(bp).attn")
        a = l.linear(a, "\(bp).attn.proj", dim, dim)
        a = g.windowUnpartition(a, window: window, height: height, width: width, name: "\(bp).window_unpartition")
        var h = g.add(x, a, name: "\(bp).residual1")
        h = l.toChannelsFirst(h)
        h = l.convBN(h, "\(bp).local_conv", dim, dim, kernel: 3, padding: 1, groups: dim)
        h = l.toChannelsLast(h)
        var m = l.layerNorm(h, "\(bp).mlp.norm", dim, eps: TinyViTConfig.layerNormEps)
        m = l.linear(m, "\(bp).mlp.fc1", dim, dim * mlpRatio, activation: .gelu)
        m = l.linear(m, "\(bp).mlp.fc2", dim * mlpRatio, dim)
        return g.add(h, m, name: "\(bp).residual2")
    }
}
