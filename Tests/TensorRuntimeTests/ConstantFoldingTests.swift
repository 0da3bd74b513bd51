import XCTest
@testable import TensorRuntime

/// The reference backend, recording what the compiler asks of it, so tests can see which nodes
/// ran at compile time and which `constants:` flags `prepare` got.
private final class RecordingBackend: Backend {
    let inner = ReferenceBackend()
    /// Refuse every `encode`, as a backend that only plans memory does.
    var refuseEncode = false
    private(set) var encoded: [String] = []
    private(set) var prepared: [(op: String, constants: [Bool])] = []
    private(set) var synchronizations = 0

    var info: DeviceInfo { DeviceInfo(backend: "recording", name: "test double") }
    func unsupportedReason(_ op: Op, inputs: [Shape]) -> String? { nil }
    func allocate(elementCount: Int) throws -> any DeviceBuffer { try inner.allocate(elementCount: elementCount) }
    func upload(_ data: [Float], to ref: TensorRef) throws { try inner.upload(data, to: ref) }
    func download(_ ref: TensorRef) throws -> Tensor { try inner.download(ref) }
    func encode(_ op: Op, inputs: [TensorRef], output: TensorRef) throws {
        if refuseEncode { throw BackendError.unsupported(backend: "recording", op: op.name, reason: "plans only") }
        encoded.append(op.name)
        try inner.encode(op, inputs: inputs, output: output)
    }
    func synchronize() throws { synchronizations += 1 }
    func prepare(_ op: Op, inputs: [TensorRef], output: Shape, constants: [Bool]) throws {
        prepared.append((op.name, constants))
    }
    func reset() {
        encoded = []
        prepared = []
        synchronizations = 0
    }
}

final class ConstantFoldingTests: XCTestCase {
    /// A positional encoding over a fixed grid (fourier features → permute → reshape, all
    /// constant) added to an input, then ReLU. `pe` is also a graph output of its own.
    private func positionalGraph(exposePE: Bool = true) throws -> Graph {
        let g = GraphBuilder()
        let h = 6, w = 5, c = 8
        var grid = [Float](repeating: 0, count: h * w * 2)
        for y in 0..<h {
            for x in 0..<w {
                grid[(y * w + x) * 2] = (Float(x) + 0.5) / Float(w)
                grid[(y * w + x) * 2 + 1] = (Float(y) + 0.5) / Float(h)
            }
        }
        let coords = g.constant("grid", Tensor(shape: [h, w, 2], data: grid))
        let gaussian = g.constant("gaussian", Tensor(uniform: [2, c / 2], in: -2...2, seed: 11))
        let pe = g.fourierFeatures(coords, gaussian: gaussian, name: "pe")          // [h, w, c]
        let chw = g.reshape(g.permute(pe, [2, 0, 1], name: "pe_chw"), [1, c, h, w])
        let x = g.input("x", [1, c, h, w])
        let y = g.relu(g.add(x, chw, name: "add_pe"))
        g.output("y", y)
        if exposePE { g.output("pe", chw) }
        return try g.build()
    }

    private func mlpGraph() throws -> Graph {
        let g = GraphBuilder()
        var x = g.input("x", [4, 16])
        for i in 0..<3 {
            g.scope("layer\(i)") {
                let w = g.constant("weight", Tensor(uniform: [16, 16], in: -0.3...0.3, seed: UInt64(i + 1)))
                let b = g.constant("bias", Tensor(uniform: [16], seed: UInt64(100 + i)))
                x = g.gelu(g.linear(x, weight: w, bias: b, name: "linear"))
            }
        }
        g.output("y", x)
        return try g.build()
    }

    private func compileBoth(_ graph: Graph, backend: () -> any Backend = { ReferenceBackend() })
        throws -> (folded: CompiledGraph, unfolded: CompiledGraph) {
        (try CompiledGraph(graph, backend: backend()),
         try CompiledGraph(graph, backend: backend(), options: CompileOptions(foldConstants: false)))
    }

