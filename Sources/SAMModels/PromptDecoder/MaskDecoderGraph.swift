import TensorRuntime

/// SAM's `MaskDecoder` with its `TwoWayTransformer` (docs/sam-spec.md §3).
enum MaskDecoderGraph {
    /// The decoder's work that reads only the image when there is no mask input (the dense
    /// prompt is then the constant no-mask embedding): the image tokens and their layer-0
    /// projections, which layer 0 reads before any prompt has touched the image tokens. With a
    /// batch of prompts against one image they are computed once (batch 1) and broadcast; the
    /// predictor also computes them once per image and reuses them for every prompt
    /// (`DecoderVariant.sharesImageContext`).
    struct ImageContext {
        /// `[Bi, hw, C]`: image embedding + dense prompt, as tokens.
        var keys: Value
        /// `[Bi, hw, C/r]`: layer 0 `cross_attn_token_to_image.k_proj(keys + PE)`.
        var tokenToImageKeys: Value
        /// `[Bi, hw, C/r]`: layer 0 `cross_attn_token_to_image.v_proj(keys)`.
        var tokenToImageValues: Value
        /// `[Bi, hw, C/r]`: layer 0 `cross_attn_image_to_token.q_proj(keys + PE)`.
        var imageToTokenQueries: Value
    }

    /// The image context from `src` `[Bi, C, h, w]` (embedding + dense prompt) and the
    /// positional encoding of the image tokens `[1, hw, C]` (`keyPE`).
    static func imageContext(_ c: MaskDecoderConfig, src: Value, keyPE: Value, layers l: Layers,
                             prefix p: String = "mask_decoder") -> ImageContext {
        let g = l.g, dim = c.transformerDim, inner = dim / c.attentionDownsampleRate
        let bi = src.shape[0], hw = src.shape[2] * src.shape[3]
        let keys = g.reshape(g.permute(src, [0, 2, 3, 1]), [bi, hw, dim])
        let withPE = g.add(keys, keyPE, name: "\(p).image_keys_pe")
        let lp = "\(p).transformer.layers.0"
        return ImageContext(
            keys: keys,
            tokenToImageKeys: l.linear(withPE, "\(lp).cross_attn_token_to_image.k_proj", dim, inner),
            tokenToImageValues: l.linear(keys, "\(lp).cross_attn_token_to_image.v_proj", dim, inner),
            imageToTokenQueries: l.linear(withPE, "\(lp).cross_attn_image_to_token.q_proj", dim, inner))
    }

    /// The dense positional encoding `[1, C, h, w]` as `[1, hw, C]` tokens.
    static func keyPE(_ densePE: Value, layers l: Layers) -> Value {
        let c = densePE.shape[1], hw = densePE.shape[2] * densePE.shape[3]
        return l.g.reshape(l.g.permute(densePE, [0, 2, 3, 1]), [1, hw, c])
    }

