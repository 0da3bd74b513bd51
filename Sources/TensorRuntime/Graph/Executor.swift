import Foundation

/// Errors from compiling or running a graph.
public enum GraphError: Error, CustomStringConvertible {
    case missingInput(String)
    case inputShape(name: String, expected: Shape, got: Shape)
    case unknownInput(String)
    case unknownOutput(String)
    /// A device tensor bound as an input lives on another backend than the graph's.
    case foreignDeviceTensor(name: String, graphBackend: String, tensorBackend: String)
    case constantShape(name: String, expected: Shape, got: Shape)
    /// Check mode: the first node whose output diverged from the reference backend.
    case checkFailed(CheckReport)

    public var description: String {
        switch self {
        case .missingInput(let n): return "graph input '\(n)' was not given"
        case .unknownInput(let n): return "'\(n)' is not an input of this graph"
        case .unknownOutput(let n): return "'\(n)' is not an output of this graph"
        case .foreignDeviceTensor(let n, let g, let t):
            return "graph input '\(n)' is a device tensor of another backend (\(t)); this graph runs on \(g)"
        case .inputShape(let n, let e, let g): return "graph input '\(n)' has shape \(g), expected \(e)"
        case .constantShape(let n, let e, let g): return "constant '\(n)' loaded with shape \(g), expected \(e)"
        case .checkFailed(let r): return r.description
        }
    }
}

/// Result of check mode for one node.
public struct NodeCheck: Sendable, Codable {
    public var node: String
    public var op: String
    public var shape: Shape
    public var nmse: Double
    public var threshold: Double
    public var pass: Bool
}

/// Outcome of a check-mode run: every node compared with the reference backend.
public struct CheckReport: Sendable, Codable, CustomStringConvertible {
    public var nodes: [NodeCheck]
    public var firstFailure: NodeCheck? { nodes.first { !$0.pass } }
    public var description: String {
        if let f = firstFailure {
            return "check mode: node '\(f.node)' (\(f.op) \(f.shape)) diverges from the reference: NMSE \(f.nmse) > \(f.threshold)"
        }
        return "check mode: all \(nodes.count) nodes within thresholds"
    }
}

/// Time spent per node and per op kind in a profiled run.
public struct ProfileReport: Sendable, Codable {
    public struct Entry: Sendable, Codable {
        public var node: String
        public var op: String
        public var seconds: Double
        public var flops: Double
    }
    public var entries: [Entry]
    /// True when times come from device timestamps, false for host clock with a sync per node.
    public var deviceTimestamps: Bool

    public var total: Double { entries.reduce(0) { $0 + $1.seconds } }

    /// (op name, seconds, count) sorted by time, largest first.
    public var byOp: [(op: String, seconds: Double, count: Int)] {
        byOpWithFlops.map { ($0.op, $0.seconds, $0.count) }
    }

    /// (op name, seconds, count, flops) sorted by time, largest first.
    public var byOpWithFlops: [(op: String, seconds: Double, count: Int, flops: Double)] {
        var acc: [String: (Double, Int, Double)] = [:]
        for e in entries {
            acc[e.op, default: (0, 0, 0)].0 += e.seconds
            acc[e.op, default: (0, 0, 0)].1 += 1
            acc[e.op, default: (0, 0, 0)].2 += e.flops
        }
        return acc.map { ($0.key, $0.value.0, $0.value.1, $0.value.2) }.sorted { $0.seconds > $1.seconds }
    }

    public func table(top: Int = 20) -> String {
        var s = pad("op", 22) + pad("ms", 10, right: true) + pad("count", 6, right: true) + pad("share", 7, right: true)
            + pad("GFLOP/s", 10, right: true) + "\n"
        let t = max(total, 1e-12)
        for row in byOpWithFlops.prefix(top) {
            // The rate says which op kinds are far from the device's ceiling, not only which take long.
            let rate = row.flops > 0 && row.seconds > 0 ? String(format: "%.0f", row.flops / row.seconds / 1e9) : "-"
            s += pad(row.op, 22) + pad(String(format: "%.2f", row.seconds * 1e3), 10, right: true)
                + pad("\(row.count)", 6, right: true) + pad(String(format: "%.1f%%", 100 * row.seconds / t), 7, right: true)
                + pad(rate, 10, right: true) + "\n"
        }
        s += pad("total", 22) + pad(String(format: "%.2f", total * 1e3), 10, right: true) + "\n"
        return s
    }

