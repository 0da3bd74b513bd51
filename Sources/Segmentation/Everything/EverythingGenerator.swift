import Foundation
import MedicalImaging
import SAMModels
import TensorRuntime

/// SAM's automatic mask generator ("Everything" mode): masks for everything in an image from a
/// grid of single-point prompts, following segment-anything's `SamAutomaticMaskGenerator`
/// (docs/sam-spec.md §5.2) step by step, so its records match the reference's.
///
/// Per crop (the whole image, then the crops of each crop layer): one image-encoder run on the
/// crop; the grid's points, scaled to the crop, in batches of `pointsPerBatch` through the
/// prompt encoder and mask decoder with three masks per point; masks kept when their predicted
/// IoU is above `predIoUThresh` and their stability score at least `stabilityScoreThresh`;
/// thresholded at 0; boxes; masks touching an inner crop edge dropped; box NMS. Then NMS across
/// crops (smaller crops win) and, with `minMaskRegionArea`, hole and island removal.
///
/// The decoder's low-res logits are downloaded once per batch; only the masks that pass the
/// IoU filter are upsampled to the crop's size (by the model family's post-processing graph,
/// on the predictor's backend), and their logits come to the host for the stability score,
/// threshold, box and run-length encoding.
public final class EverythingGenerator {
    public let predictor: Predictor
    public let parameters: EverythingParameters
    /// Where the time of the last `generate` went.
    public private(set) var lastTimings = EverythingTimings()

    /// Fails with an `EverythingError` when a parameter is out of its range.
    public init(predictor: Predictor, parameters: EverythingParameters = EverythingParameters()) throws {
        try parameters.validate()
        self.predictor = predictor
        self.parameters = parameters
    }

    /// Masks for `image` (grey or RGB, intensities already mapped to 0...255), in the order the
    /// reference returns its records. The predictor's current embedding is replaced.
    public func generate(_ image: Image) throws -> [EverythingMask] {
        try parameters.validate(imageHeight: image.height, imageWidth: image.width)
        var timings = EverythingTimings()
        let start = Self.now()
        let crops = CropBox.generate(height: image.height, width: image.width, layers: parameters.cropNLayers,
                                     overlapRatio: parameters.cropOverlapRatio)
        let grids = parameters.grids()
        var masks: [EverythingMask] = []
        for crop in crops {
            masks += try process(crop: crop, of: image, grid: grids[crop.layer], timings: &timings)
        }
        if crops.count > 1 {
            // Prefer masks from smaller crops: score 1 / crop area (float32, as `1 / box_area`).
            let t0 = Self.now()
            let keep = BoxNMS.keep(boxes: masks.map { $0.boxXYXY.map(Float.init) },
                                   scores: masks.map { 1 / Float($0.crop.width * $0.crop.height) },
                                   threshold: parameters.cropNMSThresh)
            masks = keep.map { masks[$0] }
            timings.nms += Self.since(t0)
        }
        if parameters.minMaskRegionArea > 0 {
            let t0 = Self.now()
            masks = removeSmallRegions(masks, height: image.height, width: image.width)
            timings.smallRegions += Self.since(t0)
        }
        timings.total = Self.since(start)
        lastTimings = timings
        return masks
    }

    // MARK: One crop

    private func process(crop: CropBox, of image: Image, grid: [(x: Double, y: Double)],
                         timings: inout EverythingTimings) throws -> [EverythingMask] {
        try predictor.setImage(image.cropped(crop))
        timings.encoder += predictor.lastEncodeMilliseconds
        // Grid to crop pixels: `point_grids[layer] * [crop_w, crop_h]` in float64.
        let points = grid.map { (x: $0.x * Double(crop.width), y: $0.y * Double(crop.height)) }
        var masks: [EverythingMask] = []
        var batchStart = 0
        while batchStart < points.count {
            let batch = Array(points[batchStart..<min(batchStart + parameters.pointsPerBatch, points.count)])
            masks += try process(batch: batch, crop: crop, image: image, timings: &timings)
            batchStart += parameters.pointsPerBatch
        }
        let t0 = Self.now()
        // Boxes are still in crop pixels here, as the reference's NMS sees them.
        let keep = BoxNMS.keep(boxes: masks.map { $0.boxXYXY.map(Float.init) }, scores: masks.map(\.predictedIoU),
                               threshold: parameters.boxNMSThresh)
        masks = keep.map { m in
            var m = masks[m]
            m.boxXYXY = [m.boxXYXY[0] + crop.x0, m.boxXYXY[1] + crop.y0, m.boxXYXY[2] + crop.x0, m.boxXYXY[3] + crop.y0]
            m.point = (m.point.x + Double(crop.x0), m.point.y + Double(crop.y0))
            return m
        }
        timings.nms += Self.since(t0)
        return masks
    }