    /// - Parameters:
    ///   - context: the image side (`imageContext`), of batch 1 (broadcast to every prompt) or B.
    ///   - prompts: B.
    ///   - sparse: `[B, T, C]` prompt tokens, or nil for none.
    ///   - keyPE: `[1, hw, C]`, the positional encoding of the image tokens (`keyPE(_:layers:)`).
    ///   - height, width: the embedding grid.
    /// - Returns: low-res logits `[B, M, 4h, 4w]` and IoU predictions `[B, M]`, M = 3 or 1.
    static func build(_ c: MaskDecoderConfig, context: ImageContext, prompts b: Int, sparse: Value?, keyPE: Value,
                      height h: Int, width w: Int, multimask: Bool, factoredAttention: Bool?, layers l: Layers,
                      prefix p: String = "mask_decoder") -> (logits: Value, iou: Value) {
        let g = l.g, dim = c.transformerDim, hw = h * w
        let nOut = 1 + c.maskTokens

        // Tokens: iou token, mask tokens, then the prompt tokens.
        let outputTokens = g.concat([l.w.param("\(p).iou_token.weight", [1, dim]),
                                     l.w.param("\(p).mask_tokens.weight", [c.maskTokens, dim])], axis: 0,
                                    name: "\(p).output_tokens")
        var tokens = g.broadcast(g.reshape(outputTokens, [1, nOut, dim]), to: [b, nOut, dim], name: "\(p).output_tokens_b")
        if let sparse { tokens = g.concat([tokens, sparse], axis: 1, name: "\(p).tokens") }

        let factored = factoredAttention ?? (c.heads * tokens.shape[1] < c.transformerDim / c.attentionDownsampleRate)
        let (queries, keys) = twoWayTransformer(c, queries: tokens, context: context, prompts: b, keyPE: keyPE,
                                                factored: factored, layers: l, prefix: "\(p).transformer")

        // One hypernetwork MLP per selected mask token; masks = hyper_in @ upscaled.
        let selected = multimask ? Array(1..<c.maskTokens) : [0]
        let hyper = selected.map { i -> Value in
            let token = g.slice(queries, start: [0, 1 + i, 0], size: [b, 1, dim])
            return mlp(token, "\(p).output_hypernetworks_mlps.\(i)", [dim, dim, dim, dim / 8], layers: l)
        }
        let hyperIn = hyper.count == 1 ? hyper[0] : g.concat(hyper, axis: 1, name: "\(p).hyper_in")
        let logits = upscaledMasks(c, keys: keys, hyperIn: hyperIn, height: h, width: w, layers: l, prefix: p)

        // IoU head on the iou token.
        let iouToken = g.reshape(g.slice(queries, start: [0, 0, 0], size: [b, 1, dim]), [b, dim])
        var sizes = [dim] + Array(repeating: c.iouHeadHiddenDim, count: c.iouHeadDepth - 1) + [c.maskTokens]
        if c.iouHeadDepth < 1 { sizes = [dim, c.maskTokens] }
        let iouAll = mlp(iouToken, "\(p).iou_prediction_head", sizes, layers: l)
        let iou = g.slice(iouAll, start: [0, selected[0]], size: [b, selected.count])
        return (logits, iou)
    }

    /// `output_upscaling` (ConvTranspose 2x2 → LayerNorm2d → GELU → ConvTranspose 2x2 → GELU)
    /// followed by `hyper_in @ upscaled`, from the image tokens `keys [B, hw, C]`: low-res
    /// logits `[B, M, 4h, 4w]`.
    ///
    /// A 2x2 stride-2 transposed convolution maps each input pixel to its own 2x2 output patch,
    /// so on channels-last tokens it is one GEMM, `[rows, Cin] x [Cin, 2·2·Cout]`, whose output
    /// row is the patch (sub-pixel i, j, then channel). Run that way, the upscaling reads the
    /// tokens as they are (no permute to NCHW of `[B, C, h, w]`), LayerNorm2d becomes a layer
    /// norm over the last axis, the second convolution's GELU is the GEMM's epilogue, and the
    /// only reordering is of the logits (M channels instead of C/8). Sub-pixels stay
    /// interleaved in row order (y, x, i, j, k, l) until the end, where two small permutes put
    /// them at row 4y + 2i + k, column 4x + 2j + l (rank ≤ 6, as every backend's kernels take).
    /// The weight reorderings are constants, folded at compile time.
    private static func upscaledMasks(_ c: MaskDecoderConfig, keys: Value, hyperIn: Value, height h: Int, width w: Int,
                                      layers l: Layers, prefix p: String) -> Value {
        let g = l.g, dim = c.transformerDim, b = keys.shape[0], hw = h * w, m = hyperIn.shape[1]
        let c1 = dim / 4, c2 = dim / 8
        /// ConvTranspose2d(cin, cout, 2, stride 2) as a GEMM weight `[cin, 2·2·cout]` and bias.
        func patchGEMM(_ name: String, _ cin: Int, _ cout: Int) -> (weight: Value, bias: Value) {
            let weight = g.reshape(g.permute(l.w.param("\(name).weight", [cin, cout, 2, 2]), [0, 2, 3, 1]), [cin, 4 * cout])
            let bias = g.reshape(g.broadcast(l.w.param("\(name).bias", [cout]), to: [4, cout]), [4 * cout])
            return (weight, bias)
        }
        let up0 = patchGEMM("\(p).output_upscaling.0", dim, c1)
        var up = g.matmul(keys, up0.weight, bias: up0.bias, name: "\(p).output_upscaling.0")          // [B, hw, 2·2·c1]
        up = g.reshape(up, [b, hw * 4, c1])                                                             // rows (y, x, i, j)
        up = g.gelu(l.layerNorm(up, "\(p).output_upscaling.1", c1, eps: MaskDecoderConfig.upscalingNormEps))
        let up3 = patchGEMM("\(p).output_upscaling.3", c1, c2)
        up = g.matmul(up, up3.weight, bias: up3.bias, activation: .gelu, name: "\(p).output_upscaling.3")
        up = g.reshape(up, [b, hw * 16, c2])                                                            // rows (y, x, i, j, k, l)
        let masks = g.matmul(hyperIn, up, transposeB: true, name: "\(p).masks")                         // [B, M, hw·16]
        // (y, x, i, j, k, l) → (y, i, x, j, k, l) → (y, i, k, x, j, l).
        var out = g.permute(g.reshape(masks, [b * m, h, w, 2, 2, 4]), [0, 1, 3, 2, 4, 5])
        out = g.permute(g.reshape(out, [b * m * h * 2, w, 2, 2, 2]), [0, 3, 1, 2, 4], name: "\(p).masks_pixels")
        return g.reshape(out, [b, m, 4 * h, 4 * w])
    }

