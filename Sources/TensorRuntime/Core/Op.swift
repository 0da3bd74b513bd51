/// Activation applied elementwise, alone (`Op.unary`) or as a GEMM/conv epilogue.
public enum Activation: String, Sendable, Codable, CaseIterable {
    case none
    case relu
    /// Exact GELU, 0.5·x·(1 + erf(x/√2)), as `torch.nn.GELU()` computes it by default.
    case gelu
    case sigmoid
}

/// Elementwise binary operations with NumPy/PyTorch broadcasting.
public enum BinaryKind: String, Sendable, Codable, CaseIterable {
    case add
    case mul
    /// 1 where a > b, else 0 (NaN compares false): masks from logits and a threshold.
    case greater
}

/// Which axis a layer norm normalises over.
public enum NormAxis: String, Sendable, Codable {
    /// `nn.LayerNorm(C)` on `[..., C]`.
    case last
    /// SAM's `LayerNorm2d` on `[B, C, H, W]`: normalise over C at each pixel.
    case channels
}

/// Where q, k and v live in the attention op's inputs.
///
/// In every layout, within one head the `headDim` channels are contiguous and heads are
/// addressed by `head * headStride`; the output always has channel `head * headDim + c`.
public enum QKVLayout: String, Sendable, Codable {
    /// Three inputs `q [B, Nq, H·hd]`, `k [B, Nk, H·hd]`, `v [B, Nk, H·hd]`, channel `h·hd + c`
    /// (the mask decoder's `Attention`).
    case separate
    /// One input `qkv [B, N, 3·H·hd]` with channel `s·H·hd + h·hd + c`, s = 0/1/2 for q/k/v
    /// (SAM ViT's `qkv` Linear, docs/sam-spec.md §1.4).
    case packedSAM
    /// One input `qkv [B, N, H·3·hd]` with channel `h·3·hd + s·hd + c` (TinyViT, docs/sam-spec.md §8.2).
    case packedTinyViT
}

/// Additive bias inside the attention softmax.
public enum AttentionBias: Sendable, Codable, Equatable {
    /// No bias.
    case none
    /// SAM's decomposed relative position (docs/sam-spec.md §1.4). Tokens form an `h × w` grid (row-major).
    /// Two extra inputs: `rel_pos_h [2h-1, hd]` and `rel_pos_w [2w-1, hd]`. For query (yq, xq)
    /// and key (yk, xk): bias = Σc q[c]·Rh[yq-yk+h-1, c] + Σc q[c]·Rw[xq-xk+w-1, c], where q is
    /// the *unscaled* query of that head.
    case relativePosition(height: Int, width: Int)
    /// TinyViT's per-head table (docs/sam-spec.md §8.2). Tokens form a `window × window` grid. One extra
    /// input `attention_biases [H, window²]`; bias = table[h, |yq-yk|·window + |xq-xk|].
    case biasTable(window: Int)
}

/// Parameters of batched matrix multiplication `C = act(op(A) · op(B) + bias)`.
public struct MatMulParams: Sendable, Codable, Equatable {
    /// A is stored `[..., K, M]` instead of `[..., M, K]`.
    public var transposeA: Bool
    /// B is stored `[..., N, K]` instead of `[..., K, N]` (a `Linear` weight `[out, in]`).
    public var transposeB: Bool
    /// A third input `bias [N]` is added to every row.
    public var hasBias: Bool
    public var activation: Activation

    public init(transposeA: Bool = false, transposeB: Bool = false, hasBias: Bool = false,
                activation: Activation = .none) {
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.hasBias = hasBias
        self.activation = activation
    }
}

/// Parameters of a 2-D convolution on NCHW tensors.
public struct Conv2DParams: Sendable, Codable, Equatable {
    public var strideY: Int, strideX: Int
    public var padY: Int, padX: Int
    public var groups: Int
    /// A third input `bias [Cout]`.
    public var hasBias: Bool
    public var activation: Activation

    public init(stride: Int = 1, padding: Int = 0, groups: Int = 1, hasBias: Bool = false,
                activation: Activation = .none) {
        self.strideY = stride; self.strideX = stride
        self.padY = padding; self.padX = padding
        self.groups = groups
        self.hasBias = hasBias
        self.activation = activation
    }
}

/// Parameters of fused multi-head attention `softmax(q·kᵀ·scale + bias) · v`.
public struct AttentionParams: Sendable, Codable, Equatable {
    public var heads: Int
    public var headDim: Int
    /// Multiplies q·kᵀ (usually headDim^-0.5). The relative-position bias uses the unscaled q.
    public var scale: Float
    public var layout: QKVLayout
    public var bias: AttentionBias

