import XCTest
@testable import TensorRuntime

/// Graph inputs and outputs that live on the device: bound without an upload, returned without
/// a download, owned by the caller across runs, refused when they belong to another backend.
final class DeviceResidentGraphTests: XCTestCase {
    /// y = gelu(x·W + b) reshaped to [2, 3, 2]; also returns x reshaped, to exercise outputs
    /// that alias an input.
    private func graph() throws -> Graph {
        let g = GraphBuilder()
        let x = g.input("x", [4, 3])
        let w = g.constant("w", Tensor(uniform: [3, 3], seed: 11))
        let b = g.constant("b", Tensor(uniform: [3], seed: 12))
        let y = g.linear(x, weight: w, bias: b, activation: .gelu, name: "fc")
        g.output("y", g.reshape(y, [2, 3, 2]))
        g.output("x_view", g.reshape(x, [12]))
        return try g.build()
    }

    private let x1 = Tensor(uniform: [4, 3], seed: 1)
    private let x2 = Tensor(uniform: [4, 3], seed: 2)

    func testDeviceInputIsReadInPlaceWithoutUpload() throws {
        let backend = TransferCountingBackend(wrapping: ReferenceBackend())
        let compiled = try CompiledGraph(try graph(), backend: backend)
        let expected = try compiled.run(["x": x1])
        let onDevice = try DeviceTensor.upload(x1, to: backend)
        backend.reset()
        let out = try compiled.run(["x": .device(onDevice)])
        XCTAssertEqual(backend.uploads, [], "a device input must not be uploaded again")
        XCTAssertEqual(out.host["y"], expected["y"])
        XCTAssertEqual(out.host["x_view"], x1.reshaped([12]))
    }

    func testDeviceOutputIsNotDownloadedAndSurvivesLaterRuns() throws {
        let backend = TransferCountingBackend(wrapping: ReferenceBackend())
        let compiled = try CompiledGraph(try graph(), backend: backend)
        let want1 = try compiled.run(["x": x1])["y"]!
        let want2 = try compiled.run(["x": x2])["y"]!
        XCTAssertNotEqual(want1, want2)

        backend.reset()
        let first = try compiled.run(["x": .host(x1)], deviceOutputs: ["y"])
        XCTAssertNil(first.host["y"])
        XCTAssertEqual(backend.downloads, [[12]], "only the host output x_view comes back")
        let kept = try XCTUnwrap(first.device["y"])
        XCTAssertEqual(kept.shape, [2, 3, 2])
        // Another run reuses the graph's planned buffers; the caller's tensor must not change.
        _ = try compiled.run(["x": x2])
        let second = try compiled.run(["x": .host(x2)], deviceOutputs: ["y"])
        XCTAssertEqual(try kept.download(), want1)
        XCTAssertEqual(try second.device["y"]!.download(), want2)
        XCTAssertFalse(kept.ref.buffer === second.device["y"]!.ref.buffer, "each run gives the caller a buffer of its own")
    }

    func testOutputAliasingAnInputIsCopiedOnTheDevice() throws {
        let backend = TransferCountingBackend(wrapping: ReferenceBackend())
        let compiled = try CompiledGraph(try graph(), backend: backend)
        let out = try compiled.run(["x": .host(x1)], deviceOutputs: ["x_view"])
        XCTAssertEqual(backend.copies, [[12]])
        let view = try XCTUnwrap(out.device["x_view"])
        // The copy is the caller's: binding other data to the input leaves it alone.
        _ = try compiled.run(["x": x2])
        XCTAssertEqual(try view.download(), x1.reshaped([12]))
    }

    func testChainedGraphsStayOnTheDevice() throws {
        let backend = TransferCountingBackend(wrapping: ReferenceBackend())
        let first = try CompiledGraph(try graph(), backend: backend)
        let g = GraphBuilder()
        let y = g.input("y", [2, 3, 2])
        g.output("z", g.activation(y, .sigmoid))
        let second = try CompiledGraph(try g.build(), backend: backend)

        let reference = try second.run(["y": try first.run(["x": x1])["y"]!])["z"]!
        backend.reset()
        let mid = try first.run(["x": .host(x1)], deviceOutputs: ["y"])
        let z = try second.run(["y": .device(mid.device["y"]!)]).host["z"]
        XCTAssertEqual(z, reference)
        XCTAssertEqual(backend.uploads, [[4, 3]], "only the first graph's host input goes up")
        XCTAssertEqual(backend.downloads.filter { $0 == [2, 3, 2] }.count, 1, "only the final z comes down")
    }

    func testForeignDeviceTensorIsRefused() throws {
        let compiled = try CompiledGraph(try graph(), backend: ReferenceBackend())
        let elsewhere = try DeviceTensor.upload(x1, to: ReferenceBackend())
        XCTAssertThrowsError(try compiled.run(["x": .device(elsewhere)])) { error in
            guard case GraphError.foreignDeviceTensor(let name, _, _) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(name, "x")
        }
    }

    func testDeviceInputShapeAndUnknownOutputAreRefused() throws {
        let backend = ReferenceBackend()
        let compiled = try CompiledGraph(try graph(), backend: backend)
        let wrongShape = try DeviceTensor.upload(Tensor(zeros: [3, 4]), to: backend)
        XCTAssertThrowsError(try compiled.run(["x": .device(wrongShape)])) { error in
            guard case GraphError.inputShape(let name, let expected, let got) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(name, "x")
            XCTAssertEqual(expected, [4, 3])
            XCTAssertEqual(got, [3, 4])
        }
        XCTAssertThrowsError(try compiled.run(["x": .host(x1)], deviceOutputs: ["nope"])) { error in
            guard case GraphError.unknownOutput("nope") = error else { return XCTFail("unexpected \(error)") }
        }
    }

    func testDeviceCopyAndBatchItems() throws {
        let backend = TransferCountingBackend(wrapping: ReferenceBackend())
        let batch = Tensor(uniform: [3, 2, 5], seed: 7)
        let onDevice = try DeviceTensor.upload(batch, to: backend)
        backend.reset()
        let item = try onDevice.item(2)
        XCTAssertEqual(item.shape, [1, 2, 5])
        XCTAssertEqual(backend.copies, [[1, 2, 5]])
        XCTAssertEqual(backend.uploads, [])
        XCTAssertEqual(try item.download().data, Array(batch.data[20..<30]))
        XCTAssertThrowsError(try onDevice.item(3))
        let a = try backend.allocate(elementCount: 4), b = try backend.allocate(elementCount: 5)
        XCTAssertThrowsError(try backend.copy(TensorRef(buffer: a, shape: [4]), to: TensorRef(buffer: b, shape: [5])))
    }

    func testGreaterIsAStrictComparisonWithBroadcast() throws {
        let x = Tensor(shape: [2, 3], data: [-1, 0, 0.5, 0.25, .nan, 2])
        let out = try ReferenceKernels.execute(.binary(.greater), inputs: [x, Tensor(shape: [1], data: [0.25])])
        XCTAssertEqual(out.data, [0, 0, 1, 0, 0, 1])
        let rows = try ReferenceKernels.execute(.binary(.greater), inputs: [x, Tensor(shape: [3], data: [-2, 0, 1])])
        XCTAssertEqual(rows.data, [1, 0, 0, 1, 0, 1])
    }
}
