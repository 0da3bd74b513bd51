import TensorRuntime

/// A click in the model input frame (already transformed from the original image).
public struct ModelPoint: Sendable, Equatable {
    public var x: Float
    public var y: Float
    /// 1 foreground, 0 background, −1 padding / not a point; other values get the positional
    /// encoding only (as in `PromptEncoder._embed_points`).
    public var label: Int
    public init(x: Float, y: Float, label: Int) { self.x = x; self.y = y; self.label = label }
}

/// One prompt: points and/or a box (XYXY) in the model input frame, and an optional
/// low-res mask input `[1, 4h, 4w]` (logits from an earlier prediction).
public struct ModelPrompt: Sendable, Equatable {
    public var points: [ModelPoint]
    public var box: [Float]?
    public var maskInput: Tensor?
    public init(points: [ModelPoint] = [], box: [Float]? = nil, maskInput: Tensor? = nil) {
        self.points = points
        self.box = box
        self.maskInput = maskInput
    }
}

/// Errors in prompts given to the decoder.
public enum PromptError: Error, CustomStringConvertible, Equatable {
    case empty
    case inconsistent(String)
    case badBox([Float])
    case maskShape(expected: Shape, got: Shape)
    case embeddingShape(expected: String, got: Shape)

    public var description: String {
        switch self {
        case .empty: return "no prompts given"
        case .inconsistent(let m): return "prompts of one batch must have the same form: \(m)"
        case .badBox(let b): return "a box needs 4 finite values x0, y0, x1, y1, got \(b)"
        case .maskShape(let e, let g): return "mask input has shape \(g), expected \(e)"
        case .embeddingShape(let e, let g):
            return "image embeddings have shape \(g), expected \(e) for this model"
        }
    }
}

extension SAMModel {
    /// The decoder variant and the prompt inputs of its graph for a batch of prompts against
    /// embeddings of shape `embeddingShape` (`[1 or B, C, h, w]`; the embeddings themselves are
    /// bound by the caller, from the host or the device). Every prompt in a batch must have the
    /// same number of points and either all or none a box / mask input (the graph shape depends
    /// on them).
    public func decoderInputs(prompts: [ModelPrompt], embeddingShape: Shape, multimask: Bool,
                              exposesPromptEmbeddings: Bool = false,
                              sharesImageContext: Bool = false) throws -> (DecoderVariant, [String: Tensor]) {
        guard let first = prompts.first else { throw PromptError.empty }
        let b = prompts.count
        let n = first.points.count, hasBox = first.box != nil, hasMask = first.maskInput != nil
        for p in prompts {
            guard p.points.count == n else { throw PromptError.inconsistent("\(p.points.count) points vs \(n)") }
            guard (p.box != nil) == hasBox else { throw PromptError.inconsistent("box in some prompts only") }
            guard (p.maskInput != nil) == hasMask else { throw PromptError.inconsistent("mask input in some prompts only") }
            if let box = p.box, box.count != 4 || !box.allSatisfy(\.isFinite) { throw PromptError.badBox(box) }
        }
        let pc = config.promptEncoder
        let expected: Shape = [embeddingShape.dims.first ?? 0, config.encoder.embeddingChannels, pc.embeddingHeight, pc.embeddingWidth]
        guard embeddingShape == expected, expected[0] == 1 || expected[0] == b else {
            let images = b == 1 ? "1" : "1 or \(b)"
            throw PromptError.embeddingShape(expected: "[\(images),\(expected[1]),\(expected[2]),\(expected[3])]",
                                             got: embeddingShape)
        }
        let v = DecoderVariant(prompts: b, points: n, box: hasBox, maskInput: hasMask, images: embeddingShape[0],
                               multimask: multimask, exposesPromptEmbeddings: exposesPromptEmbeddings,
                               sharesImageContext: sharesImageContext && !hasMask && embeddingShape[0] == 1)
        // (c + 0.5) / size, computed in float64 and rounded once (PyTorch does this in float32
        // for float32 coordinates; the difference is below float32 resolution in almost all cases).
        func norm(_ x: Float, _ size: Int) -> Float { Float((Double(x) + 0.5) / Double(size)) }
        var inputs: [String: Tensor] = [:]
        if v.pointTokens > 0 {
            let t = v.pointTokens
            var coords = [Float](repeating: 0, count: b * t * 2)
            var keep = [Float](repeating: 0, count: b * t)
            var onehot = [Float](repeating: 0, count: b * t * 3)
            for (i, p) in prompts.enumerated() {
                var pts = p.points
                if !hasBox { pts.append(ModelPoint(x: 0, y: 0, label: -1)) }   // the padding point
                for (j, pt) in pts.enumerated() {
                    let k = i * t + j
                    coords[2 * k] = norm(pt.x, pc.inputWidth)
                    coords[2 * k + 1] = norm(pt.y, pc.inputHeight)
                    keep[k] = pt.label == -1 ? 0 : 1
                    if (-1...1).contains(pt.label) { onehot[3 * k + pt.label + 1] = 1 }
                }
            }
            inputs[DecoderIO.pointCoords] = Tensor(shape: [b, t, 2], data: coords)
            inputs[DecoderIO.pointKeep] = Tensor(shape: [b, t, 1], data: keep)
            inputs[DecoderIO.pointLabels] = Tensor(shape: [b, t, 3], data: onehot)
        }
        if hasBox {
            var corners = [Float]()
            for p in prompts {
                let box = p.box!
                corners += [norm(box[0], pc.inputWidth), norm(box[1], pc.inputHeight),
                            norm(box[2], pc.inputWidth), norm(box[3], pc.inputHeight)]
            }
            inputs[DecoderIO.boxCorners] = Tensor(shape: [b, 2, 2], data: corners)
        }
        if hasMask {
            let expected: Shape = [1, pc.maskInputHeight, pc.maskInputWidth]
            var data = [Float]()
            for p in prompts {
                let m = p.maskInput!
                guard m.shape == expected || m.shape == Shape([1] + expected.dims) else {
                    throw PromptError.maskShape(expected: expected, got: m.shape)
                }
                data += m.data
            }
            inputs[DecoderIO.maskInput] = Tensor(shape: [b, 1, pc.maskInputHeight, pc.maskInputWidth], data: data)
        }
        return (v, inputs)
    }