    /// `MLP`: Linear layers `sizes[i] → sizes[i+1]`, ReLU between them, none after the last.
    private static func mlp(_ x: Value, _ prefix: String, _ sizes: [Int], layers l: Layers) -> Value {
        var h = x
        for i in 0..<(sizes.count - 1) {
            h = l.linear(h, "\(prefix).layers.\(i)", sizes[i], sizes[i + 1],
                         activation: i < sizes.count - 2 ? .relu : .none)
        }
        return h
    }

    /// `transformer.Attention`: separate q/k/v projections to `dim / rate`, heads, out projection.
    private static func attention(_ q: Value, _ k: Value, _ v: Value, _ prefix: String, dim: Int, heads: Int,
                                  rate: Int, layers l: Layers) -> Value {
        let inner = dim / rate
        return attention(projected: l.linear(q, "\(prefix).q_proj", dim, inner), l.linear(k, "\(prefix).k_proj", dim, inner),
                         l.linear(v, "\(prefix).v_proj", dim, inner), prefix, dim: dim, heads: heads, rate: rate, layers: l)
    }

    /// The rest of `transformer.Attention` from projected q, k, v (heads, out projection).
    private static func attention(projected qp: Value, _ kp: Value, _ vp: Value, _ prefix: String, dim: Int, heads: Int,
                                  rate: Int, layers l: Layers) -> Value {
        let inner = dim / rate
        let out = l.g.attention([qp, kp, vp], AttentionParams(heads: heads, headDim: inner / heads, layout: .separate),
                                name: prefix)
        return l.linear(out, "\(prefix).out_proj", inner, dim)
    }

    /// `x` `[1, N, C]` repeated for `b` prompts (the attention op pairs batches one to one).
    private static func perPrompt(_ x: Value, _ b: Int, layers l: Layers, name: String) -> Value {
        x.shape[0] == b ? x : l.g.broadcast(x, to: [b, x.shape[1], x.shape[2]], name: name)
    }

    // MARK: Factored cross-attention
    //
    // Between T prompt tokens (about 7) and N image tokens (4096), `transformer.Attention`
    // projects all N image tokens to the inner width (q, k or v: N x C x C/r each) although
    // every head only ever multiplies them by T vectors. With H heads of width d and H·T < C/r,
    // the products can be taken in the other order: for token-to-image,
    //   scores_h = s · q_h (X W_k,hᵀ + b_k,h)ᵀ = (s · q_h W_k,h) Xᵀ + (per-row constant, which
    //              softmax ignores)
    //   out_h    = P_h (X W_v,hᵀ + b_v,h) = (P_h X) W_v,hᵀ + b_v,h          (rows of P_h sum to 1)
    // and for image-to-token (image tokens as queries),
    //   scores_h = s · (X W_q,hᵀ + b_q,h) k_hᵀ = X (s · k_h W_q,h)ᵀ + s · b_q,h k_hᵀ
    //   out      = Σ_h P_h v_h W_o,hᵀ + b_o = P · [v_h W_o,hᵀ]_h + b_o
    // so each side costs two N x C x H·T products instead of two N x C x C/r projections (and a
    // fused attention). The result is the same function of the weights (checked against PyTorch
    // by SAMModelsTests and against the unfactored graph by the conformance suite); only the
    // float rounding differs. Weight reshapes and scalings are constants, folded at compile time.