    public init(heads: Int, headDim: Int, scale: Float? = nil, layout: QKVLayout,
                bias: AttentionBias = .none) {
        self.heads = heads
        self.headDim = headDim
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
        self.layout = layout
        self.bias = bias
    }
}

/// The closed set of operations every backend implements (or refuses at compile time).
///
/// Inputs are listed per case; shapes are row-major. Every op writes one new output tensor.
/// `Op.outputShape(inputs:)` is the single source of truth for shape rules and validation.
public enum Op: Sendable, Codable, Equatable {
    /// Batched GEMM. Inputs `A [..., M, K]`, `B [..., K, N]` (see transposes), optional `bias [N]`.
    /// B's leading (batch) dims must equal A's, or B is rank 2 and broadcast over A's batch.
    case matmul(MatMulParams)
    /// Inputs `x [B, Cin, H, W]`, `w [Cout, Cin/groups, kh, kw]`, optional `bias [Cout]`.
    case conv2d(Conv2DParams)
    /// Transposed conv with kernel 2, stride 2: inputs `x [B, Cin, H, W]`, `w [Cin, Cout, 2, 2]`,
    /// `bias [Cout]`; output `[B, Cout, 2H, 2W]`, out[o, 2y+i, 2x+j] = b[o] + Σc x[c,y,x]·w[c,o,i,j].
    case convTranspose2x2
    /// Inputs `x`, `gamma`, `beta`; biased variance; `eps` inside the square root.
    case layerNorm(axis: NormAxis, eps: Float)
    /// Softmax over the last axis.
    case softmax
    /// Fused multi-head attention. Inputs per `AttentionParams.layout`, then the bias inputs
    /// per `AttentionParams.bias`. Output `[B, Nq, heads·headDim]`.
    case attention(AttentionParams)
    /// Elementwise activation (`Activation.none` is a copy).
    case unary(Activation)
    /// Elementwise binary op of two inputs with broadcasting (ranks aligned at the right).
    case binary(BinaryKind)
    /// Output axis i is input axis `perm[i]`.
    case permute([Int])
    /// Copy with broadcasting to `shape` (input dims of size 1 repeat; ranks aligned at the right).
    case broadcast(Shape)
    /// View with another shape of equal element count; no data moves (the executor aliases it).
    case reshape(Shape)
    /// `[B, H, W, C]` → `[B·nY·nX, window², C]`: zero-pad bottom/right to multiples of
    /// `window`, windows row-major over (window row, window column), tokens row-major inside.
    case windowPartition(window: Int)
    /// Inverse of `windowPartition`: `[B·nY·nX, window², C]` → `[B, height, width, C]` (crops the pad).
    case windowUnpartition(window: Int, height: Int, width: Int)
    /// Zero padding: `before[i]` and `after[i]` elements on axis i (all axes listed).
    case pad(before: [Int], after: [Int])
    /// Crop: `size[i]` elements starting at `start[i]` on axis i (all axes listed).
    case slice(start: [Int], size: [Int])
    /// Bilinear resize of the last two axes to (height, width), PyTorch `align_corners=False`
    /// semantics; with `antialias`, PyTorch's antialiased (triangle filter) path when downscaling.
    case resizeBilinear(height: Int, width: Int, antialias: Bool)
    /// Concatenation of all inputs along `axis`.
    case concat(axis: Int)
    /// SAM's random Fourier positional encoding (docs/sam-spec.md §2.1). Inputs `coords [..., 2]` (x, y) already
    /// normalised to [0, 1], and `G [2, F]`; output `[..., 2F]` = concat(sin(p), cos(p)) with
    /// p = 2π·((2·coords − 1) · G).
    case fourierFeatures
}

/// Coarse classes of ops, used for parity thresholds and profile summaries.
public enum OpClass: String, Sendable, Codable, CaseIterable {
    case elementwise, normalization, softmax, gemm, convolution, attention, dataMovement, resize
}

/// A shape rule violated when building or validating a graph.
public struct ShapeError: Error, CustomStringConvertible, Sendable {
    public var op: String
    public var message: String
    public init(op: String, _ message: String) { self.op = op; self.message = message }
    public var description: String { "\(op): \(message)" }
}

