import Checkpoints
import TensorRuntime

/// A SAM-family model: its configuration and verified weights, and the graphs built from them.
///
/// The weights are checked once, in `init`, against the full parameter manifest (every key
/// any graph of this model reads). Graphs are then built on demand; compiled graphs are cached
/// per backend and per prompt variant.
public final class SAMModel {
    public let config: SAMModelConfig
    public let weights: any TensorSource
    private var encoderCache: [String: CompiledGraph] = [:]
    private var decoderCache: [String: CompiledGraph] = [:]
    private var imageContextCache: [String: CompiledGraph] = [:]
    /// Post-processing graphs depend on the image size, so a batch over many sizes would grow
    /// this cache without end: it keeps the most recently used `postprocessingCacheLimit`.
    private var postprocessingCache: [String: CompiledGraph] = [:]
    private var postprocessingOrder: [String] = []
    public var postprocessingCacheLimit = 16

    /// Verifies `weights` against this configuration, or throws `WeightError.mismatch` naming
    /// every missing, unexpected and mis-shaped key.
    public init(config: SAMModelConfig, weights: any TensorSource) throws {
        self.config = config
        self.weights = weights
        try WeightVerification.verify(manifest: SAMModel.manifest(config), source: weights,
                                      ignore: config.isIgnoredCheckpointKey)
    }

    /// A model of a published kind.
    public convenience init(kind: ModelKind, weights: any TensorSource) throws {
        try self.init(config: kind.config, weights: weights)
    }

    // `manifest(_:)`, `checkpointKeys(_:)` and `random(_:seed:)` are in Building/ParameterManifest.swift.

    // MARK: Graphs

    /// The image encoder: input `image` `[batch, 3, S, S]` (preprocessed), output
    /// `image_embedding` `[batch, C, h, w]`.
    public func encoderGraph(batch: Int = 1) throws -> Graph {
        let g = GraphBuilder()
        let l = Layers(g: g, w: WeightBinder(builder: g, source: weights))
        g.output(EncoderIO.imageEmbeddings, SAMModel.buildEncoder(config, batch: batch, layers: l))
        return try g.build()
    }

    /// An encoder graph from a checkpoint that holds only `image_encoder.*` weights (a distilled
    /// or exported encoder), verified against the encoder's part of the manifest.
    public static func encoderGraph(_ config: SAMModelConfig, weights: any TensorSource, batch: Int = 1) throws -> Graph {
        let manifest = SAMModel.manifest(config).filter { $0.key.hasPrefix("image_encoder.") }
        try WeightVerification.verify(manifest: manifest, source: weights, ignore: config.isIgnoredCheckpointKey)
        let g = GraphBuilder()
        let l = Layers(g: g, w: WeightBinder(builder: g, source: weights))
        g.output(EncoderIO.imageEmbeddings, buildEncoder(config, batch: batch, layers: l))
        return try g.build()
    }

    /// Prompt encoder + mask decoder for one prompt variant. Inputs and outputs are named in `DecoderIO`.
    public func decoderGraph(_ variant: DecoderVariant) throws -> Graph {
        let g = GraphBuilder()
        let l = Layers(g: g, w: WeightBinder(builder: g, source: weights))
        let out = SAMModel.buildDecoder(config, variant, layers: l)
        g.output(DecoderIO.lowResLogits, out.logits)
        g.output(DecoderIO.iouPredictions, out.iou)
        if variant.exposesPromptEmbeddings {
            if let s = out.sparse { g.output(DecoderIO.sparseEmbeddings, s) }
            g.output(DecoderIO.denseEmbeddings, out.dense)
        }
        return try g.build()
    }

    /// The decoder's prompt-independent image side (see `DecoderVariant.sharesImageContext`).
    public func imageContextGraph() throws -> Graph {
        let g = GraphBuilder()
        SAMModel.buildImageContext(config, layers: Layers(g: g, w: WeightBinder(builder: g, source: weights)))
        return try g.build()
    }

    /// The encoder compiled for `backend` (cached per backend instance and batch).
    public func compiledEncoder(on backend: any Backend, batch: Int = 1) throws -> CompiledGraph {
        let key = "\(ObjectIdentifier(backend).hashValue)/\(batch)"
        if let c = encoderCache[key] { return c }
        let c = try CompiledGraph(try encoderGraph(batch: batch), backend: backend)
        encoderCache[key] = c
        return c
    }