    /// `w [H·d, C]` (a Linear weight) as per-head `[B, H, d, C]`, times `scale`.
    private static func perHead(_ w: Value, heads: Int, prompts b: Int, scale: Float? = nil, layers l: Layers) -> Value {
        let g = l.g, inner = w.shape[0], dim = w.shape[1]
        var x = g.reshape(w, [heads, inner / heads, dim])
        if let scale { x = g.mul(x, g.constant("\(w.id).scale", Tensor(shape: [1], data: [scale]))) }
        return g.broadcast(x, to: [b, heads, inner / heads, dim])
    }

    /// `x [B, T, H·d]` → `[B, H, T, d]`.
    private static func splitHeads(_ x: Value, heads: Int, layers l: Layers) -> Value {
        let b = x.shape[0], t = x.shape[1], d = x.shape[2] / heads
        return l.g.permute(l.g.reshape(x, [b, t, heads, d]), [0, 2, 1, 3])
    }

    /// Prompt tokens `q [B, T, C]` attending to image tokens (`keysWithPE` for keys, `keys` for
    /// values, `[B, N, C]`), factored as above; the same function as `attention(q, kPE, k, ...)`.
    private static func factoredTokenToImage(_ q: Value, keysWithPE xk: Value, keys xv: Value, _ prefix: String, dim: Int,
                                             heads h: Int, rate: Int, layers l: Layers) -> Value {
        let g = l.g, inner = dim / rate, b = q.shape[0], t = q.shape[1], d = inner / h
        let qh = splitHeads(l.linear(q, "\(prefix).q_proj", dim, inner), heads: h, layers: l)           // [B, H, T, d]
        let wk = perHead(l.w.param("\(prefix).k_proj.weight", [inner, dim]), heads: h, prompts: b,
                         scale: 1 / Float(d).squareRoot(), layers: l)
        let queriesInImage = g.reshape(g.matmul(qh, wk), [b, h * t, dim], name: "\(prefix).queries_in_image")
        let probabilities = g.softmax(g.matmul(queriesInImage, xk, transposeB: true, name: "\(prefix).scores"))  // [B, H·T, N]
        let pooled = g.reshape(g.matmul(probabilities, xv, name: "\(prefix).pooled"), [b, h, t, dim])         // P_h X
        let wv = perHead(l.w.param("\(prefix).v_proj.weight", [inner, dim]), heads: h, prompts: b, layers: l)
        let bv = g.reshape(l.w.param("\(prefix).v_proj.bias", [inner]), [h, 1, d])
        let values = g.add(g.matmul(pooled, wv, transposeB: true), bv)                                         // [B, H, T, d]
        let merged = g.reshape(g.permute(values, [0, 2, 1, 3]), [b, t, inner])
        return l.linear(merged, "\(prefix).out_proj", inner, dim)
    }

    /// Image tokens `[Bi, N, C]` (with their positional encoding) attending to the prompt tokens
    /// (`tokens` for keys, `tokenValues` for values, `[B, T, C]`), factored as above.
    private static func factoredImageToToken(imageQueries xq: Value, tokens kt: Value, tokenValues vt: Value, _ prefix: String,
                                             dim: Int, heads h: Int, rate: Int, layers l: Layers) -> Value {
        let g = l.g, inner = dim / rate, b = kt.shape[0], t = kt.shape[1], n = xq.shape[1], d = inner / h
        let scale = 1 / Float(d).squareRoot()
        let kh = splitHeads(l.linear(kt, "\(prefix).k_proj", dim, inner), heads: h, layers: l)          // [B, H, T, d]
        let wq = perHead(l.w.param("\(prefix).q_proj.weight", [inner, dim]), heads: h, prompts: b, scale: scale, layers: l)
        let keysInImage = g.reshape(g.matmul(kh, wq), [b, h * t, dim], name: "\(prefix).keys_in_image")   // s·k_h W_q,h
        let bq = g.broadcast(g.mul(g.reshape(l.w.param("\(prefix).q_proj.bias", [inner]), [h, d, 1]),
                                   g.constant("\(prefix).bias_scale", Tensor(shape: [1], data: [scale]))), to: [b, h, d, 1])
        let biasScores = g.reshape(g.matmul(kh, bq), [b, 1, h * t])                                    // s·b_q,h·k_hᵀ
        let queries = xq.shape[0] == b ? xq : g.broadcast(xq, to: [b, n, dim], name: "\(prefix).image_queries_b")
        let scores = g.add(g.matmul(queries, keysInImage, transposeB: true, name: "\(prefix).scores"), biasScores)
        return output(probabilities: g.reshape(g.softmax(g.reshape(scores, [b, n, h, t])), [b, n, h * t]),
                      tokenValues: vt, prefix, dim: dim, heads: h, rate: rate, layers: l)
    }

