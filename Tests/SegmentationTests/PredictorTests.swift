import MedicalImaging
import SAMModels
import Segmentation
import TensorRuntime
import XCTest

/// The predictor's device-resident path on a small random SAM (the configuration of
/// SAMModelsTests' PyTorch fixtures), on the reference backend: the embedding never crosses to
/// the host between encoder and decoder, stored embeddings and batched encoding reproduce the
/// masks exactly, and bad prompts get their specific errors.
final class PredictorTests: XCTestCase {
    static func config(_ family: PreprocessingFamily) -> SAMModelConfig {
        SAMModelConfig(
            encoder: .vit(SAMViTConfig(imageSize: 128, patchSize: 16, embedDim: 48, depth: 3, heads: 3,
                                       globalAttentionIndexes: [1], windowSize: 3, outChannels: 32)),
            promptEncoder: PromptEncoderConfig(embedDim: 32, embeddingSize: 8, inputSize: 128, maskInChannels: 4),
            maskDecoder: MaskDecoderConfig(transformerDim: 32, depth: 2, heads: 4, mlpDim: 64, iouHeadHiddenDim: 32),
            preprocessing: family)
    }

    /// A grey image with a bright disk and a darker square: something for random weights to see.
    static func image(height: Int = 90, width: Int = 70, seed: Int = 0) -> Image {
        var pixels = [Float](repeating: 20, count: height * width)
        for y in 0..<height {
            for x in 0..<width {
                let dx = Float(x - width / 3 - seed), dy = Float(y - height / 3)
                if dx * dx + dy * dy < 150 { pixels[y * width + x] = 230 }
                if x > width / 2 && y > height / 2 && x < width - 5 { pixels[y * width + x] = 120 }
            }
        }
        return Image(pixels: pixels, height: height, width: width, channels: 1)
    }

    func predictor(_ family: PreprocessingFamily = .sam, backend: any Backend = ReferenceBackend()) throws -> Predictor {
        Predictor(model: try SAMModel.random(Self.config(family), seed: 7), backend: backend)
    }

    func testEmbeddingStaysOnTheDeviceBetweenEncoderAndDecoder() throws {
        let backend = TransferCountingBackend(wrapping: ReferenceBackend())
        let p = try predictor(backend: backend)
        let image = Self.image()
        try p.setImage(image)
        let embeddingShape: Shape = [1, 32, 8, 8]
        XCTAssertFalse(backend.downloads.contains(embeddingShape), "setImage must not download the embedding")
        backend.reset()
        let prediction = try p.predict([ImagePrompt(box: [10, 12, 50, 60])])
        XCTAssertFalse(backend.uploads.contains(embeddingShape), "predict must not upload the embedding")
        XCTAssertFalse(backend.downloads.contains(embeddingShape), "predict must not download the embedding")
        // What comes back: the IoU predictions and the final masks, nothing else.
        XCTAssertEqual(Set(backend.downloads), [[1, 1], [1, 1, 90, 70]])
        XCTAssertEqual(prediction.masks.shape, [1, 1, 90, 70])
        XCTAssertNil(prediction.logits)
        XCTAssertNil(prediction.lowResLogits)
    }

    func testStoredEmbeddingReproducesMasksExactly() throws {
        for family in [PreprocessingFamily.sam, .medsam, .liteMedSAM] {
            let p = try predictor(family)
            let image = Self.image()
            try p.setImage(image)
            let prompts = [ImagePrompt(box: [10, 12, 50, 60]), ImagePrompt(box: [30, 40, 68, 88])]
            let direct = try p.predict(prompts, outputs: [.logits, .lowResLogits])
            let stored = try p.downloadEmbedding()
            XCTAssertEqual(stored.shape, [1, 32, 8, 8])

            let q = try predictor(family)
            try q.setEmbedding(stored, imageHeight: image.height, imageWidth: image.width)
            let again = try q.predict(prompts, outputs: [.logits, .lowResLogits])
            XCTAssertEqual(again.masks, direct.masks, "\(family)")
            XCTAssertEqual(again.iou, direct.iou, "\(family)")
            XCTAssertEqual(again.logits, direct.logits, "\(family)")
            XCTAssertEqual(again.lowResLogits, direct.lowResLogits, "\(family)")
            XCTAssertEqual(direct.logits?.shape, [2, 1, 90, 70])
            XCTAssertEqual(direct.lowResLogits?.shape, [2, 1, 32, 32])
        }
    }

    func testMasksAreTheThresholdedLogits() throws {
        // SAM thresholds its upscaled logits at 0; the post-processing graph must agree with
        // the logits it returns, pixel by pixel.
        let p = try predictor(.sam)
        try p.setImage(Self.image())
        let out = try p.predict([ImagePrompt(box: [5, 5, 60, 80])], outputs: [.logits])
        let logits = try XCTUnwrap(out.logits)
        XCTAssertEqual(out.masks.data, logits.data.map { $0 > 0 ? 1 : 0 })
        XCTAssertGreaterThan(out.area(0, 0), 0)
        XCTAssertLessThan(out.area(0, 0), 90 * 70)
    }

    func testBatchedEncodingEqualsOneAtATime() throws {
        let p = try predictor()
        let images = [Self.image(seed: 0), Self.image(height: 64, width: 100, seed: 3), Self.image(seed: 6)]
        let batch = try p.embed(images)
        XCTAssertEqual(batch.count, 3)
        for (i, image) in images.enumerated() {
            try p.setImage(image)
            XCTAssertEqual(try batch[i].download(), try p.downloadEmbedding(), "image \(i)")
            XCTAssertEqual(batch[i].transform, p.transform, "image \(i)")
            let single = try p.predict([ImagePrompt(box: [4, 6, 40, 50])])
            try p.setEmbedding(batch[i])
            XCTAssertEqual(try p.predict([ImagePrompt(box: [4, 6, 40, 50])]).masks, single.masks, "image \(i)")
        }
        XCTAssertNotEqual(try batch[0].download(), try batch[2].download())
    }