extension Op {
    /// Short name used in the parity table, profiles and `--op` filters.
    public var name: String {
        switch self {
        case .matmul: return "matmul"
        case .conv2d(let p):
            if p.groups > 1 { return "conv2d_depthwise" }
            return "conv2d"
        case .convTranspose2x2: return "conv_transpose_2x2"
        case .layerNorm(let axis, _): return axis == .last ? "layer_norm" : "layer_norm_2d"
        case .softmax: return "softmax"
        case .attention(let p):
            switch p.bias {
            case .none: return "attention"
            case .relativePosition: return "attention_relpos"
            case .biasTable: return "attention_biastable"
            }
        case .unary(let a): return a.rawValue == "none" ? "copy" : a.rawValue
        case .binary(let k): return k.rawValue
        case .permute: return "permute"
        case .broadcast: return "broadcast"
        case .reshape: return "reshape"
        case .windowPartition: return "window_partition"
        case .windowUnpartition: return "window_unpartition"
        case .pad: return "pad"
        case .slice: return "slice"
        case .resizeBilinear(_, _, let aa): return aa ? "resize_bilinear_aa" : "resize_bilinear"
        case .concat: return "concat"
        case .fourierFeatures: return "fourier_features"
        }
    }

    public var opClass: OpClass {
        switch self {
        case .matmul: return .gemm
        case .conv2d, .convTranspose2x2: return .convolution
        case .layerNorm: return .normalization
        case .softmax: return .softmax
        case .attention: return .attention
        case .unary, .binary, .fourierFeatures: return .elementwise
        case .permute, .broadcast, .reshape, .windowPartition, .windowUnpartition, .pad, .slice, .concat:
            return .dataMovement
        case .resizeBilinear: return .resize
        }
    }

    /// Number of inputs this op takes (for `concat`, any number ≥ 1).
    public var expectedInputCount: Int? {
        switch self {
        case .matmul(let p): return p.hasBias ? 3 : 2
        case .conv2d(let p): return p.hasBias ? 3 : 2
        case .convTranspose2x2: return 3
        case .layerNorm: return 3
        case .attention(let p):
            let base = p.layout == .separate ? 3 : 1
            switch p.bias {
            case .none: return base
            case .relativePosition: return base + 2
            case .biasTable: return base + 1
            }
        case .binary, .fourierFeatures: return 2
        case .concat: return nil
        default: return 1
        }
    }