    func testConstantSubgraphFoldsWithIdenticalOutputs() throws {
        let (folded, unfolded) = try compileBoth(try positionalGraph())
        XCTAssertEqual(folded.foldedNodes, ["pe", "pe_chw"])
        XCTAssertEqual(folded.foldedNodeCount, 2)
        XCTAssertEqual(unfolded.foldedNodeCount, 0)

        let x = Tensor(uniform: [1, 8, 6, 5], seed: 5)
        let a = try folded.run(["x": x]), b = try unfolded.run(["x": x])
        XCTAssertEqual(a["y"], b["y"])
        XCTAssertEqual(a["pe"], b["pe"], "a fully constant graph output")
        XCTAssertEqual(a["pe"]?.shape, [1, 8, 6, 5])
        // Runs after the first still see the folded values.
        XCTAssertEqual(try folded.run(["x": x])["y"], b["y"])
    }

    func testFoldedNodesLeaveStepsProfilesAndPlan() throws {
        let (folded, unfolded) = try compileBoth(try positionalGraph(exposePE: false))
        let x = Tensor(uniform: [1, 8, 6, 5], seed: 6)
        _ = try folded.run(["x": x], options: RunOptions(profile: true))
        _ = try unfolded.run(["x": x], options: RunOptions(profile: true))
        XCTAssertEqual(folded.lastProfile?.entries.map(\.node), ["add_pe", "relu"])
        XCTAssertEqual(unfolded.lastProfile?.entries.map(\.node), ["pe", "pe_chw", "add_pe", "relu"])
        XCTAssertEqual(folded.memoryPlan.totalValueElements, 2 * 240)
        XCTAssertEqual(unfolded.memoryPlan.totalValueElements, 4 * 240)

        _ = try folded.run(["x": x], options: RunOptions(check: true))
        XCTAssertEqual(folded.lastCheck?.nodes.map(\.node), ["add_pe", "relu"])
        XCTAssertNil(folded.lastCheck?.firstFailure)
    }

    func testFoldingRunsOnceOnTheBackendAndPreparesWithConstantFlags() throws {
        let backend = RecordingBackend()
        let compiled = try CompiledGraph(try positionalGraph(), backend: backend)
        XCTAssertEqual(backend.encoded, ["fourier_features", "permute"], "folded at compile time")
        XCTAssertGreaterThanOrEqual(backend.synchronizations, 1)
        // The remaining add reads the input and the folded (reshaped) encoding.
        let runtime = backend.prepared.filter { $0.op == "add" || $0.op == "relu" }
        XCTAssertEqual(runtime.map(\.op), ["add", "relu"])
        XCTAssertEqual(runtime[0].constants, [false, true])
        XCTAssertEqual(runtime[1].constants, [false])

        backend.reset()
        _ = try compiled.run(["x": Tensor(uniform: [1, 8, 6, 5], seed: 1)])
        XCTAssertEqual(backend.encoded, ["add", "relu"], "a run dispatches only the remaining nodes")
    }

    /// Unfolded, a reshape of a constant still counts as a constant for `prepare`.
    func testReshapedConstantIsFlaggedConstantWithoutFolding() throws {
        let g = GraphBuilder()
        let x = g.input("x", [2, 6])
        let k = g.reshape(g.constant("k", Tensor(uniform: [12], seed: 2)), [2, 6])
        g.output("y", g.mul(x, k, name: "scale"))
        let backend = RecordingBackend()
        let compiled = try CompiledGraph(try g.build(), backend: backend, options: CompileOptions(foldConstants: false))
        XCTAssertEqual(compiled.foldedNodeCount, 0)
        XCTAssertEqual(backend.prepared.map(\.constants), [[false, true]])
    }

