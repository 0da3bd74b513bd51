import MedicalImaging
import SAMModels
@testable import Segmentation
import TensorRuntime
import XCTest

/// The challenge `.npz` path on a small random LiteMedSAM-family model (reference backend): the
/// two-sweep walk that encodes each slice once gives exactly the `segs` of the reference's walk
/// (box by box, up from the middle slice then down, every slice encoded again per box), for
/// boxes with different middle slices and overlapping z ranges; bad boxes name their row.
final class ChallengeInferenceTests: XCTestCase {
    func predictor() throws -> Predictor {
        Predictor(model: try SAMModel.random(PredictorTests.config(.liteMedSAM), seed: 7), backend: ReferenceBackend())
    }

    /// A D x H x W uint8 volume: a disk that drifts and grows with z, and a bright bar.
    func volume(depth: Int = 9, height: Int = 40, width: Int = 52) -> [Float] {
        var v = [Float](repeating: 15, count: depth * height * width)
        for z in 0..<depth {
            for y in 0..<height {
                for x in 0..<width {
                    let dx = Float(x - 15 - z), dy = Float(y - 18)
                    if dx * dx + dy * dy < Float(40 + 6 * z) { v[(z * height + y) * width + x] = 220 }
                    if x > 34 && x < 48 && y > 5 && y < 34 { v[(z * height + y) * width + x] = 140 }
                }
            }
        }
        return v
    }

    /// A challenge case written as a `.npz` (uint8 `imgs`, float32 `boxes`) and read back.
    func npzCase(imgs: [Float], shape: [Int], boxes: [[Float]]) throws -> MedSAMCase {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("challenge-\(UUID().uuidString).npz")
        defer { try? FileManager.default.removeItem(at: url) }
        try NPZWriter.write([("imgs", NPY.encode(Tensor(shape: Shape(shape), data: imgs), asUInt8: true)),
                             ("boxes", NPY.encode(Tensor(shape: [boxes.count, boxes[0].count], data: boxes.flatMap { $0 })))],
                            to: url)
        return try MedSAMCase.read(url)
    }

    func challengeCase(boxes: [[Float]], depth: Int = 9, height: Int = 40, width: Int = 52) throws -> MedSAMCase {
        try npzCase(imgs: volume(depth: depth, height: height, width: width), shape: [depth, height, width], boxes: boxes)
    }

    /// The reference's walk, written as the challenge script does it.
    func referenceWalk(_ c: MedSAMCase, _ p: Predictor) throws -> [UInt8] {
        let d = c.images.shape.dims
        let depth = d[0], hw = d[1] * d[2]
        var segs = [UInt8](repeating: 0, count: depth * hw)
        let rows = (0..<c.boxes!.shape[0]).map { Array(c.boxes!.values[($0 * 6)..<($0 * 6 + 6)]) }
        for (k, b) in rows.enumerated() {
            let label = UInt8(k + 1)
            var temp = [UInt8](repeating: 0, count: depth * hw)
            let zmin = Int(b[2]), zmax = Int(b[5]), middle = Int((b[5] - b[2]) / 2 + b[2])
            let box2d = [b[0], b[1], b[3], b[4]]
            func step(_ z: Int, previous: Int?) throws {
                let img = Image(pixels: Array(c.images.values[(z * hw)..<((z + 1) * hw)]), height: d[1], width: d[2], channels: 1)
                try p.setImage(img)
                let t = p.transform!
                let frame = previous.map { ChallengeInference.propagated(Array(temp[($0 * hw)..<(($0 + 1) * hw)]), label: k + 1, box2d, t) }
                    ?? t.box(box2d)
                let pred = try p.predict(frameBoxes: [frame])
                for i in 0..<hw where pred.masks.data[i] > 0 { temp[z * hw + i] = label }
            }
            for z in middle..<min(zmax + 1, depth) { try step(z, previous: z == middle ? nil : z - 1) }
            for z in stride(from: middle - 1, to: max(-1, zmin - 1), by: -1) { try step(z, previous: z + 1) }
            for i in 0..<(depth * hw) where temp[i] > 0 { segs[i] = label }
        }
        return segs
    }

    func testSweepsEqualTheReferenceWalkAndEncodeEachSliceOnce() throws {
        // Middles 4, 2 and 6; z ranges overlapping; the third box reaches the last slice.
        let c = try challengeCase(boxes: [[5, 8, 1, 30, 30, 7], [33, 4, 0, 50, 36, 4], [8, 10, 4, 28, 28, 8]])
        let p = try predictor()
        let expected = try referenceWalk(c, p)
        XCTAssertGreaterThan(Set(expected).count, 2, "the labels show up, so the comparison means something")
        for batch in [1, 3] {
            let r = try ChallengeInference.run(c, origin: "case", predictor: p, batch: batch)
            XCTAssertEqual(r.shape, [9, 40, 52])
            XCTAssertEqual(r.images, 9, "every slice encoded once (batch \(batch))")
            XCTAssertEqual(r.segs, expected, "batch \(batch)")
        }
    }

    func testTwoDimensionalCaseAndBadBoxes() throws {
        let img = PredictorTests.image(height: 48, width: 40)
        let rgb = img.rgb()
        let c = try npzCase(imgs: rgb.pixels, shape: [48, 40, 3], boxes: [[2, 3, 30, 30], [10, 20, 39, 47]])
        let p = try predictor()
        let r = try ChallengeInference.run(c, origin: "case", predictor: p, batch: 4)
        try p.setImage(rgb)
        let pred = try p.predict([ImagePrompt(box: [2, 3, 30, 30]), ImagePrompt(box: [10, 20, 39, 47])])
        var expected = [UInt8](repeating: 0, count: 48 * 40)
        for k in 0..<2 { for i in 0..<(48 * 40) where pred.masks.data[k * 48 * 40 + i] > 0 { expected[i] = UInt8(k + 1) } }
        XCTAssertEqual(r.segs, expected)
        XCTAssertEqual(r.shape, [48, 40])
        let bad = try npzCase(imgs: rgb.pixels, shape: [48, 40, 3], boxes: [[2, 3, 30, 30], [10, 20, 41, 47]])
        XCTAssertThrowsError(try ChallengeInference.run(bad, origin: "x.npz", predictor: p, batch: 1)) {
            XCTAssertTrue("\($0)".contains("x.npz, field 'boxes' row 1"), "\($0)")
        }
        let wrongWidth = try challengeCase(boxes: [[1, 2, 3, 4]])
        XCTAssertThrowsError(try ChallengeInference.run(wrongWidth, origin: "y.npz", predictor: p, batch: 1)) {
            XCTAssertTrue("\($0)".contains("y.npz, field 'boxes': shape [1,4], expected N x 6"), "\($0)")
        }
    }
}