    /// The masks of one batch of points (in crop pixels), boxes still in crop pixels.
    private func process(batch: [(x: Double, y: Double)], crop: CropBox, image: Image,
                         timings: inout EverythingTimings) throws -> [EverythingMask] {
        var t0 = Self.now()
        let prompts = batch.map { ImagePrompt(points: [ImagePrompt.Point(x: Float($0.x), y: Float($0.y), label: 1)]) }
        let (lowResDevice, iou) = try predictor.decodeLowResolution(prompts, multimask: parameters.multimaskOutput)
        let lowRes = try lowResDevice.download()
        timings.decoder += Self.since(t0)

        guard let transform = predictor.transform else { throw ImagePromptError.noImage }
        let m = iou.shape[1], lh = lowRes.shape[2], lw = lowRes.shape[3]
        let ch = crop.height, cw = crop.width
        // Python floats meet float32 tensors as float32 (PyTorch's scalar type promotion).
        let iouThreshold = Float(parameters.predIoUThresh), stabilityThreshold = Float(parameters.stabilityScoreThresh)
        var masks: [EverythingMask] = []
        for p in 0..<batch.count {
            for k in 0..<m {
                let score = iou.data[p * m + k]
                timings.candidates += 1
                if parameters.predIoUThresh > 0 && !(score > iouThreshold) { continue }
                timings.passedIoU += 1
                t0 = Self.now()
                let start = (p * m + k) * lh * lw
                let one = Tensor(shape: [1, 1, lh, lw], data: Array(lowRes.data[start..<(start + lh * lw)]))
                let up = try predictor.model.postprocess(lowResLogits: .host(one), transform: transform, includesLogits: true,
                                                         on: predictor.backend)
                guard let logits = up.logits else { throw BackendError.invalidArgument("the post-processing graph gave no logits") }
                timings.upsampling += Self.since(t0)

                t0 = Self.now()
                let stability = MaskGeometry.stabilityScore(logits.data, threshold: 0, offset: parameters.stabilityScoreOffset)
                if parameters.stabilityScoreThresh > 0 && !(stability >= stabilityThreshold) {
                    timings.filtering += Self.since(t0)
                    continue
                }
                let mask = logits.data.map { $0 > 0 ? UInt8(1) : 0 }   // Sam.mask_threshold = 0.0
                let box = MaskGeometry.box(mask, height: ch, width: cw)
                let nearEdge = MaskGeometry.isNearCropEdge(box, crop: crop, imageWidth: image.width, imageHeight: image.height)
                timings.filtering += Self.since(t0)
                if nearEdge { continue }

                t0 = Self.now()
                let rle = MaskRLE(crop: mask, x0: crop.x0, y0: crop.y0, cropWidth: cw, cropHeight: ch,
                                  height: image.height, width: image.width)
                timings.rle += Self.since(t0)
                masks.append(EverythingMask(rle: rle, boxXYXY: box, predictedIoU: score, stabilityScore: stability,
                                            point: batch[p], crop: crop))
            }
        }
        return masks
    }

    // MARK: Small regions

    /// `postprocess_small_regions`: holes then islands below the area removed from every mask;
    /// NMS on the new boxes with unchanged masks preferred (score 1, changed 0); the kept
    /// changed masks take their new mask and box.
    private func removeSmallRegions(_ masks: [EverythingMask], height: Int, width: Int) -> [EverythingMask] {
        guard !masks.isEmpty else { return masks }
        let area = Double(parameters.minMaskRegionArea)
        var changedMasks: [Int: [UInt8]] = [:]
        var boxes: [[Float]] = [], scores: [Float] = [], newBoxes: [[Int]] = []
        for (i, m) in masks.enumerated() {
            let (filled, holesChanged) = SmallRegions.remove(m.rle.decode(), height: height, width: width, minArea: area, mode: .holes)
            let (cleaned, islandsChanged) = SmallRegions.remove(filled, height: height, width: width, minArea: area, mode: .islands)
            let box = MaskGeometry.box(cleaned, height: height, width: width)
            let changed = holesChanged || islandsChanged
            if changed { changedMasks[i] = cleaned }
            newBoxes.append(box)
            boxes.append(box.map(Float.init))
            scores.append(changed ? 0 : 1)
        }
        let keep = BoxNMS.keep(boxes: boxes, scores: scores, threshold: max(parameters.boxNMSThresh, parameters.cropNMSThresh))
        return keep.map { i in
            var m = masks[i]
            if let cleaned = changedMasks[i] {
                m.rle = MaskRLE(rowMajor: cleaned, height: height, width: width)
                m.boxXYXY = newBoxes[i]
            }
            return m
        }
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func since(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
}

extension Image {
    /// Rows y0..<y1 and columns x0..<x1 of the image (all channels).
    func cropped(_ crop: CropBox) -> Image {
        if crop.x0 == 0 && crop.y0 == 0 && crop.x1 == width && crop.y1 == height { return self }
        var out: [Float] = []
        out.reserveCapacity(crop.width * crop.height * channels)
        for y in crop.y0..<crop.y1 {
            let row = (y * width + crop.x0) * channels
            out += pixels[row..<(row + crop.width * channels)]
        }
        return Image(pixels: out, height: crop.height, width: crop.width, channels: channels, bitDepth: bitDepth, spacing: spacing)
    }
}

extension Predictor {
    /// The decoder's low-res logits `[P, M, 4h, 4w]` (left on the backend) and predicted IoU
    /// `[P, M]` for point/box prompts against the current image, without the post-processing
    /// `predict` runs on every mask: the generator upsamples only the masks it keeps.
    func decodeLowResolution(_ prompts: [ImagePrompt], multimask: Bool) throws -> (lowRes: DeviceTensor, iou: Tensor) {
        try decodeLowResolution(modelPrompts: try modelPrompts(prompts), multimask: multimask)
    }
}