    /// The `top` slowest nodes by name (which layer an op kind's time belongs to).
    public func nodeTable(top: Int = 25) -> String {
        var s = pad("node", 64) + pad("op", 14) + pad("ms", 10, right: true) + pad("share", 7, right: true) + "\n"
        let t = max(total, 1e-12)
        for e in entries.sorted(by: { $0.seconds > $1.seconds }).prefix(top) {
            s += pad(String(e.node.suffix(63)), 64) + pad(e.op, 14) + pad(String(format: "%.2f", e.seconds * 1e3), 10, right: true)
                + pad(String(format: "%.1f%%", 100 * e.seconds / t), 7, right: true) + "\n"
        }
        return s
    }
}

/// How `CompiledGraph.run` executes.
public struct RunOptions {
    /// Run every node also on the reference backend (from this backend's own inputs) and stop
    /// at the first node whose NMSE exceeds `ParityThresholds` for its op class.
    public var check: Bool = false
    public var thresholds: ParityThresholds = .float32
    /// Time every node.
    public var profile: Bool = false
    public init(check: Bool = false, thresholds: ParityThresholds = .float32, profile: Bool = false) {
        self.check = check
        self.thresholds = thresholds
        self.profile = profile
    }
}

/// How `CompiledGraph` compiles a graph.
public struct CompileOptions: Sendable {
    /// Evaluate the nodes that depend only on constants once, at compile time, on the target
    /// backend (see `CompiledGraph`). Off, every node runs on every `run`; tests turn it off to
    /// compare the two.
    public var foldConstants: Bool

    public init(foldConstants: Bool = true) {
        self.foldConstants = foldConstants
    }
}

/// One input of a graph run: host data to upload, or a tensor already on the graph's backend.
public enum GraphInput {
    case host(Tensor)
    case device(DeviceTensor)

    public var shape: Shape {
        switch self {
        case .host(let t): return t.shape
        case .device(let d): return d.shape
        }
    }
}

/// What a graph run returns: outputs downloaded to the host and outputs kept on the device.
public struct GraphOutputs {
    public var host: [String: Tensor] = [:]
    public var device: [String: DeviceTensor] = [:]
    public init() {}
}

/// A graph prepared for one backend: nodes ordered, buffers planned and allocated, constants
/// uploaded. `run` only binds inputs, dispatches and downloads outputs.
///
/// ## Constant folding
///
/// A node whose inputs are all constants, or values computed from constants only (reshapes
/// included), computes the same thing on every run: the prompt encoder's dense positional
/// encoding over a fixed grid, for one. With `CompileOptions.foldConstants` (the default)
/// those nodes are evaluated once while compiling, by this backend's own kernels, so the
/// result is bit-identical to what a run would compute. Only the values a remaining node or a
/// graph output reads are kept, as constants; temporaries of the folded subgraph, and constants
/// nothing else reads, are released before the remaining buffers are allocated. Folded nodes
/// are not steps of the graph: `run`, profiles and check mode no longer see them, and
/// `foldedNodes` names them. A backend whose `encode` refuses with `BackendError.unsupported`
/// while compiling (one that only plans memory) gets the unfolded graph instead.
public final class CompiledGraph {
    public let backend: any Backend
    public let memoryPlan: MemoryPlan
    public private(set) var lastProfile: ProfileReport?
    public private(set) var lastCheck: CheckReport?
    /// Names of the nodes evaluated at compile time by constant folding, in graph order
    /// (reshapes, which never run a kernel, are not counted).
    public let foldedNodes: [String]
    /// How many nodes constant folding removed from every run.
    public var foldedNodeCount: Int { foldedNodes.count }

    private struct Step {
        var op: Op
        var name: String
        var inputs: [Int]
        var output: Int
    }
    private let steps: [Step]
    private let shapes: [Shape]
    private let inputIDs: [String: Int]
    private let outputs: [(name: String, id: Int)]
    /// Device tensor of every constant, input and planned value.
    private var refs: [Int: TensorRef] = [:]
    private var inputBuffers: [Int: any DeviceBuffer] = [:]
    /// Reshape → the value owning its storage.
    private let aliasRoot: [Int: Int]
    /// Storage root → the reshapes that view it (rebound with it when a run redirects the root).
    private let aliasesOf: [Int: [Int]]
    /// Values computed by a run-time step (the others are inputs, constants or folded values).
    private let stepOutputs: Set<Int>