    /// The output shape for the given input shapes, or a `ShapeError` naming the rule broken.
    public func outputShape(inputs s: [Shape]) throws -> Shape {
        func fail(_ m: String) -> ShapeError { ShapeError(op: name, m) }
        if let n = expectedInputCount, s.count != n {
            throw fail("expects \(n) inputs, got \(s.count)")
        }
        if s.isEmpty { throw fail("needs at least one input") }
        for (i, shape) in s.enumerated() where shape.dims.contains(where: { $0 < 0 }) {
            throw fail("input \(i) has a negative extent \(shape)")
        }
        switch self {
        case .matmul(let p):
            let a = s[0], b = s[1]
            guard a.rank >= 2, b.rank >= 2 else { throw fail("A \(a) and B \(b) must have rank >= 2") }
            let m = p.transposeA ? a[-1] : a[-2], ka = p.transposeA ? a[-2] : a[-1]
            let kb = p.transposeB ? b[-1] : b[-2], n = p.transposeB ? b[-2] : b[-1]
            guard ka == kb else { throw fail("inner dimensions differ: A \(a) and B \(b) (K \(ka) vs \(kb))") }
            let batchA = Array(a.dims.dropLast(2)), batchB = Array(b.dims.dropLast(2))
            guard batchB.isEmpty || batchB == batchA else {
                throw fail("B's batch dims \(batchB) must equal A's \(batchA) or be absent")
            }
            if p.hasBias, s[2] != Shape([n]) { throw fail("bias is \(s[2]), expected [\(n)]") }
            return Shape(batchA + [m, n])
        case .conv2d(let p):
            let x = s[0], w = s[1]
            guard x.rank == 4, w.rank == 4 else { throw fail("x \(x) and w \(w) must be rank 4 (NCHW, OIHW)") }
            guard p.groups >= 1, x[1] % p.groups == 0, w[0] % p.groups == 0 else {
                throw fail("groups \(p.groups) must divide Cin \(x[1]) and Cout \(w[0])")
            }
            guard w[1] == x[1] / p.groups else { throw fail("w \(w) expects Cin/groups = \(w[1]), x has \(x[1])/\(p.groups)") }
            guard p.strideX >= 1, p.strideY >= 1, p.padX >= 0, p.padY >= 0 else { throw fail("bad stride/padding") }
            let oh = (x[2] + 2 * p.padY - w[2]) / p.strideY + 1
            let ow = (x[3] + 2 * p.padX - w[3]) / p.strideX + 1
            guard oh >= 1, ow >= 1 else { throw fail("kernel \(w[2])x\(w[3]) larger than padded input \(x)") }
            if p.hasBias, s[2] != Shape([w[0]]) { throw fail("bias is \(s[2]), expected [\(w[0])]") }
            return [x[0], w[0], oh, ow]
        case .convTranspose2x2:
            let x = s[0], w = s[1]
            guard x.rank == 4, w.rank == 4, w[2] == 2, w[3] == 2, w[0] == x[1] else {
                throw fail("expects x [B,Cin,H,W] and w [Cin,Cout,2,2], got \(x) and \(w)")
            }
            guard s[2] == Shape([w[1]]) else { throw fail("bias is \(s[2]), expected [\(w[1])]") }
            return [x[0], w[1], 2 * x[2], 2 * x[3]]
        case .layerNorm(let axis, _):
            let x = s[0]
            let c: Int
            switch axis {
            case .last:
                guard x.rank >= 1 else { throw fail("input must have rank >= 1") }
                c = x[-1]
            case .channels:
                guard x.rank == 4 else { throw fail("LayerNorm2d expects [B,C,H,W], got \(x)") }
                c = x[1]
            }
            guard s[1] == Shape([c]), s[2] == Shape([c]) else {
                throw fail("gamma \(s[1]) and beta \(s[2]) must be [\(c)]")
            }
            return x
        case .softmax:
            guard s[0].rank >= 1 else { throw fail("input must have rank >= 1") }
            return s[0]
        case .attention(let p):
            let d = p.heads * p.headDim
            guard p.heads >= 1, p.headDim >= 1 else { throw fail("heads and headDim must be >= 1") }
            let q = s[0]
            guard q.rank == 3 else { throw fail("q/qkv must be [B, N, C], got \(q)") }
            let nq = q[1]
            var biasStart = 1
            switch p.layout {
            case .separate:
                let k = s[1], v = s[2]
                guard q[2] == d, k.rank == 3, v.rank == 3, k[2] == d, v[2] == d, k[0] == q[0], v[0] == q[0], k[1] == v[1] else {
                    throw fail("q \(q), k \(k), v \(v) must be [B,Nq,\(d)], [B,Nk,\(d)], [B,Nk,\(d)]")
                }
                biasStart = 3
            case .packedSAM, .packedTinyViT:
                guard q[2] == 3 * d else { throw fail("packed qkv \(q) must have last dim 3·\(d)") }
            }
            switch p.bias {
            case .none: break
            case .relativePosition(let h, let w):
                guard h * w == nq else { throw fail("grid \(h)x\(w) does not match \(nq) tokens") }
                guard p.layout != .separate else { throw fail("relative position needs a packed layout (self-attention)") }
                guard s[biasStart] == Shape([2 * h - 1, p.headDim]), s[biasStart + 1] == Shape([2 * w - 1, p.headDim]) else {
                    throw fail("rel_pos tables \(s[biasStart]), \(s[biasStart + 1]) must be [\(2 * h - 1),\(p.headDim)] and [\(2 * w - 1),\(p.headDim)]")
                }
            case .biasTable(let ws):
                guard ws * ws == nq else { throw fail("window \(ws) does not match \(nq) tokens") }
                guard p.layout != .separate else { throw fail("bias table needs a packed layout (self-attention)") }
                guard s[biasStart] == Shape([p.heads, ws * ws]) else {
                    throw fail("bias table \(s[biasStart]) must be [\(p.heads),\(ws * ws)]")
                }
            }
            return [q[0], nq, d]
        case .unary:
            return s[0]
        case .binary:
            return try broadcastShapes(s[0], s[1], op: name)
        case .permute(let perm):
            guard perm.count == s[0].rank, Set(perm) == Set(0..<perm.count) else {
                throw fail("\(perm) is not a permutation of \(s[0].rank) axes")
            }
            return Shape(perm.map { s[0][$0] })
        case .broadcast(let target):
            let out = try broadcastShapes(s[0], target, op: name)
            guard out == target else { throw fail("\(s[0]) cannot broadcast to \(target)") }
            return target
        case .reshape(let target):
            guard target.count == s[0].count else { throw fail("\(s[0]) has \(s[0].count) elements, \(target) has \(target.count)") }
            return target
        case .windowPartition(let ws):
            let x = s[0]
            guard x.rank == 4, ws >= 1 else { throw fail("expects [B,H,W,C] and window >= 1, got \(x)") }
            let ny = (x[1] + ws - 1) / ws, nx = (x[2] + ws - 1) / ws
            return [x[0] * ny * nx, ws * ws, x[3]]
        case .windowUnpartition(let ws, let h, let w):
            let x = s[0]
            let ny = (h + ws - 1) / ws, nx = (w + ws - 1) / ws
            guard x.rank == 3, x[1] == ws * ws, ny * nx > 0, x[0] % (ny * nx) == 0 else {
                throw fail("expects [B·\(ny * nx), \(ws * ws), C], got \(x)")
            }
            return [x[0] / (ny * nx), h, w, x[2]]
        case .pad(let before, let after):
            guard before.count == s[0].rank, after.count == s[0].rank, !(before + after).contains(where: { $0 < 0 }) else {
                throw fail("needs \(s[0].rank) non-negative before/after amounts")
            }
            return Shape((0..<s[0].rank).map { s[0][$0] + before[$0] + after[$0] })
        case .slice(let start, let size):
            guard start.count == s[0].rank, size.count == s[0].rank else { throw fail("needs \(s[0].rank) starts and sizes") }
            for i in 0..<s[0].rank where start[i] < 0 || size[i] < 0 || start[i] + size[i] > s[0][i] {
                throw fail("axis \(i): [\(start[i]), \(start[i] + size[i])) outside 0..<\(s[0][i])")
            }
            return Shape(size)
        case .resizeBilinear(let h, let w, _):
            guard s[0].rank >= 2, h >= 1, w >= 1 else { throw fail("expects rank >= 2 and a positive size") }
            var out = s[0]
            out[-2] = h
            out[-1] = w
            return out
        case .concat(let axis):
            let r = s[0].rank
            guard axis >= 0, axis < r else { throw fail("axis \(axis) outside rank \(r)") }
            var out = s[0]
            for t in s.dropFirst() {
                guard t.rank == r, (0..<r).allSatisfy({ $0 == axis || t[$0] == s[0][$0] }) else {
                    throw fail("\(t) does not match \(s[0]) outside axis \(axis)")
                }
                out[axis] += t[axis]
            }
            return out
        case .fourierFeatures:
            guard s[0].rank >= 1, s[0][-1] == 2, s[1].rank == 2, s[1][0] == 2 else {
                throw fail("expects coords [..., 2] and G [2, F], got \(s[0]) and \(s[1])")
            }
            var out = s[0]
            out[-1] = 2 * s[1][1]
            return out
        }
    }

