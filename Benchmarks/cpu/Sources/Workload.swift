import CPUBackend
import Foundation
import MedicalImaging
import SAMModels
import Segmentation
import TensorRuntime

/// What a workload times: one `run()` per sample, plus what the report needs.
struct WorkloadRunner {
    var run: () throws -> Void
    /// FLOPs of one run, as the perf harness counts ops.
    var flops: Double
    /// Planned intermediate bytes of the main graph.
    var intermediateBytes: Int
    /// A profiled run of the main graph.
    var profile: () throws -> ProfileReport?
}

/// One timed workload.
struct Workload {
    let description: String
    let build: (CPUBackend) throws -> WorkloadRunner

    static let all: [String: Workload] = [
        "vit-b-encoder": encoder(.samViTB, "SAM ViT-B image encoder, 1x3x1024x1024, random weights"),
        "vit-h-encoder": encoder(.samViTH, "SAM ViT-H image encoder, 1x3x1024x1024, random weights"),
        "litemedsam-encoder": encoder(.litemedsam, "LiteMedSAM TinyViT encoder, 1x3x256x256"),
        "litemedsam-decoder": Workload(description: "LiteMedSAM prompt encoder + mask decoder graph, one box, one mask") { backend in
            let model = try SAMModel.random(ModelKind.litemedsam.config, seed: 1)
            let variant = DecoderVariant(prompts: 1, box: true)
            let graph = try model.decoderGraph(variant)
            let compiled = try CompiledGraph(graph, backend: backend)
            let box: [Float] = [60.5 / 256, 70.5 / 256, 180.5 / 256, 200.5 / 256]
            let inputs = [
                DecoderIO.imageEmbeddings: Tensor(uniform: [1, 256, 64, 64], seed: 3),
                DecoderIO.boxCorners: Tensor(shape: [1, 2, 2], data: box),
            ]
            return WorkloadRunner(compiled, inputs, graph)
        },
        "litemedsam-decode-1box": decode(boxes: 1),
        "litemedsam-decode-8box": decode(boxes: 8),
    ]

    static func encoder(_ kind: ModelKind, _ text: String) -> Workload {
        Workload(description: text) { backend in
            let model = try SAMModel.random(kind.config, seed: 1)
            let graph = try model.encoderGraph(batch: 1)
            let compiled = try CompiledGraph(graph, backend: backend)
            let s = kind.config.inputSize
            return WorkloadRunner(compiled, [EncoderIO.image: Tensor(uniform: [1, 3, s, s], seed: 2)], graph)
        }
    }

    /// `Predictor.predict` as `medsam segment` runs it on a 256 x 256 slice: prompt encoder, mask
    /// decoder (its image side computed once per image, when the slice was set) and the
    /// LiteMedSAM post-processing graph to masks at the slice's size, downloading masks and IoU.
    static func decode(boxes: Int) -> Workload {
        let text = "LiteMedSAM decode to masks on a 256x256 slice, \(boxes) box\(boxes == 1 ? "" : "es") per call"
        return Workload(description: text) { backend in
            let model = try SAMModel.random(ModelKind.litemedsam.config, seed: 1)
            let predictor = Predictor(model: model, backend: backend)
            try predictor.setImage(DecodeBenchImage.slice())
            let prompts: [ImagePrompt] = (0..<boxes).map { i -> ImagePrompt in
                let x0 = Float(30 + 9 * i), y0 = Float(40 + 5 * i), x1 = Float(150 + 7 * i), y1 = Float(200 - 3 * i)
                return ImagePrompt(box: [x0, y0, x1, y1])
            }
            _ = try predictor.predict(prompts)   // compiles the decoder variant and post-processing, computes the image side
            let (variant, _) = try model.decoderInputs(prompts: prompts.map { ModelPrompt(box: $0.box) },
                                                      embeddingShape: [1, 256, 64, 64], multimask: false,
                                                      sharesImageContext: true)
            let decoderGraph = try model.decoderGraph(variant)
            let decoder = try model.compiledDecoder(variant, on: backend)
            let transform = predictor.transform!
            let post = try Postprocessing.graph(PostprocessingKey(transform: transform, lowResShape: [boxes, 1, 256, 256],
                                                                 includesLogits: false))
            let modelPrompts = prompts.map { ModelPrompt(box: transform.box($0.box!)) }
            func profile() throws -> ProfileReport? {
                // The per-prompt decoder graph alone, with the image side computed once.
                let context = try model.imageContext(embeddings: .device(predictor.current!.embeddings), on: backend)
                let promptInputs = try model.decoderInputs(prompts: modelPrompts, embeddingShape: [1, 256, 64, 64],
                                                           multimask: false, sharesImageContext: true).1
                var inputs: [String: GraphInput] = promptInputs.mapValues { GraphInput.host($0) }
                for (name, tensor) in context.tensors { inputs[name] = .device(tensor) }
                _ = try decoder.run(inputs, options: RunOptions(profile: true))
                return decoder.lastProfile
            }
            let flops: Double = decoderGraph.totalFlops + post.totalFlops
            return WorkloadRunner(run: { _ = try predictor.predict(prompts) }, flops: flops,
                                  intermediateBytes: decoder.peakIntermediateBytes, profile: profile)
        }
    }