    /// The decoder for `variant` compiled for `backend` (cached per backend instance and variant).
    public func compiledDecoder(_ variant: DecoderVariant, on backend: any Backend) throws -> CompiledGraph {
        let key = "\(ObjectIdentifier(backend).hashValue)/\(variant)"
        if let c = decoderCache[key] { return c }
        let c = try CompiledGraph(try decoderGraph(variant), backend: backend)
        decoderCache[key] = c
        return c
    }

    /// The image-context graph compiled for `backend` (cached per backend instance).
    public func compiledImageContext(on backend: any Backend) throws -> CompiledGraph {
        let key = "\(ObjectIdentifier(backend).hashValue)"
        if let c = imageContextCache[key] { return c }
        let c = try CompiledGraph(try imageContextGraph(), backend: backend)
        imageContextCache[key] = c
        return c
    }

    /// The post-processing graph for `key` compiled for `backend` (cached, most recent first).
    public func compiledPostprocessing(_ key: PostprocessingKey, on backend: any Backend) throws -> CompiledGraph {
        let cacheKey = "\(ObjectIdentifier(backend).hashValue)/\(key)"
        postprocessingOrder.removeAll { $0 == cacheKey }
        postprocessingOrder.append(cacheKey)
        if let c = postprocessingCache[cacheKey] { return c }
        let c = try CompiledGraph(try Postprocessing.graph(key), backend: backend)
        postprocessingCache[cacheKey] = c
        while postprocessingOrder.count > max(postprocessingCacheLimit, 1) {
            postprocessingCache[postprocessingOrder.removeFirst()] = nil
        }
        return c
    }

    /// Drops every cached compiled graph (frees their device buffers).
    public func releaseCompiledGraphs() {
        encoderCache.removeAll()
        decoderCache.removeAll()
        imageContextCache.removeAll()
        postprocessingCache.removeAll()
        postprocessingOrder.removeAll()
    }

    // MARK: Running

    /// Embeds a batch of preprocessed images `[N, 3, S, S]` in one encoder run; the embeddings
    /// `[N, C, h, w]` stay on `backend`.
    public func encode(_ images: Tensor, on backend: any Backend) throws -> DeviceTensor {
        guard images.shape.rank == 4, images.shape[0] >= 1 else {
            throw BackendError.invalidArgument("the image encoder takes [N, 3, S, S] images, got \(images.shape)")
        }
        let encoder = try compiledEncoder(on: backend, batch: images.shape[0])
        let out = try encoder.run([EncoderIO.image: .host(images)], deviceOutputs: [EncoderIO.imageEmbeddings])
        guard let embeddings = out.device[EncoderIO.imageEmbeddings] else {
            throw BackendError.invalidArgument("the image encoder produced no embeddings")
        }
        return embeddings
    }

    /// The decoder's prompt-independent image side for `embeddings` `[1, C, h, w]`, kept on
    /// `backend`: compute it once per image and pass it to `decode(prompts:context:...)`.
    public func imageContext(embeddings: GraphInput, on backend: any Backend) throws -> DecoderImageContext {
        let names = [DecoderIO.imageKeys, DecoderIO.tokenToImageKeys, DecoderIO.tokenToImageValues, DecoderIO.imageToTokenQueries]
        let out = try compiledImageContext(on: backend).run([DecoderIO.imageEmbeddings: embeddings], deviceOutputs: Set(names))
        return DecoderImageContext(tensors: out.device)
    }

    /// Low-res logits `[B, M, 4h, 4w]` (host or device) → 0/1 masks `[B, M, H, W]` at the
    /// original image size, and the logits at that size when `includesLogits`, computed on
    /// `backend` by this family's post-processing graph.
    public func postprocess(lowResLogits: GraphInput, transform: ImageTransform, includesLogits: Bool,
                            on backend: any Backend) throws -> (masks: Tensor, logits: Tensor?) {
        let key = PostprocessingKey(transform: transform, lowResShape: lowResLogits.shape, includesLogits: includesLogits)
        let out = try compiledPostprocessing(key, on: backend).run([Postprocessing.lowResLogits: lowResLogits]).host
        guard let masks = out[Postprocessing.masks] else {
            throw BackendError.invalidArgument("the post-processing graph produced no masks")
        }
        return (masks, out[Postprocessing.logits])
    }

