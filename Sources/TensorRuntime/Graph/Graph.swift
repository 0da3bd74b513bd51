/// A tensor in a graph under construction: the result of an input, a constant or a node.
public struct Value: Hashable, Sendable {
    public let id: Int
    public let shape: Shape
}

/// Where a constant's data comes from. Lazy sources let weights stream from a mapped
/// checkpoint into device buffers without a second full copy on the host.
public enum ConstantSource {
    case tensor(Tensor)
    case lazy(() throws -> Tensor)

    public func load() throws -> Tensor {
        switch self {
        case .tensor(let t): return t
        case .lazy(let f): return try f()
        }
    }
}

/// One entry of a graph: where a value comes from.
public enum GraphEntry {
    case input(name: String)
    case constant(name: String, source: ConstantSource)
    case node(op: Op, inputs: [Int], name: String)
}

/// A dataflow graph of ops over named inputs and constants, with named outputs.
///
/// Entries are in creation order, which is a valid topological order (a node can only use
/// values that already exist).
public struct Graph {
    public internal(set) var entries: [GraphEntry] = []
    public internal(set) var shapes: [Shape] = []
    public internal(set) var outputs: [(name: String, id: Int)] = []

    public var inputNames: [String] {
        entries.compactMap { if case .input(let n) = $0 { return n } else { return nil } }
    }
    public var nodeCount: Int {
        entries.reduce(0) { if case .node = $1 { return $0 + 1 } else { return $0 } }
    }
    /// Floating-point operations of one run (multiply-add = 2), as the perf harness counts them.
    public var totalFlops: Double {
        var total = 0.0
        for (id, e) in entries.enumerated() {
            if case .node(let op, let ins, _) = e {
                total += op.flops(inputs: ins.map { shapes[$0] }, output: shapes[id])
            }
        }
        return total
    }
    /// Total elements held by constants.
    public var constantElementCount: Int {
        zip(entries, shapes).reduce(0) { if case .constant = $1.0 { return $0 + $1.1.count } else { return $0 } }
    }
}

/// Builds a `Graph`. Model code calls the op methods; shape errors are collected and the
/// first one is thrown by `build()`, so model code reads as straight-line math.
public final class GraphBuilder {
    private var graph = Graph()
    private var firstError: Error?
    private var names: Set<String> = []
    /// Prefix applied to node and constant names (see `scope`).
    public private(set) var prefix: String = ""

    public init() {}

    // MARK: Leaves

    public func input(_ name: String, _ shape: Shape) -> Value {
        add(.input(name: name), shape: shape, name: name)
    }

    public func constant(_ name: String, _ tensor: Tensor) -> Value {
        add(.constant(name: prefix + name, source: .tensor(tensor)), shape: tensor.shape, name: prefix + name)
    }

    public func constant(_ name: String, shape: Shape, _ load: @escaping () throws -> Tensor) -> Value {
        add(.constant(name: prefix + name, source: .lazy(load)), shape: shape, name: prefix + name)
    }

    public func output(_ name: String, _ value: Value) {
        graph.outputs.append((name, value.id))
    }

