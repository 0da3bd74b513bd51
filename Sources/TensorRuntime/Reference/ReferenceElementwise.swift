import Foundation

/// Elementwise ops of the reference backend, evaluated in float64.
enum ReferenceElementwise {
    static func unary(_ a: Activation, _ x: Tensor) -> Tensor {
        Tensor(shape: x.shape, data: x.data.map { Float(a.apply(Double($0))) })
    }

    static func binary(_ kind: BinaryKind, _ x: Tensor, _ y: Tensor, out shape: Shape) -> Tensor {
        let xOffsets = RefIndex.offsets(shape, strides: RefIndex.broadcastStrides(of: x.shape, to: shape))
        let yOffsets = RefIndex.offsets(shape, strides: RefIndex.broadcastStrides(of: y.shape, to: shape))
        var out = [Float](repeating: 0, count: shape.count)
        for i in 0..<shape.count {
            let a = Double(x.data[xOffsets[i]]), b = Double(y.data[yOffsets[i]])
            switch kind {
            case .add: out[i] = Float(a + b)
            case .mul: out[i] = Float(a * b)
            case .greater: out[i] = a > b ? 1 : 0
            }
        }
        return Tensor(shape: shape, data: out)
    }

    static func broadcast(_ x: Tensor, to shape: Shape) -> Tensor {
        var out = [Float](repeating: 0, count: shape.count)
        RefIndex.forEach(shape, strides: RefIndex.broadcastStrides(of: x.shape, to: shape)) { flat, off in
            out[flat] = x.data[off]
        }
        return Tensor(shape: shape, data: out)
    }

    /// concat(sin(p), cos(p)) with p = 2π·((2·coords − 1)·G), coords `[..., 2]`, G `[2, F]`.
    static func fourierFeatures(_ coords: Tensor, _ g: Tensor, out shape: Shape) -> Tensor {
        let f = g.shape[1]
        let points = coords.count / 2
        var out = [Float](repeating: 0, count: shape.count)
        for i in 0..<points {
            let x = 2 * Double(coords.data[2 * i]) - 1
            let y = 2 * Double(coords.data[2 * i + 1]) - 1
            for j in 0..<f {
                let p = 2 * Double.pi * (x * Double(g.data[j]) + y * Double(g.data[f + j]))
                out[i * 2 * f + j] = Float(sin(p))
                out[i * 2 * f + f + j] = Float(cos(p))
            }
        }
        return Tensor(shape: shape, data: out)
    }
}