    /// Floating-point operations (multiply-add = 2) for the perf harness.
    public func flops(inputs s: [Shape], output o: Shape) -> Double {
        switch self {
        case .matmul(let p):
            let k = p.transposeA ? s[0][-2] : s[0][-1]
            return 2 * Double(o.count) * Double(k)
        case .conv2d(let p):
            let w = s[1]
            return 2 * Double(o.count) * Double(w[1] * w[2] * w[3]) + (p.hasBias ? Double(o.count) : 0)
        case .convTranspose2x2:
            return 2 * Double(o.count) * Double(s[0][1])
        case .attention(let p):
            let b = Double(s[0][0]), nq = Double(s[0][1])
            let nk = p.layout == .separate ? Double(s[1][1]) : nq
            var f = 4 * b * Double(p.heads) * nq * nk * Double(p.headDim)
            if case .relativePosition(let h, let w) = p.bias {
                f += 2 * b * Double(p.heads) * nq * Double(h + w) * Double(p.headDim)
            }
            return f
        case .layerNorm: return 8 * Double(o.count)
        case .softmax: return 5 * Double(o.count)
        case .unary(let a): return a == .gelu ? 20 * Double(o.count) : Double(o.count)
        case .binary: return Double(o.count)
        case .resizeBilinear: return 8 * Double(o.count)
        case .fourierFeatures: return 10 * Double(o.count)
        default: return 0
        }
    }
}

/// Broadcast two shapes PyTorch-style (ranks aligned at the right; size-1 dims stretch).
public func broadcastShapes(_ a: Shape, _ b: Shape, op: String = "broadcast") throws -> Shape {
    let r = max(a.rank, b.rank)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.rank ? 1 : a[i - (r - a.rank)]
        let db = i < r - b.rank ? 1 : b[i - (r - b.rank)]
        guard da == db || da == 1 || db == 1 else {
            throw ShapeError(op: op, "shapes \(a) and \(b) do not broadcast (axis \(i): \(da) vs \(db))")
        }
        out[i] = da == 1 ? db : da
    }
    return Shape(out)
}

extension BinaryKind {
    /// The code the OpenCL and Vulkan `binary` kernels switch on (Kernels/*/binary*, elementwise.cl).
    public var kernelCode: Int {
        switch self {
        case .add: return 0
        case .mul: return 1
        case .greater: return 2
        }
    }
}
