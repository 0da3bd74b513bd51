import TensorRuntime

extension SAMModel {
    /// A model with seeded random weights (benchmarks, planning, tests).
    public static func random(_ config: SAMModelConfig, seed: UInt64 = 0) throws -> SAMModel {
        try SAMModel(config: config, weights: RandomWeights(manifest: manifest(config), seed: seed))
    }

    /// Every parameter (checkpoint key and shape) this model's graphs read, in declaration order.
    /// Built by recording the encoder and the largest decoder variants without loading anything.
    public static func manifest(_ config: SAMModelConfig) -> [(key: String, shape: Shape)] {
        recordWeights(config).manifest
    }

    /// Every tensor a published checkpoint of this configuration holds, in declaration order:
    /// the manifest plus what the PyTorch modules store but inference never reads (BatchNorm
    /// counters, MobileSAM's classifier head). Derived from the same recording as `manifest`,
    /// so the graphs are the one description of a model's weights.
    public static func checkpointKeys(_ config: SAMModelConfig) -> [(key: String, shape: Shape)] {
        recordWeights(config).checkpointKeys
    }

    /// Records the encoder and the decoder variants that between them read every parameter:
    /// with and without a mask input (the latter reads `no_mask_embed`), single and multimask.
    private static func recordWeights(_ config: SAMModelConfig)
        -> (manifest: [(key: String, shape: Shape)], checkpointKeys: [(key: String, shape: Shape)]) {
        var manifest: [(key: String, shape: Shape)] = []
        var stored: [(key: String, shape: Shape)] = []
        var seenParameters: Set<String> = []
        var seenStored: Set<String> = []
        func record(_ body: (Layers) -> Void) {
            let g = GraphBuilder()
            let binder = WeightBinder(builder: g, source: nil)
            body(Layers(g: g, w: binder))
            for d in binder.declared where seenParameters.insert(d.key).inserted { manifest.append(d) }
            for d in binder.checkpointKeys where seenStored.insert(d.key).inserted { stored.append(d) }
        }
        record { l in _ = buildEncoder(config, batch: 1, layers: l) }
        for maskInput in [true, false] {
            for multimask in [false, true] {
                record { l in
                    // Unfactored attention: it reads every projection weight and bias, as
                    // checkpoints store them (the factored form skips biases softmax ignores).
                    _ = buildDecoder(config, DecoderVariant(prompts: 1, points: 1, box: true, maskInput: maskInput,
                                                            multimask: multimask, factoredAttention: false), layers: l)
                }
            }
        }
        return (manifest, stored)
    }
}
