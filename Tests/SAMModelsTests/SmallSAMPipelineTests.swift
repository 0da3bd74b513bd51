import Foundation
import TensorRuntime
import XCTest
import SAMModels

/// The small SAM configuration (weights of `sam_small`) through the whole per-image path that
/// `Predictor` and `medsam segment` run — SAM preprocessing (PIL bilinear to the long side, pixel
/// mean/std, zero padding), encoder, prompt mapping (`apply_coords` / `apply_boxes`), prompt
/// encoder and decoder, post-processing (bilinear to the input, crop, bilinear to the image,
/// logits > 0) — against segment-anything's `SamPredictor` on a real, non-square CT crop
/// (`scripts/reference/families.py --only sam_small`). The CLI only knows the published
/// configurations; `scripts/tests/check_families.py` runs ViT-B through it.
final class SmallSAMPipelineTests: XCTestCase {
    static let set = "sam_small_pipeline"
    /// Logits at the image size and predicted IoU, reference backend (float32 storage) vs float64
    /// PyTorch. Measured worst (2026-12-03): logits 8.4e-12, IoU 2.2e-12 (three points, multimask);
    /// limit ~100x.
    static let limit = 1e-9
    /// Pixels this close to the threshold (logit units) may fall either side; none are this close here.
    static let thresholdBand: Float = 1e-4

    func testSamPredictorPathMatchesPyTorch() throws {
        let model = try SAMModel(config: SmallSAMParityTests.config,
                                 weights: NPYFolderSource(Fixtures.root.appendingPathComponent("sam_small/weights")))
        let backend = ReferenceBackend()
        let meta = try Fixtures.meta(Self.set)
        let grey = try Fixtures.tensor(Self.set, "image")
        let h = grey.shape[0], w = grey.shape[1]
        let rgb = Tensor(shape: [h, w, 3], data: grey.data.flatMap { [$0, $0, $0] })
        let (input, transform) = try model.preprocess(image: rgb)
        XCTAssertEqual([transform.resizedHeight, transform.resizedWidth], (meta["input_size"] as! [Int]))
        let embedding = try XCTUnwrap(try model.compiledEncoder(on: backend).run([EncoderIO.image: input]).values.first)
        let maskInput = try Fixtures.tensor(Self.set, "mask_input")

        for run in meta["runs"] as! [[String: Any]] {
            let name = run["name"] as! String
            // `medsam segment`'s prompt rules: each box one prompt; the points one prompt, with the box
            // when there is exactly one.
            let boxes = (run["boxes"] as? [[Double]] ?? []).map { transform.box($0.map(Float.init)) }
            let points = (run["points"] as? [[Double]] ?? []).map { p -> ModelPoint in
                let q = transform.point(x: Float(p[0]), y: Float(p[1]))
                return ModelPoint(x: q.x, y: q.y, label: Int(p[2]))
            }
            let mask = (run["mask_input"] as? Bool ?? false) ? maskInput : nil
            let prompts = boxes.count > 1 ? boxes.map { ModelPrompt(box: $0, maskInput: mask) }
                                          : [ModelPrompt(points: points, box: boxes.first, maskInput: mask)]
            let multimask = run["multimask"] as! Bool
            let out = try model.decode(prompts: prompts, embeddings: embedding, multimask: multimask, on: backend)
            let lowRes = try XCTUnwrap(out[DecoderIO.lowResLogits])
            let post = try model.postprocess(lowResLogits: .host(lowRes), transform: transform, includesLogits: true, on: backend)
            let logits = try XCTUnwrap(post.logits), masks = post.masks

            let wantLogits = try Fixtures.tensor(Self.set, "\(name).logits")
            XCTAssertEqual(logits.shape, wantLogits.shape, name)
            assertNMSE(logits, wantLogits, Self.limit, "\(name) logits at the image size")
            assertNMSE(out[DecoderIO.iouPredictions], try Fixtures.tensor(Self.set, "\(name).iou"), Self.limit, "\(name) IoU")
            let wantMasks = try Fixtures.tensor(Self.set, "\(name).masks")
            XCTAssertEqual(masks.shape, wantMasks.shape, name)
            var differing = 0, unsettled = 0
            for i in 0..<min(masks.count, wantMasks.count) where (masks.data[i] > 0) != (wantMasks.data[i] > 0) {
                differing += 1
                if abs(wantLogits.data[i]) <= Self.thresholdBand { unsettled += 1 }
            }
            XCTAssertEqual(differing - unsettled, 0, "\(name): \(differing) mask pixels differ from SamPredictor's")
            print("  \(name): \(masks.shape) masks, \(differing) pixels differ")
        }
    }
}
