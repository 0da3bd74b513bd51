import CPUBackend
import MedicalImaging
import SAMModels
@testable import Segmentation
import TensorRuntime
import XCTest

/// Everything mode's per-mask work on the backend (`MaskMeasures`) against the host computation
/// it replaced: the logits of every candidate upsampled by the post-processing graph and
/// downloaded, then `MaskGeometry`'s stability score, threshold, box and crop-edge rule on the
/// host. Small random SAM-family models on the reference and cpu backends.
final class EverythingBackendTests: XCTestCase {
    /// The host pipeline per crop (no NMS): every candidate's logits on the host.
    private func hostMasks(_ predictor: Predictor, image: Image, parameters p: EverythingParameters) throws -> [EverythingMask] {
        var out: [EverythingMask] = []
        let grids = p.grids()
        for crop in CropBox.generate(height: image.height, width: image.width, layers: p.cropNLayers, overlapRatio: p.cropOverlapRatio) {
            try predictor.setImage(image.cropped(crop))
            let points = grids[crop.layer].map { (x: $0.x * Double(crop.width), y: $0.y * Double(crop.height)) }
            let prediction = try predictor.predict(points.map { ImagePrompt(points: [.init(x: Float($0.x), y: Float($0.y))]) },
                                                   multimask: p.multimaskOutput, outputs: .logits)
            let logits = try XCTUnwrap(prediction.logits)
            let m = prediction.iou.shape[1], hw = crop.height * crop.width
            for i in points.indices {
                for k in 0..<m {
                    let l = Array(logits.data[((i * m + k) * hw)..<((i * m + k + 1) * hw)])
                    let stability = MaskGeometry.stabilityScore(l, offset: p.stabilityScoreOffset)
                    if p.stabilityScoreThresh > 0 && !(stability >= Float(p.stabilityScoreThresh)) { continue }
                    let mask = l.map { $0 > 0 ? UInt8(1) : 0 }
                    let box = MaskGeometry.box(mask, height: crop.height, width: crop.width)
                    if MaskGeometry.isNearCropEdge(box, crop: crop, imageWidth: image.width, imageHeight: image.height) { continue }
                    out.append(EverythingMask(
                        rle: MaskRLE(crop: mask, x0: crop.x0, y0: crop.y0, cropWidth: crop.width, cropHeight: crop.height,
                                     height: image.height, width: image.width),
                        boxXYXY: [box[0] + crop.x0, box[1] + crop.y0, box[2] + crop.x0, box[3] + crop.y0],
                        predictedIoU: prediction.iou.data[i * m + k], stabilityScore: stability,
                        point: (points[i].x + Double(crop.x0), points[i].y + Double(crop.y0)), crop: crop))
                }
            }
        }
        return out
    }

    func testBackendMeasuresGiveTheHostPipelinesMasks() throws {
        var p = EverythingParameters()
        p.pointsPerSide = 3
        p.predIoUThresh = 0
        p.stabilityScoreThresh = 0
        p.cropNLayers = 1
        // NMS keeps everything (IoU > 1 never holds), so every mask past the filters is compared.
        p.boxNMSThresh = 1
        p.cropNMSThresh = 1
        // One decoder batch per crop, as the host pipeline decodes: the cpu backend's GEMM blocking
        // depends on the batch, so other batch sizes move logits by ulps (this compares the measures,
        // not the decoder). The 27 candidates per crop go through chunks of 8, 2 and 1 masks.
        let image = PredictorTests.image(height: 90, width: 70)
        for family in [PreprocessingFamily.sam, .liteMedSAM, .medsam] {
            for backend in [ReferenceBackend() as any Backend, CPUBackend()] {
                let predictor = Predictor(model: try SAMModel.random(PredictorTests.config(family), seed: 7), backend: backend)
                let expected = try hostMasks(predictor, image: image, parameters: p)
                let generator = try EverythingGenerator(predictor: predictor, parameters: p)
                let got = try generator.generate(image)
                let t = generator.lastTimings
                let label = "\(family) on \(backend.info.backend)"
                // The filters must have had something to do, or the comparison proves little.
                XCTAssertGreaterThan(expected.count, 0, label)
                XCTAssertLessThan(expected.count, t.passedIoU, "\(label): the crop-edge rule dropped none")
                XCTAssertEqual(got.count, expected.count, label)
                for (i, e) in expected.enumerated() {
                    XCTAssertTrue(got.contains(e), "\(label): host mask \(i) (box \(e.boxXYXY), crop \(e.crop.xyxy)) not generated")
                }
            }
        }
    }

    /// Only the IoU predictions, the measures and the surviving masks cross to the host: never
    /// the low-res logits, never the logits or masks of a candidate that is filtered out.
    func testOnlyMeasuresAndSurvivingMasksAreDownloaded() throws {
        var p = EverythingParameters()
        p.pointsPerSide = 4
        p.predIoUThresh = 0
        p.stabilityScoreThresh = 0
        p.boxNMSThresh = 1
        let backend = TransferCountingBackend(wrapping: CPUBackend())
        let predictor = Predictor(model: try SAMModel.random(PredictorTests.config(.sam), seed: 7), backend: backend)
        let image = PredictorTests.image(height: 90, width: 70)
        let generator = try EverythingGenerator(predictor: predictor, parameters: p)
        backend.reset()
        let masks = try generator.generate(image)
        let t = generator.lastTimings
        XCTAssertGreaterThan(masks.count, 0)
        let downloads = backend.downloads
        // 6300 pixels packed 24 to a float32: 263 numbers per surviving mask.
        XCTAssertEqual(downloads.filter { $0 == [263] }.count, masks.count, "one mask download per surviving mask: \(downloads)")
        XCTAssertFalse(downloads.contains { $0.rank == 4 }, "no low-res or full-size logits tensor downloaded: \(downloads)")
        XCTAssertEqual(downloads.reduce(0) { $0 + 4 * $1.count }, t.downloadedBytes, "downloadedBytes counts every download")
        // 16 points x 3 IoUs, every candidate past the IoU filter x (2 totals + 90 rows + 70 columns),
        // and the surviving masks.
        XCTAssertEqual(t.downloadedBytes, 4 * (16 * 3 + t.passedIoU * (2 + 90 + 70) + masks.count * 263))
    }