    func testMultimaskAndMaskInput() throws {
        let p = try predictor()
        try p.setImage(Self.image())
        let multi = try p.predict([ImagePrompt(points: [.init(x: 23, y: 30), .init(x: 60, y: 80, label: 0)])],
                                  multimask: true, outputs: [.lowResLogits])
        XCTAssertEqual(multi.masks.shape, [1, 3, 90, 70])
        XCTAssertEqual(multi.iou.shape, [1, 3])
        let best = multi.bestMask(0)
        XCTAssertEqual(multi.iou.data[best], multi.iou.data.max())
        // A follow-up prompt with the best mask's low-res logits as mask input.
        let low = try XCTUnwrap(multi.lowResLogits)
        let side = 32 * 32
        let maskLogits = Tensor(shape: [1, 32, 32], data: Array(low.data[(best * side)..<((best + 1) * side)]))
        let plain = try p.predict([ImagePrompt(box: [10, 12, 50, 60])], outputs: [.logits])
        let refined = try p.predict([ImagePrompt(box: [10, 12, 50, 60], maskLogits: maskLogits)], outputs: [.logits])
        XCTAssertEqual(refined.masks.shape, [1, 1, 90, 70])
        XCTAssertNotEqual(refined.logits, plain.logits, "the mask input must reach the decoder")
    }

    /// `bestMask` picks the first of equal predicted IoUs, as NumPy's argmax does (evaluate's
    /// `best`, segment --multimask and the server all choose through it).
    func testBestMaskTakesTheFirstOfEqualIoUs() {
        let iou = Tensor(shape: [4, 3], data: [0.5, 0.9, 0.9,   0.7, 0.7, 0.7,   0.1, 0.2, 0.3,   0.8, 0.8, 0.1])
        let p = Prediction(masks: Tensor(shape: [4, 3, 1, 1], data: [Float](repeating: 0, count: 12)), iou: iou)
        XCTAssertEqual((0..<4).map { p.bestMask($0) }, [1, 0, 2, 0])
        let single = Prediction(masks: Tensor(shape: [2, 1, 1, 1], data: [0, 0]), iou: Tensor(shape: [2, 1], data: [0.3, 0.1]))
        XCTAssertEqual([single.bestMask(0), single.bestMask(1)], [0, 0])
    }

    func testBadPromptsAndEmbeddingsGetTheirErrors() throws {
        let p = try predictor()
        XCTAssertThrowsError(try p.predict([ImagePrompt(box: [0, 0, 5, 5])])) { XCTAssertEqual($0 as? ImagePromptError, .noImage) }
        try p.setImage(Self.image())
        XCTAssertThrowsError(try p.predict([ImagePrompt()])) { XCTAssertEqual($0 as? ImagePromptError, .noPrompt) }
        XCTAssertThrowsError(try p.predict([ImagePrompt(box: [0, 0, 71, 10])])) {
            XCTAssertEqual($0 as? ImagePromptError, .boxOutside(box: [0, 0, 71, 10], width: 70, height: 90))
        }
        XCTAssertThrowsError(try p.predict([ImagePrompt(box: [20, 0, 10, 10])])) {
            XCTAssertEqual($0 as? ImagePromptError, .boxInverted([20, 0, 10, 10]))
        }
        XCTAssertThrowsError(try p.predict([ImagePrompt(points: [.init(x: 3, y: 91)])])) {
            XCTAssertEqual($0 as? ImagePromptError, .pointOutside(x: 3, y: 91, width: 70, height: 90))
        }
        XCTAssertThrowsError(try p.predict([ImagePrompt(points: [.init(x: 3, y: 9, label: 2)])])) {
            XCTAssertEqual($0 as? ImagePromptError, .badLabel(2))
        }
        XCTAssertThrowsError(try p.setEmbedding(Tensor(zeros: [1, 32, 8, 9]), imageHeight: 90, imageWidth: 70)) {
            XCTAssertEqual($0 as? EmbeddingError, .shape(expected: [1, 32, 8, 8], got: [1, 32, 8, 9]))
        }
        // An embedding of another backend is refused rather than read as foreign memory.
        let other = try predictor()
        try other.setImage(Self.image())
        XCTAssertThrowsError(try p.setEmbedding(other.current!))
    }

    func testVolumePropagationWithBatchedEncodingEqualsOneSliceAtATime() throws {
        // Five slices of the disk image, moving one pixel per slice; axial slices of [x, y, z].
        let slices = (0..<5).map { Self.image(height: 40, width: 36, seed: $0) }
        var voxels = [Float](repeating: 0, count: 36 * 40 * 5)
        for (z, s) in slices.enumerated() {
            for y in 0..<40 { for x in 0..<36 { voxels[(z * 40 + y) * 36 + x] = s.pixels[y * 36 + x] } }
        }
        let volume = Volume(voxels: voxels, dims: [36, 40, 5], spacing: [1, 1, 1],
                            affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                            sourceType: .float32, source: "synthetic")
        var results: [VolumePropagation.Result] = []
        for batch in [1, 3] {
            var propagation = VolumePropagation()
            propagation.encodeBatch = batch
            results.append(try propagation.run(volume: volume, axis: .axial, keySlice: 2, box: [2, 2, 30, 30], range: 0...4,
                                               predictor: try predictor()))
        }
        XCTAssertEqual(results[0].mask, results[1].mask)
        XCTAssertEqual(results[0].areas, results[1].areas)
        XCTAssertEqual(Set(results[0].areas.keys), Set(0...4))
    }
}
