import CPUBackend
import Foundation
import TensorRuntime

/// Times single ops at SAM's real shapes (the `full` parity cases beyond `quick`) on the cpu
/// backend alone: no reference run, so it is quick enough to profile kernels with.
enum OpBench {
    static func run(backend: CPUBackend, filter: String?) throws {
        let quick = Set(ParityCase.standard(.quick).map(\.name))
        let cases = ParityCase.standard(.full).filter { !quick.contains($0.name) }
            .filter { c in filter.map { c.name.contains($0) || c.op.name.contains($0) } ?? true }
        print(Report.col("case", 38) + Report.col("ms", 10, right: true) + Report.col("GFLOP/s", 9, right: true)
              + Report.col("GB/s", 8, right: true))
        for c in cases {
            let inputs = try c.inputShapes.enumerated().map { i, s in try backend.makeTensor(Tensor(uniform: s, seed: UInt64(i) + 1)) }
            let shape = try c.op.outputShape(inputs: c.inputShapes)
            let out = TensorRef(buffer: try backend.allocate(elementCount: shape.count), shape: shape)
            try backend.encode(c.op, inputs: inputs, output: out)
            var samples: [Double] = []
            let deadline = Date().addingTimeInterval(1)
            repeat {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try backend.encode(c.op, inputs: inputs, output: out)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            } while samples.count < 3 || (Date() < deadline && samples.count < 30)
            let t = median(samples)
            let flops = c.op.flops(inputs: c.inputShapes, output: shape)
            let bytes = Double(4 * (c.inputShapes.reduce(0) { $0 + $1.count } + shape.count))
            print(Report.col(c.name, 38) + String(format: " %10.3f %9.1f %8.2f", t * 1e3, flops / t / 1e9, bytes / t / 1e9))
        }
    }
}