    /// Interior values are temporaries; a value both read inside the folded subgraph and by a
    /// remaining node is kept. A long constant chain exercises the temporaries' slot reuse.
    func testInteriorTemporariesAndSharedFrontier() throws {
        let g = GraphBuilder()
        let x = g.input("x", [3, 7])
        var c = g.constant("c", Tensor(uniform: [3, 7], seed: 3))
        let first = g.relu(c)
        c = first
        for i in 0..<6 {
            c = g.op(i % 2 == 0 ? .unary(.gelu) : .unary(.sigmoid), [c], name: "chain\(i)")
        }
        let squared = g.mul(c, first, name: "squared")
        let y = g.add(g.add(x, first, name: "plus_first"), squared, name: "plus_squared")
        g.output("y", y)
        let (folded, unfolded) = try compileBoth(try g.build())
        XCTAssertEqual(folded.foldedNodeCount, 8)
        let input = Tensor(uniform: [3, 7], seed: 9)
        XCTAssertEqual(try folded.run(["x": input])["y"], try unfolded.run(["x": input])["y"])
        XCTAssertEqual(folded.memoryPlan.totalValueElements, 2 * 21)
    }

    func testGraphOfConstantsOnlyHasNoSteps() throws {
        let g = GraphBuilder()
        let a = g.constant("a", Tensor(uniform: [4, 4], seed: 1))
        let b = g.constant("b", Tensor(uniform: [4, 4], seed: 2))
        g.output("sum", g.add(a, b, name: "sum"))
        g.output("a", a)
        let (folded, unfolded) = try compileBoth(try g.build())
        XCTAssertEqual(folded.foldedNodeCount, 1)
        XCTAssertEqual(folded.memoryPlan.slotElements, [])
        let got = try folded.run([:]), want = try unfolded.run([:])
        XCTAssertEqual(got["sum"], want["sum"])
        XCTAssertEqual(got["a"], Tensor(uniform: [4, 4], seed: 1))
        _ = try folded.run([:], options: RunOptions(profile: true))
        XCTAssertEqual(folded.lastProfile?.entries.count, 0)
    }

    func testGraphWithoutConstantSubgraphsIsUnchanged() throws {
        let (folded, unfolded) = try compileBoth(try mlpGraph())
        XCTAssertEqual(folded.foldedNodeCount, 0)
        XCTAssertEqual(folded.foldedNodes, [])
        XCTAssertEqual(folded.memoryPlan.slotElements, unfolded.memoryPlan.slotElements)
        XCTAssertEqual(folded.memoryPlan.slotOf, unfolded.memoryPlan.slotOf)
        let x = Tensor(uniform: [4, 16], seed: 4)
        XCTAssertEqual(try folded.run(["x": x])["y"], try unfolded.run(["x": x])["y"])
        _ = try folded.run(["x": x], options: RunOptions(profile: true))
        XCTAssertEqual(folded.lastProfile?.entries.count, 6)
    }

    /// Folding plans its temporaries with `MemoryPlanner`, where a value may be read only by a
    /// folded step that keeps its result, before the next temporary is written.
    func testPlannerFreesAValueWhoseLastUseIsItsOwnStep() {
        let plan = MemoryPlanner.plan(order: [1, 2, 3], sizes: [1: 10, 2: 10, 3: 10], lastUse: [1: 0, 2: 1, 3: 2])
        XCTAssertEqual(plan.slotElements, [10])
        XCTAssertEqual(Set(plan.slotOf.values), [0])
    }

    /// A backend that can plan but not execute (encode refuses) still compiles, unfolded.
    func testBackendThatCannotEncodeGetsTheUnfoldedGraph() throws {
        let backend = RecordingBackend()
        backend.refuseEncode = true
        let compiled = try CompiledGraph(try positionalGraph(), backend: backend)
        XCTAssertEqual(compiled.foldedNodeCount, 0)
        XCTAssertEqual(compiled.memoryPlan.totalValueElements, 4 * 240)
    }
}