    /// Runs prompt encoder + mask decoder for `prompts` against `embeddings` (host or device)
    /// on `backend` (compiled graph cached per variant). The outputs named in `deviceOutputs`
    /// stay on the device (e.g. low-res logits handed to the post-processing graph).
    public func decode(prompts: [ModelPrompt], embeddings: GraphInput, multimask: Bool, on backend: any Backend,
                       exposesPromptEmbeddings: Bool = false, deviceOutputs: Set<String> = []) throws -> GraphOutputs {
        let (variant, prompt) = try decoderInputs(prompts: prompts, embeddingShape: embeddings.shape, multimask: multimask,
                                                  exposesPromptEmbeddings: exposesPromptEmbeddings)
        var inputs = prompt.mapValues { GraphInput.host($0) }
        inputs[DecoderIO.imageEmbeddings] = embeddings
        return try compiledDecoder(variant, on: backend).run(inputs, deviceOutputs: deviceOutputs)
    }

    /// Runs prompt encoder + mask decoder for `prompts` against one image whose decoder image
    /// context was computed earlier (`imageContext(embeddings:on:)`): the prompt-independent part
    /// of the decoder is not recomputed. Prompts with a mask input change the image side, so
    /// they need the embeddings themselves (`decode(prompts:embeddings:...)`).
    public func decode(prompts: [ModelPrompt], context: DecoderImageContext, multimask: Bool, on backend: any Backend,
                       deviceOutputs: Set<String> = []) throws -> GraphOutputs {
        let pc = config.promptEncoder
        let shape: Shape = [1, config.encoder.embeddingChannels, pc.embeddingHeight, pc.embeddingWidth]
        let (variant, prompt) = try decoderInputs(prompts: prompts, embeddingShape: shape, multimask: multimask,
                                                  sharesImageContext: true)
        guard variant.sharesImageContext else { throw PromptError.inconsistent("a mask input needs the image embeddings") }
        var inputs = prompt.mapValues { GraphInput.host($0) }
        for (name, tensor) in context.tensors { inputs[name] = .device(tensor) }
        return try compiledDecoder(variant, on: backend).run(inputs, deviceOutputs: deviceOutputs)
    }

    /// Runs prompt encoder + mask decoder with host embeddings and host outputs (tests, checks).
    public func decode(prompts: [ModelPrompt], embeddings: Tensor, multimask: Bool, on backend: any Backend,
                       exposesPromptEmbeddings: Bool = false) throws -> [String: Tensor] {
        try decode(prompts: prompts, embeddings: .host(embeddings), multimask: multimask, on: backend,
                   exposesPromptEmbeddings: exposesPromptEmbeddings).host
    }
}

/// The mask decoder's prompt-independent image side for one image (the image tokens and their
/// layer-0 projections, without mask input), on the backend that computed it.
public struct DecoderImageContext {
    /// By `DecoderIO` name: `imageKeys`, `tokenToImageKeys`, `tokenToImageValues`, `imageToTokenQueries`.
    public var tensors: [String: DeviceTensor]

    public init(tensors: [String: DeviceTensor]) {
        self.tensors = tensors
    }
}