    // MARK: Builders

    static func buildEncoder(_ config: SAMModelConfig, batch: Int, layers l: Layers) -> Value {
        let s = config.inputSize
        let image = l.g.input(EncoderIO.image, [batch, 3, s, s])
        switch config.encoder {
        case .vit(let c): return ViTEncoderGraph.build(c, input: image, layers: l)
        case .tinyViT(let c): return TinyViTEncoderGraph.build(c, input: image, layers: l)
        }
    }

    static func buildDecoder(_ config: SAMModelConfig, _ v: DecoderVariant, layers l: Layers)
        -> (logits: Value, iou: Value, sparse: Value?, dense: Value) {
        let pc = config.promptEncoder, md = config.maskDecoder
        let prompts = PromptEncoderGraph.build(pc, v, layers: l)
        let keyPE = MaskDecoderGraph.keyPE(PromptEncoderGraph.denseEmbeddingPE(pc, layers: l), layers: l)
        let context: MaskDecoderGraph.ImageContext
        if v.sharesImageContext {
            let hw = pc.embeddingHeight * pc.embeddingWidth, inner = md.transformerDim / md.attentionDownsampleRate
            context = MaskDecoderGraph.ImageContext(
                keys: l.g.input(DecoderIO.imageKeys, [1, hw, md.transformerDim]),
                tokenToImageKeys: l.g.input(DecoderIO.tokenToImageKeys, [1, hw, inner]),
                tokenToImageValues: l.g.input(DecoderIO.tokenToImageValues, [1, hw, inner]),
                imageToTokenQueries: l.g.input(DecoderIO.imageToTokenQueries, [1, hw, inner]))
        } else {
            let embeddings = l.g.input(DecoderIO.imageEmbeddings,
                                       [v.images, config.encoder.embeddingChannels, pc.embeddingHeight, pc.embeddingWidth])
            // Without a mask input the dense prompt is one vector at every pixel: added to the
            // image (batch 1 or B) once, not to a copy per prompt.
            let src = v.maskInput ? l.g.add(embeddings, prompts.dense, name: "mask_decoder.src")
                                  : l.g.add(embeddings, PromptEncoderGraph.noMaskEmbedding(pc, layers: l), name: "mask_decoder.src")
            context = MaskDecoderGraph.imageContext(md, src: src, keyPE: keyPE, layers: l)
        }
        let out = MaskDecoderGraph.build(md, context: context, prompts: v.prompts, sparse: prompts.sparse, keyPE: keyPE,
                                         height: pc.embeddingHeight, width: pc.embeddingWidth, multimask: v.multimask,
                                         factoredAttention: v.factoredAttention, layers: l)
        return (out.logits, out.iou, prompts.sparse, prompts.dense)
    }

    /// The prompt-independent image side of the decoder (no mask input), from one embedding
    /// `[1, C, h, w]`: its outputs are the inputs of every `sharesImageContext` decoder variant.
    static func buildImageContext(_ config: SAMModelConfig, layers l: Layers) {
        let pc = config.promptEncoder
        let embeddings = l.g.input(DecoderIO.imageEmbeddings,
                                   [1, config.encoder.embeddingChannels, pc.embeddingHeight, pc.embeddingWidth])
        let src = l.g.add(embeddings, PromptEncoderGraph.noMaskEmbedding(pc, layers: l), name: "mask_decoder.src")
        let keyPE = MaskDecoderGraph.keyPE(PromptEncoderGraph.denseEmbeddingPE(pc, layers: l), layers: l)
        let context = MaskDecoderGraph.imageContext(config.maskDecoder, src: src, keyPE: keyPE, layers: l)
        l.g.output(DecoderIO.imageKeys, context.keys)
        l.g.output(DecoderIO.tokenToImageKeys, context.tokenToImageKeys)
        l.g.output(DecoderIO.tokenToImageValues, context.tokenToImageValues)
        l.g.output(DecoderIO.imageToTokenQueries, context.imageToTokenQueries)
    }
}