    /// Image-to-token attention of layer 0, whose image-side query projection (`[1, N, C/r]`)
    /// is part of the image context: only the output side is factored.
    private static func factoredImageToToken(projectedImageQueries qp: Value, tokens kt: Value, tokenValues vt: Value,
                                             _ prefix: String, dim: Int, heads h: Int, rate: Int, layers l: Layers) -> Value {
        let g = l.g, inner = dim / rate, b = kt.shape[0], t = kt.shape[1], n = qp.shape[1], d = inner / h
        let scale = g.constant("\(prefix).scale", Tensor(shape: [1], data: [1 / Float(d).squareRoot()]))
        let kh = g.mul(splitHeads(l.linear(kt, "\(prefix).k_proj", dim, inner), heads: h, layers: l), scale)  // [B, H, T, d]
        var qh = g.permute(g.reshape(qp, [qp.shape[0], n, h, d]), [0, 2, 1, 3])                             // [Bi, H, N, d]
        if qp.shape[0] != b { qh = g.broadcast(qh, to: [b, h, n, d], name: "\(prefix).image_queries_b") }
        let probabilities = g.softmax(g.matmul(qh, kh, transposeB: true, name: "\(prefix).scores"))        // [B, H, N, T]
        return output(probabilities: g.reshape(g.permute(probabilities, [0, 2, 1, 3]), [b, n, h * t]),
                      tokenValues: vt, prefix, dim: dim, heads: h, rate: rate, layers: l)
    }

    /// `P [B, N, H·T]` times the tokens' values carried through the output projection:
    /// Σ_h P_h (v_h W_o,hᵀ) + b_o, `[B, N, C]`.
    private static func output(probabilities p: Value, tokenValues vt: Value, _ prefix: String, dim: Int, heads h: Int,
                               rate: Int, layers l: Layers) -> Value {
        let g = l.g, inner = dim / rate, b = vt.shape[0], t = vt.shape[1], d = inner / h
        let vh = splitHeads(l.linear(vt, "\(prefix).v_proj", dim, inner), heads: h, layers: l)           // [B, H, T, d]
        // W_o [C, H·d]: head h's columns as [d, C].
        let wo = g.broadcast(g.permute(g.reshape(l.w.param("\(prefix).out_proj.weight", [dim, inner]), [dim, h, d]), [1, 2, 0]),
                             to: [b, h, d, dim])
        let valuesOut = g.reshape(g.matmul(vh, wo), [b, h * t, dim], name: "\(prefix).values_out")
        return g.matmul(p, valuesOut, bias: l.w.param("\(prefix).out_proj.bias", [dim]), name: "\(prefix).out")
    }