    /// The graph's two layouts (totals on the backend, or per-row counts added on the host for
    /// masks beyond the storage type's exact range) give the host's counts and boxes, and the
    /// packed masks (24 bits a number for float32, 11 for float16) unpack to the host's masks.
    func testBothCountingLayoutsGiveTheHostsCountsAndBoxes() throws {
        let backend = CPUBackend()
        let transform = ImageTransform(family: .sam, originalHeight: 45, originalWidth: 37, inputSize: 128)
        // Smooth random logits: a sum of a few bumps per mask, so masks have shape and holes.
        let n = 4, side = 32
        var data = [Float](repeating: 0, count: n * side * side)
        for i in 0..<n {
            for y in 0..<side {
                for x in 0..<side {
                    let fx = Float(x) / Float(side), fy = Float(y) / Float(side)
                    data[(i * side + y) * side + x] = 3 * sinf(Float(i + 2) * fx * 3) * cosf(Float(i + 1) * fy * 2.5) - Float(i) * 0.7
                }
            }
        }
        let lowRes = Tensor(shape: [n, 1, side, side], data: data)
        let reference = try CompiledGraph(try Postprocessing.graph(PostprocessingKey(transform: transform, lowResShape: lowRes.shape,
                                                                                     includesLogits: true)), backend: backend)
        let logits = try XCTUnwrap(try reference.run([Postprocessing.lowResLogits: .host(lowRes)]).host[Postprocessing.logits])
        let h = 45, w = 37
        for totals in [true, false] {
            let key = MaskMeasuresKey(transform: transform, lowResShape: lowRes.shape, stabilityOffset: 1, totalsOnBackend: totals,
                                      bitsPerNumber: totals ? 24 : 11)
            let out = try CompiledGraph(try MaskMeasures.graph(key), backend: backend)
                .run([MaskMeasures.lowResLogits: .host(lowRes)])
            let measures = try XCTUnwrap(out.host[MaskMeasures.measures]), masks = try XCTUnwrap(out.host[MaskMeasures.masks])
            let k = MaskMeasures.measureCount(height: h, width: w, totalsOnBackend: totals)
            XCTAssertEqual(measures.shape, [n, k])
            for i in 0..<n {
                let l = Array(logits.data[(i * h * w)..<((i + 1) * h * w)])
                let mask = l.map { $0 > 0 ? UInt8(1) : 0 }
                let m = MaskMeasure(measures.data[(i * k)..<((i + 1) * k)], height: h, width: w, totalsOnBackend: totals)
                XCTAssertEqual(m.high, l.filter { $0 > 1 }.count, "mask \(i), totals \(totals)")
                XCTAssertEqual(m.low, l.filter { $0 > -1 }.count, "mask \(i), totals \(totals)")
                XCTAssertEqual(m.stabilityScore, MaskGeometry.stabilityScore(l, offset: 1))
                XCTAssertEqual(m.box, MaskGeometry.box(mask, height: h, width: w), "mask \(i), totals \(totals)")
                let words = MaskMeasures.packedCount(height: h, width: w, bits: key.bitsPerNumber)
                XCTAssertEqual(masks.shape, [n, words])
                XCTAssertEqual(MaskMeasures.unpack(Array(masks.data[(i * words)..<((i + 1) * words)]), pixels: h * w,
                                                   bits: key.bitsPerNumber), mask, "mask \(i), \(key.bitsPerNumber) bits a number")
            }
        }
    }

    func testCountingPlanKeepsCountsExact() {
        let f32 = MaskMeasures.exactCountLimit(.float32), f16 = MaskMeasures.exactCountLimit(.float16)
        XCTAssertEqual(f32, 16_777_216)
        XCTAssertEqual(MaskMeasures.countingPlan(height: 1024, width: 1024, limit: f32), true)
        XCTAssertEqual(MaskMeasures.countingPlan(height: 4096, width: 4096, limit: f32), true, "2^24 pixels: still exact")
        XCTAssertEqual(MaskMeasures.countingPlan(height: 4097, width: 4096, limit: f32), false, "totals on the host")
        XCTAssertEqual(MaskMeasures.countingPlan(height: 1024, width: 1024, limit: f16), false)
        XCTAssertNil(MaskMeasures.countingPlan(height: 3000, width: 100, limit: f16))
        XCTAssertEqual(MaskGeometry.box(rowCounts: [Float](repeating: 0, count: 3), columnCounts: [0, 0]), [0, 0, 0, 0])
        XCTAssertEqual(MaskGeometry.box(rowCounts: [0, 2, 0, 1] as [Float], columnCounts: [0, 1, 1, 1, 0]), [1, 1, 3, 3])
        XCTAssertTrue("\(EverythingError.countsInexact(height: 3000, width: 100, storage: "float16"))".contains("at most 2048 a side"))
    }
}
