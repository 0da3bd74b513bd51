import TensorRuntime

/// SAM's `ImageEncoderViT` (docs/sam-spec.md §1.2–1.4): input `[B, 3, S, S]`, output `[B, outChannels, S/16, S/16]`.
enum ViTEncoderGraph {
    static func build(_ c: SAMViTConfig, input x: Value, layers l: Layers, prefix p: String = "image_encoder") -> Value {
        let g = l.g, d = c.embedDim, n = c.gridSize, batch = x.shape[0]
        var h = l.conv(x, "\(p).patch_embed.proj", 3, d, kernel: c.patchSize, stride: c.patchSize, bias: true)
        h = l.toChannelsLast(h)                                   // [B, n, n, D]
        h = g.add(h, l.w.param("\(p).pos_embed", [1, n, n, d]), name: "\(p).pos_embed")
        for i in 0..<c.depth {
            let bp = "\(p).blocks.\(i)"
            let shortcut = h
            let normed = l.layerNorm(h, "\(bp).norm1", d, eps: SAMViTConfig.layerNormEps)
            let attn: Value
            if c.isGlobal(i) {
                let tokens = g.reshape(normed, [batch, n * n, d])
                let a = attention(tokens, bp, c, size: n, layers: l)
                attn = g.reshape(a, [batch, n, n, d])
            } else {
                // Zero padding happens after norm1, so padded tokens are exact zeros (docs/sam-spec.md §1.3).
                let windows = g.windowPartition(normed, window: c.windowSize, name: "\(bp).window_partition")
                let a = attention(windows, bp, c, size: c.windowSize, layers: l)
                attn = g.windowUnpartition(a, window: c.windowSize, height: n, width: n, name: "\(bp).window_unpartition")
            }
            h = g.add(shortcut, attn, name: "\(bp).residual1")
            var m = l.layerNorm(h, "\(bp).norm2", d, eps: SAMViTConfig.layerNormEps)
            m = l.linear(m, "\(bp).mlp.lin1", d, d * c.mlpRatio, activation: .gelu)
            m = l.linear(m, "\(bp).mlp.lin2", d * c.mlpRatio, d)
            h = g.add(h, m, name: "\(bp).residual2")
        }
        return l.neck(l.toChannelsFirst(h), "\(p).neck", d, c.outChannels)
    }

    /// `Attention` on `[b, size², D]` tokens of a `size × size` grid: packed qkv, decomposed
    /// relative position from the unscaled query, output projection.
    private static func attention(_ tokens: Value, _ bp: String, _ c: SAMViTConfig, size: Int, layers l: Layers) -> Value {
        let d = c.embedDim, hd = c.headDim
        let qkv = l.linear(tokens, "\(bp).attn.qkv", d, 3 * d)
        let relH = l.w.param("\(bp).attn.rel_pos_h", [2 * size - 1, hd])
        let relW = l.w.param("\(bp).attn.rel_pos_w", [2 * size - 1, hd])
        let params = AttentionParams(heads: c.heads, headDim: hd, layout: .packedSAM,
                                     bias: .relativePosition(height: size, width: size))
        let out = l.g.attention([qkv, relH, relW], params, name: "\(bp).attn")
        return l.linear(out, "\(bp).attn.proj", d, d)
    }
}