    private static func twoWayTransformer(_ c: MaskDecoderConfig, queries q0: Value, context: ImageContext, prompts b: Int,
                                          keyPE: Value, factored: Bool, layers l: Layers, prefix p: String) -> (Value, Value) {
        let g = l.g, dim = c.transformerDim, eps = MaskDecoderConfig.transformerNormEps
        let queryPE = q0
        var queries = q0, keys = context.keys
        for i in 0..<c.depth {
            let lp = "\(p).layers.\(i)"
            if i == 0 {
                // skip_first_layer_pe: plain self-attention, no residual.
                queries = attention(queries, queries, queries, "\(lp).self_attn", dim: dim, heads: c.heads, rate: 1, layers: l)
            } else {
                let q = g.add(queries, queryPE)
                queries = g.add(queries, attention(q, q, queries, "\(lp).self_attn", dim: dim, heads: c.heads, rate: 1, layers: l))
            }
            queries = l.layerNorm(queries, "\(lp).norm1", dim, eps: eps)

            let rate = c.attentionDownsampleRate, inner = dim / rate
            // The image tokens with their positional encoding: both cross-attentions of a layer
            // read the same sum (the keys change only at the end of the layer).
            let keysWithPE = i == 0 ? nil : g.add(keys, keyPE, name: "\(lp).keys_pe")
            var q = g.add(queries, queryPE)
            let tokenToImage: Value
            if i == 0 {
                // The image side of layer 0 reads the image tokens only: projected once per image.
                let qp = l.linear(q, "\(lp).cross_attn_token_to_image.q_proj", dim, inner)
                tokenToImage = attention(projected: qp, perPrompt(context.tokenToImageKeys, b, layers: l, name: "\(lp).image_keys_b"),
                                         perPrompt(context.tokenToImageValues, b, layers: l, name: "\(lp).image_values_b"),
                                         "\(lp).cross_attn_token_to_image", dim: dim, heads: c.heads, rate: rate, layers: l)
            } else if factored {
                tokenToImage = factoredTokenToImage(q, keysWithPE: keysWithPE!, keys: keys, "\(lp).cross_attn_token_to_image",
                                                    dim: dim, heads: c.heads, rate: rate, layers: l)
            } else {
                tokenToImage = attention(q, keysWithPE!, keys, "\(lp).cross_attn_token_to_image", dim: dim,
                                         heads: c.heads, rate: rate, layers: l)
            }
            queries = l.layerNorm(g.add(queries, tokenToImage), "\(lp).norm2", dim, eps: eps)

            var m = l.linear(queries, "\(lp).mlp.lin1", dim, c.mlpDim, activation: .relu)
            m = l.linear(m, "\(lp).mlp.lin2", c.mlpDim, dim)
            queries = l.layerNorm(g.add(queries, m), "\(lp).norm3", dim, eps: eps)

            q = g.add(queries, queryPE)
            let imageToToken: Value
            if i == 0 && factored {
                imageToToken = factoredImageToToken(projectedImageQueries: context.imageToTokenQueries, tokens: q, tokenValues: queries,
                                                    "\(lp).cross_attn_image_to_token", dim: dim, heads: c.heads, rate: rate, layers: l)
            } else if i == 0 {
                let kp = l.linear(q, "\(lp).cross_attn_image_to_token.k_proj", dim, inner)
                let vp = l.linear(queries, "\(lp).cross_attn_image_to_token.v_proj", dim, inner)
                imageToToken = attention(projected: perPrompt(context.imageToTokenQueries, b, layers: l, name: "\(lp).image_queries_b"),
                                         kp, vp, "\(lp).cross_attn_image_to_token", dim: dim, heads: c.heads, rate: rate, layers: l)
            } else if factored {
                imageToToken = factoredImageToToken(imageQueries: keysWithPE!, tokens: q, tokenValues: queries,
                                                    "\(lp).cross_attn_image_to_token", dim: dim, heads: c.heads, rate: rate, layers: l)
            } else {
                imageToToken = attention(keysWithPE!, q, queries, "\(lp).cross_attn_image_to_token", dim: dim,
                                         heads: c.heads, rate: rate, layers: l)
            }
            // keys may be the image's [1, hw, C]: the add broadcasts it to every prompt.
            keys = l.layerNorm(g.add(keys, imageToToken), "\(lp).norm4", dim, eps: eps)
        }
        let q = g.add(queries, queryPE), k = g.add(keys, keyPE)
        let final = factored
            ? factoredTokenToImage(q, keysWithPE: k, keys: keys, "\(p).final_attn_token_to_image", dim: dim, heads: c.heads,
                                   rate: c.attentionDownsampleRate, layers: l)
            : attention(q, k, keys, "\(p).final_attn_token_to_image", dim: dim, heads: c.heads,
                        rate: c.attentionDownsampleRate, layers: l)
        queries = g.add(queries, final)
        queries = l.layerNorm(queries, "\(p).norm_final_attn", dim, eps: eps)
        return (queries, keys)
    }
}
