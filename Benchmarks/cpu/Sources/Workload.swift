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

    func measure(on backend: CPUBackend, runs: Int, profile: Bool) throws -> WorkloadResult {
        let compileStart = Date()
        let (compiled, inputs, graph) = try build(backend)
        let compileSeconds = Date().timeIntervalSince(compileStart)
        let flops = graph.totalFlops
        _ = try compiled.run(inputs)                      // warm-up: scratch arenas, page faults
        var samples: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try compiled.run(inputs)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        var report: ProfileReport? = nil
        if profile {
            _ = try compiled.run(inputs, options: RunOptions(profile: true))
            report = compiled.lastProfile
        }
        return WorkloadResult(name: "", description: description, samples: samples, flops: flops,
                              compileSeconds: compileSeconds, peakRSSBytes: ProcessMemory.peakResidentBytes(),
                              intermediateBytes: compiled.peakIntermediateBytes, profile: report)
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

    var median: Double { samples.sorted()[samples.count / 2] }
    var min: Double { samples.min() ?? .nan }
    var gflops: Double { flops / median / 1e9 }
}