    /// Compiles the workload and runs it once (scratch arenas, page faults), ready for `sample`.
    func prepare(on backend: CPUBackend, name: String) throws -> PreparedWorkload {
        let compileStart = Date()
        let runner = try build(backend)
        let compileSeconds = Date().timeIntervalSince(compileStart)
        try runner.run()
        return PreparedWorkload(name: name, description: description, runner: runner, compileSeconds: compileSeconds)
    }
}

extension WorkloadRunner {
    /// One compiled graph run with host inputs.
    init(_ compiled: CompiledGraph, _ inputs: [String: Tensor], _ graph: Graph) {
        self.init(run: { _ = try compiled.run(inputs) }, flops: graph.totalFlops,
                  intermediateBytes: compiled.peakIntermediateBytes,
                  profile: {
                      _ = try compiled.run(inputs, options: RunOptions(profile: true))
                      return compiled.lastProfile
                  })
    }
}

/// The slice the decode workloads segment: the middle axial slice of nibabel's real brain MR
/// (`anatomical.nii`, in the repository's test fixtures) resampled to 256 x 256 by nearest
/// neighbour, intensities mapped as the CLI maps MR (percentiles to 0...255). Only the size
/// matters for timing; a real slice keeps the masks realistic.
enum DecodeBenchImage {
    static func slice() throws -> Image {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii")
        let volume = try NIfTIReader.read(url)
        let source = try volume.slice(.axial, volume.sliceCount(.axial) / 2)
        var pixels = [Float](repeating: 0, count: 256 * 256)
        let lo = source.pixels.min() ?? 0, hi = source.pixels.max() ?? 1
        for y in 0..<256 {
            for x in 0..<256 {
                let v = source.pixels[(y * source.height / 256) * source.width + x * source.width / 256]
                pixels[y * 256 + x] = (v - lo) / max(hi - lo, 1e-6) * 255
            }
        }
        return Image(pixels: pixels, height: 256, width: 256, channels: 1)
    }
}

/// A compiled workload, timed as many times as asked (across interleaved rounds).
final class PreparedWorkload {
    let name: String
    let description: String
    let runner: WorkloadRunner
    let compileSeconds: Double
    var flops: Double { runner.flops }
    /// Every timed run so far, in seconds.
    private(set) var samples: [Double] = []
    /// PyTorch's median of each round (ms) and this side's median of the same round (s).
    var roundMedians: [(swift: Double, torchMS: Double)] = []

    init(name: String, description: String, runner: WorkloadRunner, compileSeconds: Double) {
        self.name = name
        self.description = description
        self.runner = runner
        self.compileSeconds = compileSeconds
    }

    /// Times `runs` runs; returns their median in seconds.
    @discardableResult
    func sample(runs: Int, gapMilliseconds: Int = 0) throws -> Double {
        var round: [Double] = []
        for _ in 0..<runs {
            if gapMilliseconds > 0 { usleep(useconds_t(gapMilliseconds * 1000)) }
            let start = DispatchTime.now().uptimeNanoseconds
            try runner.run()
            round.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        samples += round
        return median(round)
    }

    func profile() throws -> ProfileReport? { try runner.profile() }

    func result(profile: ProfileReport?) -> WorkloadResult {
        WorkloadResult(name: name, description: description, samples: samples, flops: flops,
                       compileSeconds: compileSeconds, peakRSSBytes: ProcessMemory.peakResidentBytes(),
                       intermediateBytes: runner.intermediateBytes, profile: profile,
                       roundMedians: roundMedians)
    }
}

struct WorkloadResult {
    var name: String
    var description: String
    var samples: [Double]
    var flops: Double
    var compileSeconds: Double
    var peakRSSBytes: Int
    var intermediateBytes: Int
    var profile: ProfileReport?
    /// Per interleaved round: this side's median (s) and PyTorch's median (ms).
    var roundMedians: [(swift: Double, torchMS: Double)] = []

    /// Ratio to PyTorch: the median over rounds of (this round's median / PyTorch's), so a
    /// machine whose speed drifts between rounds affects both sides of each ratio alike.
    var ratio: Double? {
        roundMedians.isEmpty ? nil : CPUBench.median(roundMedians.map { $0.swift * 1e3 / $0.torchMS })
    }

    var median: Double { CPUBench.median(samples) }
    var min: Double { samples.min() ?? .nan }
    var gflops: Double { flops / median / 1e9 }
}

/// The median (the mean of the two middle values for an even count), as Python's
/// `statistics.median` computes PyTorch's side.
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    if s.isEmpty { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
