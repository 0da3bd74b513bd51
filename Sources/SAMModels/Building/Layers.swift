import TensorRuntime

/// PyTorch modules expressed as graph ops, with weights bound by checkpoint key.
struct Layers {
    let g: GraphBuilder
    let w: WeightBinder

    /// `nn.Linear(inDim, outDim)` under `prefix` (`.weight [out, in]`, `.bias [out]`).
    func linear(_ x: Value, _ prefix: String, _ inDim: Int, _ outDim: Int, bias: Bool = true,
                activation: Activation = .none) -> Value {
        let weight = w.param("\(prefix).weight", [outDim, inDim])
        let b = bias ? w.param("\(prefix).bias", [outDim]) : nil
        return g.linear(x, weight: weight, bias: b, activation: activation, name: prefix)
    }

    /// `nn.LayerNorm(dim)` (axis `.last`) or SAM's `LayerNorm2d(dim)` (axis `.channels`).
    func layerNorm(_ x: Value, _ prefix: String, _ dim: Int, eps: Float, axis: NormAxis = .last) -> Value {
        g.layerNorm(x, weight: w.param("\(prefix).weight", [dim]), bias: w.param("\(prefix).bias", [dim]),
                    axis: axis, eps: eps, name: prefix)
    }

    /// `nn.Conv2d` under `prefix` on NCHW.
    func conv(_ x: Value, _ prefix: String, _ inC: Int, _ outC: Int, kernel: Int, stride: Int = 1,
              padding: Int = 0, groups: Int = 1, bias: Bool, activation: Activation = .none) -> Value {
        let weight = w.param("\(prefix).weight", [outC, inC / groups, kernel, kernel])
        let b = bias ? w.param("\(prefix).bias", [outC]) : nil
        return g.conv2d(x, weight: weight, bias: b, stride: stride, padding: padding, groups: groups,
                        activation: activation, name: prefix)
    }

    /// TinyViT's `Conv2d_BN` with the BatchNorm folded in, optionally followed by an activation.
    func convBN(_ x: Value, _ prefix: String, _ inC: Int, _ outC: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, groups: Int = 1, activation: Activation = .none) -> Value {
        let (weight, bias) = w.convBN(prefix, outChannels: outC, inPerGroup: inC / groups, kernel: kernel)
        return g.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, groups: groups,
                        activation: activation, name: prefix)
    }

    /// `[B, C, H, W]` → `[B, H, W, C]`.
    func toChannelsLast(_ x: Value) -> Value { g.permute(x, [0, 2, 3, 1]) }
    /// `[B, H, W, C]` → `[B, C, H, W]`.
    func toChannelsFirst(_ x: Value) -> Value { g.permute(x, [0, 3, 1, 2]) }

    /// SAM's neck: 1×1 conv (no bias) → LayerNorm2d → 3×3 conv (no bias) → LayerNorm2d, eps 1e-6.
    func neck(_ x: Value, _ prefix: String, _ inC: Int, _ outC: Int) -> Value {
        var h = conv(x, "\(prefix).0", inC, outC, kernel: 1, bias: false)
        h = layerNorm(h, "\(prefix).1", outC, eps: 1e-6, axis: .channels)
        h = conv(h, "\(prefix).2", outC, outC, kernel: 3, padding: 1, bias: false)
        return layerNorm(h, "\(prefix).3", outC, eps: 1e-6, axis: .channels)
    }
}
