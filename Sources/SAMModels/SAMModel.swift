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
        g.output(DecoderIO.imageEmbedding, SAMModel.buildEncoder(config, batch: batch, layers: l))
        return try g.build()
    }

    /// An encoder graph from a checkpoint that holds only `image_encoder.*` weights (a distilled
    /// or exported encoder), verified against the encoder's part of the manifest.
    public static func encoderGraph(_ config: SAMModelConfig, weights: any TensorSource, batch: Int = 1) throws -> Graph {
        let manifest = SAMModel.manifest(config).filter { $0.key.hasPrefix("image_encoder.") }
        try WeightVerification.verify(manifest: manifest, source: weights, ignore: config.isIgnoredCheckpointKey)
        let g = GraphBuilder()
        let l = Layers(g: g, w: WeightBinder(builder: g, source: weights))
        g.output(DecoderIO.imageEmbedding, buildEncoder(config, batch: batch, layers: l))
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

    /// Drops every cached compiled graph (frees their device buffers).
    public func releaseCompiledGraphs() {
        encoderCache.removeAll()
        decoderCache.removeAll()
    }

    // MARK: Builders

    static func buildEncoder(_ config: SAMModelConfig, batch: Int, layers l: Layers) -> Value {
        let s = config.inputSize
        let image = l.g.input("image", [batch, 3, s, s])
        switch config.encoder {
        case .vit(let c): return ViTEncoderGraph.build(c, input: image, layers: l)
        case .tinyViT(let c): return TinyViTEncoderGraph.build(c, input: image, layers: l)
        }
    }

    static func buildDecoder(_ config: SAMModelConfig, _ v: DecoderVariant, layers l: Layers)
        -> (logits: Value, iou: Value, sparse: Value?, dense: Value) {
        let pc = config.promptEncoder
        let embeddings = l.g.input(DecoderIO.imageEmbeddings,
                                   [v.images, config.encoder.embeddingChannels, pc.embeddingHeight, pc.embeddingWidth])
        let prompts = PromptEncoderGraph.build(pc, v, layers: l)
        let pe = PromptEncoderGraph.denseEmbeddingPE(pc, layers: l)
        let out = MaskDecoderGraph.build(config.maskDecoder, embeddings: embeddings, sparse: prompts.sparse,
                                         dense: prompts.dense, densePE: pe, multimask: v.multimask, layers: l)
        return (out.logits, out.iou, prompts.sparse, prompts.dense)
    }
}