    /// The live part of a graph split into run-time steps and compile-time (folded) steps.
    private struct Schedule {
        var steps: [Step] = []
        var foldSteps: [Step] = []
        var inputIDs: [String: Int] = [:]
        var constantIDs: [Int] = []
        /// reshape value → value owning the storage
        var aliasRoot: [Int: Int] = [:]
        /// Values fixed at compile time: constants, folded nodes and reshapes of either.
        var known: Set<Int> = []

        func root(_ id: Int) -> Int { aliasRoot[id] ?? id }

        init(_ graph: Graph, backend: any Backend, fold: Bool) throws {
            // Keep only what the outputs depend on, in creation (topological) order.
            var live = Set(graph.outputs.map(\.id))
            for id in stride(from: graph.entries.count - 1, through: 0, by: -1) where live.contains(id) {
                if case .node(_, let ins, _) = graph.entries[id] { live.formUnion(ins) }
            }
            for id in 0..<graph.entries.count where live.contains(id) {
                switch graph.entries[id] {
                case .input(let name): inputIDs[name] = id
                case .constant:
                    constantIDs.append(id)
                    known.insert(id)
                case .node(let op, let ins, let name):
                    // Folded nodes run on this backend too (at compile time), so they need its support.
                    if let reason = backend.unsupportedReason(op, inputs: ins.map { graph.shapes[$0] }) {
                        throw BackendError.unsupported(backend: backend.info.backend, op: "\(op.name) (node '\(name)')", reason: reason)
                    }
                    let constantOnly = ins.allSatisfy(known.contains)
                    if case .reshape = op {
                        aliasRoot[id] = aliasRoot[ins[0]] ?? ins[0]
                        if constantOnly { known.insert(id) }
                    } else if fold && constantOnly {
                        foldSteps.append(Step(op: op, name: name, inputs: ins, output: id))
                        known.insert(id)
                    } else {
                        steps.append(Step(op: op, name: name, inputs: ins, output: id))
                    }
                }
            }
        }

        /// Storage roots of the compile-time values that the run-time steps or the graph's
        /// outputs read: the constants to keep and the folding frontier.
        func keptRoots(outputs: [(name: String, id: Int)]) -> Set<Int> {
            var kept: Set<Int> = []
            for s in steps {
                for input in s.inputs where known.contains(input) { kept.insert(root(input)) }
            }
            for o in outputs where known.contains(o.id) { kept.insert(root(o.id)) }
            return kept
        }
    }

