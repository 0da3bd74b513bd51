import ArgumentParser
import Foundation
import SAMModels
import Segmentation
import TensorRuntime

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the image encoder, the prompt encoder + mask decoder, or both.")

    enum Workload: String, ExpressibleByArgument, CaseIterable { case encoder, decoder, pipeline }

    @Argument(help: "encoder, decoder or pipeline.")
    var workload: Workload

    @Option(help: "Model name.")
    var model: String = ModelKind.default.rawValue

    @Option(help: "Checkpoint to load (default model: the cached LiteMedSAM weights).")
    var checkpoint: String?

    @Flag(help: "Use seeded random weights instead of a checkpoint.")
    var randomWeights = false

    @OptionGroup var backendOptions: BackendOptions

    @Option(help: "Images per encoder call (encoder, pipeline) or box prompts per decoder call (decoder).")
    var batch: Int = 1

    @Option(help: "Timed runs (after one warm-up run).")
    var runs: Int = 5

    @Flag(help: "Print the per-op profile of one extra run (encoder, or decoder).")
    var profile = false

    @Flag(help: "Decoder: --batch single-point prompts against the image's decoder context, as `medsam everything` decodes one batch of its grid (default: box prompts against the embeddings).")
    var points = false

    @Flag(help: "Decoder with --points: three masks per point, as the reference generator asks (default: one).")
    var multimask = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Encoder: upload the image and download the embeddings in every timed run (default: both stay on the device, as `medsam batch` keeps them).")
    var hostIO = false

    func run() throws {
        guard batch >= 1, runs >= 1 else { throw CLIError("--batch and --runs must be at least 1") }
        if (points || multimask) && workload != .decoder { throw CLIError("--points and --multimask time the decoder workload only") }
        if multimask && !points { throw CLIError("--multimask needs --points") }
        let kind = try ModelLoader.kind(named: model)
        let sam: SAMModel
        if randomWeights {
            sam = try SAMModel.random(kind.config, seed: 1)
        } else {
            sam = try ModelLoader.load(requested: kind, checkpoint: checkpoint).model
        }
        let backend = try backendOptions.makeBackend()
        let s = sam.config.inputSize
        let emb = sam.config.promptEncoder
        let encoderGraph = workload == .decoder ? nil : try sam.encoderGraph(batch: batch)
        let encoder = try encoderGraph.map { try CompiledGraph($0, backend: backend) }
        let image = Tensor(uniform: [batch, 3, s, s], in: 0...1, seed: 3)
        let embeddings = Tensor(uniform: [1, sam.config.encoder.embeddingChannels, emb.embeddingHeight, emb.embeddingWidth],
                                in: -0.5...0.5, seed: 4)
        let side = Float(emb.inputWidth)
        // The pipeline's images are the encoder's input size (no padding to crop).
        let transform = ImageTransform(family: sam.config.preprocessing, originalHeight: s, originalWidth: s, inputSize: s)
        let prompts = (0..<batch).map { (i: Int) -> ModelPrompt in
            if points {
                // A grid of points over the input, one prompt each (label 1), as Everything mode's.
                let x: Float = side * (Float(i % 8) + 0.5) / 8, y: Float = side * (Float(i / 8 % 8) + 0.5) / 8
                return ModelPrompt(points: [ModelPoint(x: x, y: y, label: 1)])
            }
            return ModelPrompt(box: [side * 0.2 + Float(i), side * 0.25, side * 0.7, side * 0.8 - Float(i % 7)])
        }
        // Everything mode's decoder runs read the image context, computed once per image.
        let context = points ? try sam.imageContext(embeddings: .host(embeddings), on: backend) : nil

        // The image is uploaded once; runs read it in place and leave the embeddings on the device.
        let deviceImage = workload == .encoder && !hostIO ? try DeviceTensor.upload(image, to: backend) : nil
        let encoderOutputs = Set(encoderGraph?.outputs.map(\.name) ?? [])

        func once() throws {
            switch workload {
            case .encoder:
                if let deviceImage {
                    _ = try encoder!.run([EncoderIO.image: .device(deviceImage)], deviceOutputs: encoderOutputs)
                    try backend.synchronize()
                } else {
                    _ = try encoder!.run([EncoderIO.image: image])
                }
            case .decoder:
                if let context {
                    // The logits stay on the device, the IoUs come back (as the generator runs it).
                    _ = try sam.decode(prompts: prompts, context: context, multimask: multimask, on: backend,
                                       deviceOutputs: [DecoderIO.lowResLogits])
                } else {
                    _ = try sam.decode(prompts: prompts, embeddings: embeddings, multimask: false, on: backend)
                }
            case .pipeline:
                // As `medsam segment` runs it: embeddings stay on the device, post-processing to
                // masks at the image size runs there too, and only masks and IoU come back.
                let e = try sam.encode(image, on: backend)
                for b in 0..<batch {
                    let decoded = try sam.decode(prompts: [prompts[b]], embeddings: .device(batch == 1 ? e : try e.item(b)),
                                                 multimask: false, on: backend, deviceOutputs: [DecoderIO.lowResLogits])
                    _ = try sam.postprocess(lowResLogits: .device(decoded.device[DecoderIO.lowResLogits]!), transform: transform,
                                            includesLogits: false, on: backend)
                }
            }
        }
        try once()   // warm-up: kernel builds, weight packing, caches
        var times: [Double] = []
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try once()
            times.append(millisecondsSince(t0))
        }
        times.sort()
        let median = times[times.count / 2]
        let images = workload == .decoder ? 1 : batch
        var flops = 0.0
        flops += encoderGraph?.totalFlops ?? 0
        if workload != .encoder {
            let (variant, _) = try sam.decoderInputs(prompts: [prompts[0]], embeddingShape: embeddings.shape, multimask: false)
            flops += (try sam.decoderGraph(variant)).totalFlops * Double(workload == .decoder ? 1 : batch)
        }
        var profileTable: String?
        if profile, let encoder {
            _ = try encoder.run([EncoderIO.image: image], options: RunOptions(profile: true))
            profileTable = encoder.lastProfile?.table()
        } else if profile, workload == .decoder {
            let embeddingShape: Shape = [1, sam.config.encoder.embeddingChannels, emb.embeddingHeight, emb.embeddingWidth]
            let (variant, promptInputs) = try sam.decoderInputs(prompts: prompts, embeddingShape: embeddingShape, multimask: multimask,
                                                                sharesImageContext: context != nil)
            var inputs: [String: GraphInput] = promptInputs.mapValues { GraphInput.host($0) }
            if let context {
                for (name, t) in context.tensors { inputs[name] = GraphInput.device(t) }
            } else {
                inputs[DecoderIO.imageEmbeddings] = GraphInput.host(embeddings)
            }
            let decoder = try sam.compiledDecoder(variant, on: backend)
            _ = try decoder.run(inputs, deviceOutputs: context != nil ? [DecoderIO.lowResLogits] : [], options: RunOptions(profile: true))
            profileTable = decoder.lastProfile.map { $0.table() + "\n" + $0.nodeTable() }
        }
        let result = BenchResult(model: kind.rawValue, workload: workload.rawValue, backend: backend.info.backend,
                                 device: backend.info.name, batch: batch, runs: runs, median_ms: median,
                                 min_ms: times[0], images_per_s: Double(images) / (median / 1e3),
                                 peak_rss_mb: Double(ProcessMemory.peakResidentBytes()) / 1_048_576,
                                 gflops: flops / (median / 1e3) / 1e9,
                                 planned_peak_mb: encoder.map { Double($0.peakIntermediateBytes) / 1_048_576 },
                                 device_resident: deviceImage != nil)
        if json {
            try printJSON(result)
        } else {
            print(String(format: "%@ %@ on %@ (%@): batch %d, median %.1f ms, min %.1f ms, %.2f images/s, %.1f GFLOP/s, peak RSS %.0f MB",
                         kind.rawValue as NSString, workload.rawValue as NSString, backend.info.backend as NSString,
                         backend.info.name as NSString, batch, median, times[0], result.images_per_s, result.gflops, result.peak_rss_mb))
            if let p = profileTable { print(p) }
        }
    }
}

struct BenchResult: Codable {
    var model: String
    var workload: String
    var backend: String
    var device: String
    var batch: Int
    var runs: Int
    var median_ms: Double
    var min_ms: Double
    var images_per_s: Double
    var peak_rss_mb: Double
    /// Effective GFLOP/s of one timed run (encoder and decoder graphs counted as the harness counts ops).
    var gflops: Double
    var planned_peak_mb: Double?
    /// Encoder runs read a device-resident image and keep the embeddings on the device.
    var device_resident: Bool = false
}
