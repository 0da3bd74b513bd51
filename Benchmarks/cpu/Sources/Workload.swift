import CPUBackend
import Foundation
import SAMModels
import TensorRuntime

/// One timed workload: a compiled graph and its inputs.
struct Workload {
    let description: String
    let build: (CPUBackend) throws -> (CompiledGraph, [String: Tensor], Graph)

    static let all: [String: Workload] = [
        "vit-b-encoder": encoder(.samViTB, "SAM ViT-B image encoder, 1x3x1024x1024, random weights"),
        "vit-h-encoder": encoder(.samViTH, "SAM ViT-H image encoder, 1x3x1024x1024, random weights"),
        "litemedsam-encoder": encoder(.litemedsam, "LiteMedSAM TinyViT encoder, 1x3x256x256"),
        "litemedsam-decoder": Workload(description: "LiteMedSAM prompt encoder + mask decoder, one box, one mask") { backend in
            let model = try SAMModel.random(ModelKind.litemedsam.config, seed: 1)
            let variant = DecoderVariant(prompts: 1, box: true)
            let graph = try model.decoderGraph(variant)
            let compiled = try CompiledGraph(graph, backend: backend)
            let box: [Float] = [60.5 / 256, 70.5 / 256, 180.5 / 256, 200.5 / 256]
            let inputs = [
                DecoderIO.imageEmbeddings: Tensor(uniform: [1, 256, 64, 64], seed: 3),
                DecoderIO.boxCorners: Tensor(shape: [1, 2, 2], data: box),
            ]
            return (compiled, inputs, graph)
        },
    ]

    static func encoder(_ kind: ModelKind, _ text: String) -> Workload {
        Workload(description: text) { backend in
            let model = try SAMModel.random(kind.config, seed: 1)
            let graph = try model.encoderGraph(batch: 1)
            let compiled = try CompiledGraph(graph, backend: backend)
            let s = kind.config.inputSize
            return (compiled, ["image": Tensor(uniform: [1, 3, s, s], seed: 2)], graph)
        }
    }

    /// Compiles the workload and runs it once (scratch arenas, page faults), ready for `sample`.
    func prepare(on backend: CPUBackend, name: String) throws -> PreparedWorkload {
        let compileStart = Date()
        let (compiled, inputs, graph) = try build(backend)
        let compileSeconds = Date().timeIntervalSince(compileStart)
        _ = try compiled.run(inputs)
        return PreparedWorkload(name: name, description: description, compiled: compiled, inputs: inputs,
                                flops: graph.totalFlops, compileSeconds: compileSeconds)
    }
}

/// A compiled workload, timed as many times as asked (across interleaved rounds).
final class PreparedWorkload {
    let name: String
    let description: String
    let compiled: CompiledGraph
    let inputs: [String: Tensor]
    let flops: Double
    let compileSeconds: Double
    /// Every timed run so far, in seconds.
    private(set) var samples: [Double] = []
    /// PyTorch's median of each round (ms) and this side's median of the same round (s).
    var roundMedians: [(swift: Double, torchMS: Double)] = []

    init(name: String, description: String, compiled: CompiledGraph, inputs: [String: Tensor], flops: Double,
         compileSeconds: Double) {
        self.name = name
        self.description = description
        self.compiled = compiled
        self.inputs = inputs
        self.flops = flops
        self.compileSeconds = compileSeconds
    }

    /// Times `runs` runs; returns their median in seconds.
    @discardableResult
    func sample(runs: Int) throws -> Double {
        var round: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try compiled.run(inputs)
            round.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        samples += round
        return median(round)
    }

    func profile() throws -> ProfileReport? {
        _ = try compiled.run(inputs, options: RunOptions(profile: true))
        return compiled.lastProfile
    }

    func result(profile: ProfileReport?) -> WorkloadResult {
        WorkloadResult(name: name, description: description, samples: samples, flops: flops,
                       compileSeconds: compileSeconds, peakRSSBytes: ProcessMemory.peakResidentBytes(),
                       intermediateBytes: compiled.peakIntermediateBytes, profile: profile,
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