    /// Compiles `graph` for `backend`: fails if the backend lacks any op (never falls back).
    public init(_ graph: Graph, backend: any Backend, options: CompileOptions = CompileOptions()) throws {
        self.backend = backend
        self.shapes = graph.shapes
        self.outputs = graph.outputs

        var schedule = try Schedule(graph, backend: backend, fold: options.foldConstants)
        var kept = schedule.keptRoots(outputs: graph.outputs)
        // Folding first, so its temporaries are gone before the run-time buffers are allocated.
        var refs: [Int: TensorRef] = [:]
        do {
            refs = try CompiledGraph.evaluate(schedule, keep: kept, graph: graph, backend: backend)
        } catch BackendError.unsupported {
            schedule = try Schedule(graph, backend: backend, fold: false)
            kept = schedule.keptRoots(outputs: graph.outputs)
        }
        let steps = schedule.steps
        let known = schedule.known
        self.steps = steps
        self.inputIDs = schedule.inputIDs
        self.foldedNodes = schedule.foldSteps.map(\.name)
        var aliasesOf: [Int: [Int]] = [:]
        for (id, r) in schedule.aliasRoot { aliasesOf[r, default: []].append(id) }
        self.aliasesOf = aliasesOf
        self.aliasRoot = schedule.aliasRoot
        self.stepOutputs = Set(steps.map(\.output))

        // Lifetimes in step indices, measured on storage roots.
        let root = schedule.root
        var lastUse: [Int: Int] = [:]
        for (i, s) in steps.enumerated() {
            for input in s.inputs { lastUse[root(input)] = max(lastUse[root(input)] ?? -1, i) }
        }
        for o in graph.outputs { lastUse[root(o.id)] = Int.max }
        var sizes: [Int: Int] = [:]
        for s in steps { sizes[s.output] = graph.shapes[s.output].count }
        let plan = MemoryPlanner.plan(order: steps.map(\.output), sizes: sizes, lastUse: lastUse)
        self.memoryPlan = plan

        // Allocate slots, then the constants still read (uploaded once, streamed one at a time).
        let slotBuffers = try plan.slotElements.map { try backend.allocate(elementCount: $0) }
        for s in steps {
            refs[s.output] = TensorRef(buffer: slotBuffers[plan.slotOf[s.output]!], shape: graph.shapes[s.output])
        }
        for id in schedule.constantIDs where kept.contains(id) && refs[id] == nil {
            refs[id] = try CompiledGraph.upload(constant: id, graph: graph, backend: backend)
        }
        for (_, id) in schedule.inputIDs {
            let buffer = try backend.allocate(elementCount: max(graph.shapes[id].count, 1))
            inputBuffers[id] = buffer
            refs[id] = TensorRef(buffer: buffer, shape: graph.shapes[id])
        }
        // Reshapes inside the folded subgraph have no storage left; nothing reads them.
        for (id, r) in schedule.aliasRoot.sorted(by: { $0.key < $1.key }) {
            if let base = refs[r] { refs[id] = base.reshaped(graph.shapes[id]) }
        }
        self.refs = refs
        for s in steps {
            try backend.prepare(s.op, inputs: s.inputs.map { refs[$0]! }, output: graph.shapes[s.output],
                                constants: s.inputs.map { known.contains($0) })
        }
    }

    private static func upload(constant id: Int, graph: Graph, backend: any Backend) throws -> TensorRef {
        guard case .constant(let name, let source) = graph.entries[id] else {
            preconditionFailure("entry \(id) is not a constant")
        }
        let tensor = try source.load()
        guard tensor.shape == graph.shapes[id] else {
            throw GraphError.constantShape(name: name, expected: graph.shapes[id], got: tensor.shape)
        }
        return try backend.makeTensor(tensor)
    }

    /// Runs the folded steps on `backend` and returns the device tensors of the `keep` roots
    /// among their inputs and outputs. Kept results get buffers of their own size, so nothing
    /// larger outlives the fold; temporaries share planned slots and, like the constants only
    /// the folded steps read, are released on return, after the backend has finished with them.
    private static func evaluate(_ schedule: Schedule, keep: Set<Int>, graph: Graph,
                                 backend: any Backend) throws -> [Int: TensorRef] {
        let foldSteps = schedule.foldSteps
        guard !foldSteps.isEmpty else { return [:] }
        let root = schedule.root

        // Temporaries are planned among themselves, in their own order, so the kept results stay
        // out of shared slots: one last read by fold step k is live through the last temporary
        // written at or before k, and only later temporaries may take its slot.
        var temporaries: [Int] = []
        var interiorThrough: [Int] = []
        for s in foldSteps {
            if !keep.contains(s.output) { temporaries.append(s.output) }
            interiorThrough.append(temporaries.count)
        }
        let isTemporary = Set(temporaries)
        var lastUse: [Int: Int] = [:]
        var sizes: [Int: Int] = [:]
        for (k, s) in foldSteps.enumerated() {
            for input in s.inputs where isTemporary.contains(root(input)) { lastUse[root(input)] = interiorThrough[k] - 1 }
        }
        for id in temporaries { sizes[id] = graph.shapes[id].count }
        let plan = MemoryPlanner.plan(order: temporaries, sizes: sizes, lastUse: lastUse)
        let slots = try plan.slotElements.map { try backend.allocate(elementCount: $0) }

        var refs: [Int: TensorRef] = [:]
        for id in temporaries { refs[id] = TensorRef(buffer: slots[plan.slotOf[id]!], shape: graph.shapes[id]) }
        for s in foldSteps where keep.contains(s.output) {
            let shape = graph.shapes[s.output]
            refs[s.output] = TensorRef(buffer: try backend.allocate(elementCount: max(shape.count, 1)), shape: shape)
        }
        let constantsRead = Set(foldSteps.flatMap { $0.inputs.map(root) }).filter { refs[$0] == nil }
        for id in constantsRead.sorted() {
            refs[id] = try upload(constant: id, graph: graph, backend: backend)
        }
        func ref(_ id: Int) -> TensorRef {
            if let r = schedule.aliasRoot[id] { return refs[r]!.reshaped(graph.shapes[id]) }
            return refs[id]!
        }
        for s in foldSteps {
            try backend.prepare(s.op, inputs: s.inputs.map(ref), output: graph.shapes[s.output],
                                constants: s.inputs.map { _ in true })
        }
        // Buffers must not be released (and possibly reused) while queued work still uses them,
        // on failure too.
        do {
            for s in foldSteps {
                try backend.encode(s.op, inputs: s.inputs.map(ref), output: refs[s.output]!)
            }
        } catch {
            try? backend.synchronize()
            throw error
        }
        try backend.synchronize()
        return refs.filter { keep.contains($0.key) }
    }