    /// Runs `body` with `name.` prepended to the names of nodes and constants created in it.
    public func scope<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let saved = prefix
        prefix = prefix + name + "."
        defer { prefix = saved }
        return try body()
    }

    // MARK: Generic node

    /// Adds a node; its output shape comes from `Op.outputShape`. On a shape error the error is
    /// remembered (thrown by `build()`) and a zero-size placeholder value is returned.
    @discardableResult
    public func op(_ op: Op, _ inputs: [Value], name: String? = nil) -> Value {
        let nodeName = prefix + (name ?? op.name)
        do {
            let shape = try op.outputShape(inputs: inputs.map(\.shape))
            return add(.node(op: op, inputs: inputs.map(\.id), name: nodeName), shape: shape, name: nil)
        } catch {
            if firstError == nil {
                firstError = ShapeError(op: nodeName, "\(error)")
            }
            return Value(id: -1, shape: Shape([0]))
        }
    }

    /// The finished graph, or the first shape error met while building it.
    public func build() throws -> Graph {
        if let e = firstError { throw e }
        guard !graph.outputs.isEmpty else { throw ShapeError(op: "graph", "has no outputs") }
        return graph
    }

    private func add(_ entry: GraphEntry, shape: Shape, name: String?) -> Value {
        if let name {
            if names.contains(name), firstError == nil {
                firstError = ShapeError(op: name, "name used twice in one graph")
            }
            names.insert(name)
        }
        graph.entries.append(entry)
        graph.shapes.append(shape)
        return Value(id: graph.entries.count - 1, shape: shape)
    }

    // MARK: Op helpers (one per op of the set)

    /// `x · Wᵀ + b`, the `nn.Linear` form, on `[..., in]` with `w [out, in]`.
    public func linear(_ x: Value, weight: Value, bias: Value?, activation: Activation = .none, name: String? = nil) -> Value {
        let p = MatMulParams(transposeB: true, hasBias: bias != nil, activation: activation)
        return op(.matmul(p), [x, weight] + (bias.map { [$0] } ?? []), name: name ?? "linear")
    }

    public func matmul(_ a: Value, _ b: Value, transposeA: Bool = false, transposeB: Bool = false,
                       bias: Value? = nil, activation: Activation = .none, name: String? = nil) -> Value {
        let p = MatMulParams(transposeA: transposeA, transposeB: transposeB, hasBias: bias != nil, activation: activation)
        return op(.matmul(p), [a, b] + (bias.map { [$0] } ?? []), name: name)
    }

    public func conv2d(_ x: Value, weight: Value, bias: Value?, stride: Int = 1, padding: Int = 0,
                       groups: Int = 1, activation: Activation = .none, name: String? = nil) -> Value {
        let p = Conv2DParams(stride: stride, padding: padding, groups: groups, hasBias: bias != nil, activation: activation)
        return op(.conv2d(p), [x, weight] + (bias.map { [$0] } ?? []), name: name)
    }

    public func convTranspose2x2(_ x: Value, weight: Value, bias: Value, name: String? = nil) -> Value {
        op(.convTranspose2x2, [x, weight, bias], name: name)
    }

    public func layerNorm(_ x: Value, weight: Value, bias: Value, axis: NormAxis = .last, eps: Float, name: String? = nil) -> Value {
        op(.layerNorm(axis: axis, eps: eps), [x, weight, bias], name: name)
    }

    public func softmax(_ x: Value, name: String? = nil) -> Value { op(.softmax, [x], name: name) }

    public func attention(_ inputs: [Value], _ params: AttentionParams, name: String? = nil) -> Value {
        op(.attention(params), inputs, name: name)
    }

    public func activation(_ x: Value, _ a: Activation, name: String? = nil) -> Value { op(.unary(a), [x], name: name) }
    public func gelu(_ x: Value) -> Value { activation(x, .gelu) }
    public func relu(_ x: Value) -> Value { activation(x, .relu) }
    public func sigmoid(_ x: Value) -> Value { activation(x, .sigmoid) }
    public func add(_ a: Value, _ b: Value, name: String? = nil) -> Value { op(.binary(.add), [a, b], name: name) }
    public func mul(_ a: Value, _ b: Value, name: String? = nil) -> Value { op(.binary(.mul), [a, b], name: name) }
    /// 1 where a > b, else 0.
    public func greater(_ a: Value, _ b: Value, name: String? = nil) -> Value { op(.binary(.greater), [a, b], name: name) }
    public func permute(_ x: Value, _ perm: [Int], name: String? = nil) -> Value { op(.permute(perm), [x], name: name) }
    public func broadcast(_ x: Value, to shape: Shape, name: String? = nil) -> Value { op(.broadcast(shape), [x], name: name) }
    public func reshape(_ x: Value, _ shape: Shape, name: String? = nil) -> Value { op(.reshape(shape), [x], name: name) }
    public func windowPartition(_ x: Value, window: Int, name: String? = nil) -> Value {
        op(.windowPartition(window: window), [x], name: name)
    }
    public func windowUnpartition(_ x: Value, window: Int, height: Int, width: Int, name: String? = nil) -> Value {
        op(.windowUnpartition(window: window, height: height, width: width), [x], name: name)
    }
    public func pad(_ x: Value, before: [Int], after: [Int], name: String? = nil) -> Value {
        op(.pad(before: before, after: after), [x], name: name)
    }
    public func slice(_ x: Value, start: [Int], size: [Int], name: String? = nil) -> Value {
        op(.slice(start: start, size: size), [x], name: name)
    }
    public func resizeBilinear(_ x: Value, height: Int, width: Int, antialias: Bool = false, name: String? = nil) -> Value {
        op(.resizeBilinear(height: height, width: width, antialias: antialias), [x], name: name)
    }
    public func concat(_ xs: [Value], axis: Int, name: String? = nil) -> Value { op(.concat(axis: axis), xs, name: name) }
    public func fourierFeatures(_ coords: Value, gaussian: Value, name: String? = nil) -> Value {
        op(.fourierFeatures, [coords, gaussian], name: name)
    }
}
