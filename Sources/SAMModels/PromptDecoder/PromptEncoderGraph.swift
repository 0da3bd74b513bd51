import TensorRuntime

/// SAM's `PromptEncoder` (docs/sam-spec.md §2) as graph ops: sparse `[B, tokens, C]` (nil with no points
/// and no box) and dense `[B, C, h, w]` embeddings, plus the dense positional encoding.
enum PromptEncoderGraph {
    static func denseEmbeddingPE(_ c: PromptEncoderConfig, layers l: Layers, prefix p: String = "prompt_encoder") -> Value {
        let h = c.embeddingHeight, w = c.embeddingWidth
        var grid = [Float](repeating: 0, count: h * w * 2)
        for y in 0..<h {
            for x in 0..<w {
                grid[(y * w + x) * 2] = (Float(x) + 0.5) / Float(w)
                grid[(y * w + x) * 2 + 1] = (Float(y) + 0.5) / Float(h)
            }
        }
        let coords = l.g.constant("\(p).dense_pe_grid", Tensor(shape: [h, w, 2], data: grid))
        let gaussian = l.w.param("\(p).pe_layer.positional_encoding_gaussian_matrix", [2, c.embedDim / 2])
        let pe = l.g.fourierFeatures(coords, gaussian: gaussian, name: "\(p).dense_pe")   // [h, w, C]
        return l.g.reshape(l.g.permute(pe, [2, 0, 1]), [1, c.embedDim, h, w])
    }

    /// The dense prompt without a mask input, `no_mask_embed` as `[1, C, 1, 1]` (the same at every pixel).
    static func noMaskEmbedding(_ c: PromptEncoderConfig, layers l: Layers, prefix p: String = "prompt_encoder") -> Value {
        l.g.reshape(l.w.param("\(p).no_mask_embed.weight", [1, c.embedDim]), [1, c.embedDim, 1, 1])
    }

    static func build(_ c: PromptEncoderConfig, _ v: DecoderVariant, layers l: Layers,
                      prefix p: String = "prompt_encoder") -> (sparse: Value?, dense: Value) {
        let g = l.g, dim = c.embedDim, b = v.prompts
        let gaussian = l.w.param("\(p).pe_layer.positional_encoding_gaussian_matrix", [2, dim / 2])
        func embedding(_ key: String) -> Value { l.w.param("\(p).\(key).weight", [1, dim]) }
        var parts: [Value] = []
        if v.pointTokens > 0 {
            let n = v.pointTokens
            let coords = g.input(DecoderIO.pointCoords, [b, n, 2])
            let keep = g.input(DecoderIO.pointKeep, [b, n, 1])
            let onehot = g.input(DecoderIO.pointLabels, [b, n, 3])
            var pe = g.fourierFeatures(coords, gaussian: gaussian, name: "\(p).point_pe")
            pe = g.mul(pe, keep, name: "\(p).point_pe_keep")
            // Rows: not_a_point (label −1), point_embeddings.0 (label 0), point_embeddings.1 (label 1).
            let table = g.concat([embedding("not_a_point_embed"), embedding("point_embeddings.0"),
                                  embedding("point_embeddings.1")], axis: 0, name: "\(p).label_table")
            let labelEmbedding = g.matmul(onehot, table, name: "\(p).label_embedding")
            parts.append(g.add(pe, labelEmbedding, name: "\(p).point_embedding"))
        }
        if v.box {
            let corners = g.input(DecoderIO.boxCorners, [b, 2, 2])
            let pe = g.fourierFeatures(corners, gaussian: gaussian, name: "\(p).box_pe")
            let table = g.concat([embedding("point_embeddings.2"), embedding("point_embeddings.3")], axis: 0,
                                 name: "\(p).corner_table")
            parts.append(g.add(pe, table, name: "\(p).box_embedding"))
        }
        let sparse: Value? = parts.isEmpty ? nil : (parts.count == 1 ? parts[0] : g.concat(parts, axis: 1, name: "\(p).sparse"))

        let h = c.embeddingHeight, w = c.embeddingWidth
        let dense: Value
        if v.maskInput {
            let mask = g.input(DecoderIO.maskInput, [b, 1, c.maskInputHeight, c.maskInputWidth])
            let mc = c.maskInChannels, eps = PromptEncoderConfig.layerNormEps
            var x = l.conv(mask, "\(p).mask_downscaling.0", 1, mc / 4, kernel: 2, stride: 2, bias: true)
            x = g.gelu(l.layerNorm(x, "\(p).mask_downscaling.1", mc / 4, eps: eps, axis: .channels))
            x = l.conv(x, "\(p).mask_downscaling.3", mc / 4, mc, kernel: 2, stride: 2, bias: true)
            x = g.gelu(l.layerNorm(x, "\(p).mask_downscaling.4", mc, eps: eps, axis: .channels))
            dense = l.conv(x, "\(p).mask_downscaling.6", mc, dim, kernel: 1, bias: true)
        } else {
            dense = g.broadcast(noMaskEmbedding(c, layers: l, prefix: p), to: [b, dim, h, w], name: "\(p).no_mask")
        }
        return (sparse, dense)
    }
}