    /// Peak bytes of intermediate buffers (after reuse) in the backend's storage type.
    public var peakIntermediateBytes: Int { memoryPlan.peakBytes(backend.info.storageType) }

    /// Shapes of the graph's inputs by name.
    public var inputShapes: [String: Shape] { inputIDs.mapValues { shapes[$0] } }

    /// Shapes of the graph's outputs by name.
    public var outputShapes: [String: Shape] {
        Dictionary(outputs.map { ($0.name, shapes[$0.id]) }, uniquingKeysWith: { a, _ in a })
    }

    /// Runs the graph with host inputs and downloads every output to the host.
    public func run(_ inputs: [String: Tensor], options: RunOptions = RunOptions()) throws -> [String: Tensor] {
        try run(inputs.mapValues { GraphInput.host($0) }, options: options).host
    }

    /// Runs the graph.
    ///
    /// - Parameters:
    ///   - inputs: every graph input by name, each a host tensor (uploaded into the graph's own
    ///     input buffer) or a device tensor of this graph's backend (read in place, no copy).
    ///   - deviceOutputs: outputs to return as device tensors instead of downloading them. Each
    ///     is written into a buffer allocated for this run, outside the memory plan, that the
    ///     caller owns: it stays valid across later runs for as long as the caller keeps it.
    /// - Returns: the other outputs on the host, and the `deviceOutputs` on the device.
    public func run(_ inputs: [String: GraphInput], deviceOutputs: Set<String> = [],
                    options: RunOptions = RunOptions()) throws -> GraphOutputs {
        for name in deviceOutputs where !outputs.contains(where: { $0.name == name }) {
            throw GraphError.unknownOutput(name)
        }
        var refs = self.refs
        try bind(inputs, into: &refs)
        // Device outputs computed by a step are redirected into fresh buffers before dispatch;
        // those that are inputs or compile-time values are copied after it.
        var copiedAfterRun: [(name: String, source: TensorRef)] = []
        var redirected: [Int: TensorRef] = [:]
        for o in outputs where deviceOutputs.contains(o.name) {
            let root = rootOf(o.id)
            if stepOutputs.contains(root) {
                if redirected[root] == nil {
                    let buffer = try backend.allocate(elementCount: max(shapes[root].count, 1))
                    redirected[root] = TensorRef(buffer: buffer, shape: shapes[root])
                    rebind(root, to: redirected[root]!, in: &refs)
                }
            } else {
                copiedAfterRun.append((o.name, refs[o.id]!))
            }
        }
        try dispatch(options, refs: refs)
        var result = GraphOutputs()
        for (name, source) in copiedAfterRun {
            let destination = TensorRef(buffer: try backend.allocate(elementCount: max(source.shape.count, 1)),
                                        shape: source.shape)
            try backend.copy(source, to: destination)
            result.device[name] = DeviceTensor(backend: backend, ref: destination)
        }
        if !copiedAfterRun.isEmpty { try backend.synchronize() }
        for o in outputs {
            if deviceOutputs.contains(o.name) {
                if result.device[o.name] == nil { result.device[o.name] = DeviceTensor(backend: backend, ref: refs[o.id]!) }
            } else {
                result.host[o.name] = try backend.download(refs[o.id]!)
            }
        }
        return result
    }

    private func rootOf(_ id: Int) -> Int { aliasRoot[id] ?? id }

    /// Points value `root` and every reshape of it at `ref` for one run.
    private func rebind(_ root: Int, to ref: TensorRef, in refs: inout [Int: TensorRef]) {
        refs[root] = ref
        for alias in aliasesOf[root] ?? [] { refs[alias] = ref.reshaped(shapes[alias]) }
    }

    private func bind(_ inputs: [String: GraphInput], into refs: inout [Int: TensorRef]) throws {
        for name in inputs.keys where inputIDs[name] == nil { throw GraphError.unknownInput(name) }
        for (name, id) in inputIDs {
            guard let input = inputs[name] else { throw GraphError.missingInput(name) }
            switch input {
            case .host(let t):
                guard t.shape == shapes[id] else { throw GraphError.inputShape(name: name, expected: shapes[id], got: t.shape) }
                try backend.upload(t.data, to: refs[id]!)
            case .device(let d):
                guard d.backend === backend else {
                    throw GraphError.foreignDeviceTensor(name: name, graphBackend: backend.info.backend,
                                                         tensorBackend: d.backend.info.backend)
                }
                guard d.shape == shapes[id] else { throw GraphError.inputShape(name: name, expected: shapes[id], got: d.shape) }
                rebind(id, to: d.ref, in: &refs)
            }
        }
    }

    private func dispatch(_ options: RunOptions, refs: [Int: TensorRef]) throws {
        lastProfile = nil
        lastCheck = nil
        if options.check {
            try runChecked(options.thresholds, refs: refs)
            return
        }
        if !options.profile {
            for s in steps { try backend.encode(s.op, inputs: s.inputs.map { refs[$0]! }, output: refs[s.output]!) }
            try backend.synchronize()
            return
        }
        var entries: [ProfileReport.Entry] = []
        try backend.synchronize()
        if try backend.recordTimestamp() != nil {
            for s in steps {
                try backend.encode(s.op, inputs: s.inputs.map { refs[$0]! }, output: refs[s.output]!)
                _ = try backend.recordTimestamp()
            }
            try backend.synchronize()
            let t = try backend.resolveTimestamps()
            for (i, s) in steps.enumerated() where i + 1 < t.count {
                entries.append(.init(node: s.name, op: s.op.name, seconds: t[i + 1] - t[i], flops: flops(s)))
            }
            lastProfile = ProfileReport(entries: entries, deviceTimestamps: true)
        } else {
            for s in steps {
                let start = DispatchTime.now().uptimeNanoseconds
                try backend.encode(s.op, inputs: s.inputs.map { refs[$0]! }, output: refs[s.output]!)
                try backend.synchronize()
                let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                entries.append(.init(node: s.name, op: s.op.name, seconds: secs, flops: flops(s)))
            }
            lastProfile = ProfileReport(entries: entries, deviceTimestamps: false)
        }
    }

    private func flops(_ s: Step) -> Double {
        s.op.flops(inputs: s.inputs.map { shapes[$0] }, output: shapes[s.output])
    }

    /// Each node runs on this backend; its inputs, as this backend holds them, are also given
    /// to the reference backend, so a divergence is pinned to the node that caused it.
    private func runChecked(_ thresholds: ParityThresholds, refs: [Int: TensorRef]) throws {
        var checks: [NodeCheck] = []
        defer { lastCheck = CheckReport(nodes: checks) }
        for s in steps {
            let ins = s.inputs.map { refs[$0]! }
            try backend.encode(s.op, inputs: ins, output: refs[s.output]!)
            try backend.synchronize()
            let got = try backend.download(refs[s.output]!)
            let hostInputs = try ins.map { try backend.download($0) }
            let want = try ReferenceKernels.execute(s.op, inputs: hostInputs)
            let nmse = Comparison.nmse(got.data, want.data)
            let threshold = thresholds.threshold(for: s.op)
            let finite = Comparison.allFinite(got.data) || !Comparison.allFinite(want.data)
            let check = NodeCheck(node: s.name, op: s.op.name, shape: shapes[s.output], nmse: nmse,
                                  threshold: threshold, pass: finite && nmse <= threshold)
            checks.append(check)
            if !check.pass {
                lastCheck = CheckReport(nodes: checks)
                throw GraphError.checkFailed(CheckReport(nodes: checks))
            }
        }
    }
}
