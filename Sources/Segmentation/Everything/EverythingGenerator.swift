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
/// The decoder's low-res logits stay on the predictor's backend. Only the masks whose
/// predicted IoU passes are measured, on that backend, by one graph per chunk of masks
/// (`MaskMeasures`: upsampling to the crop's size by the family's rule, the stability
/// thresholds, the mask threshold and pixel counts); per mask `H + W + 2` numbers come to the
/// host, which applies the stability threshold, box and crop-edge rule, and then downloads the
/// 0/1 masks that survive (packed, 24 pixels a number in float32) for run-length encoding.
public final class EverythingGenerator {
    public let predictor: Predictor
    public let parameters: EverythingParameters
    /// Where the time of the last `generate` went.
    public private(set) var lastTimings = EverythingTimings()
    private var measureGraphs: [MaskMeasuresKey: CompiledGraph] = [:]

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
        let limit = MaskMeasures.exactCountLimit(predictor.backend.info.storageType)
        for crop in crops where MaskMeasures.countingPlan(height: crop.height, width: crop.width, limit: limit) == nil {
            throw EverythingError.countsInexact(height: crop.height, width: crop.width,
                                                storage: predictor.backend.info.storageType.rawValue)
        }
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
    ///
    /// The low-res logits stay on the backend. The IoU filter runs on the host on the decoder's
    /// predicted IoUs (`P x M` numbers, downloaded with the decoder's output); the candidates
    /// that pass are copied on the backend into chunks and measured there (`MaskMeasures`:
    /// upsampling, thresholds, stability counts, row and column occupancy). The host applies
    /// the stability threshold, box and crop-edge rule to those `H + W + 2` numbers per mask
    /// and downloads only the 0/1 masks that survive (packed).
    private func process(batch: [(x: Double, y: Double)], crop: CropBox, image: Image,
                         timings: inout EverythingTimings) throws -> [EverythingMask] {
        let t0 = Self.now()
        let prompts = batch.map { ImagePrompt(points: [ImagePrompt.Point(x: Float($0.x), y: Float($0.y), label: 1)]) }
        let (lowRes, iou) = try predictor.decodeLowResolution(prompts, multimask: parameters.multimaskOutput)
        timings.decoder += Self.since(t0)
        timings.downloadedBytes += 4 * iou.count

        let m = iou.shape[1]
        // Python floats meet float32 tensors as float32 (PyTorch's scalar type promotion).
        let iouThreshold = Float(parameters.predIoUThresh)
        var passed: [(point: Int, mask: Int)] = []
        for p in 0..<batch.count {
            for k in 0..<m {
                timings.candidates += 1
                if parameters.predIoUThresh > 0 && !(iou.data[p * m + k] > iouThreshold) { continue }
                passed.append((p, k))
            }
        }
        timings.passedIoU += passed.count
        var masks: [EverythingMask] = []
        var start = 0
        while start < passed.count {
            let n = chunkSize(remaining: passed.count - start, crop: crop)
            let chunk = passed[start..<(start + n)]
            masks += try measure(chunk, lowRes: lowRes, masksPerPoint: m, iou: iou, batch: batch, crop: crop, image: image,
                                 timings: &timings)
            start += n
        }
        return masks
    }

    /// Masks measured per graph run: the largest power of two within what is left and within
    /// about 8 M pixels per tensor (so a run's buffers stay near 32 MB each), giving at most
    /// log2(8) + 1 compiled sizes per crop size and no padding.
    private func chunkSize(remaining: Int, crop: CropBox) -> Int {
        let cap = max(1, min(8, (1 << 23) / max(crop.width * crop.height, 1)))
        var n = 1
        while n * 2 <= min(remaining, cap) { n *= 2 }
        return n
    }

    /// Measures `chunk` (candidates of this batch, as point and mask index) on the backend and
    /// returns those that pass the stability filter and the crop-edge rule, in order.
    private func measure(_ chunk: ArraySlice<(point: Int, mask: Int)>, lowRes: DeviceTensor, masksPerPoint m: Int,
                         iou: Tensor, batch: [(x: Double, y: Double)], crop: CropBox, image: Image,
                         timings: inout EverythingTimings) throws -> [EverythingMask] {
        guard let transform = predictor.transform else { throw ImagePromptError.noImage }
        var t0 = Self.now()
        let backend = predictor.backend
        let n = chunk.count, lh = lowRes.shape[2], lw = lowRes.shape[3], plane = lh * lw
        let ch = crop.height, cw = crop.width
        guard let totals = MaskMeasures.countingPlan(height: ch, width: cw, limit: MaskMeasures.exactCountLimit(backend.info.storageType)) else {
            throw EverythingError.countsInexact(height: ch, width: cw, storage: backend.info.storageType.rawValue)
        }
        // Gather the candidates' low-res logits into one [n, 1, h, w] tensor, device to device.
        let shape: Shape = [n, 1, lh, lw]
        let gathered = try backend.allocate(elementCount: shape.count)
        for (j, c) in chunk.enumerated() {
            let source = TensorRef(buffer: lowRes.ref.buffer, offset: lowRes.ref.offset + (c.point * m + c.mask) * plane,
                                   shape: [1, 1, lh, lw])
            try backend.copy(source, to: TensorRef(buffer: gathered, offset: j * plane, shape: [1, 1, lh, lw]))
        }
        let bits = MaskMeasures.bitsPerNumber(backend.info.storageType)
        let key = MaskMeasuresKey(transform: transform, lowResShape: shape, stabilityOffset: parameters.stabilityScoreOffset,
                                  totalsOnBackend: totals, bitsPerNumber: bits)
        let out = try compiledMeasures(key).run([MaskMeasures.lowResLogits: .device(DeviceTensor(backend: backend, ref: TensorRef(buffer: gathered, shape: shape)))],
                                                deviceOutputs: [MaskMeasures.masks])
        guard let measures = out.host[MaskMeasures.measures], let deviceMasks = out.device[MaskMeasures.masks] else {
            throw BackendError.invalidArgument("the mask-measures graph gave no measures or masks")
        }
        let k = measures.shape[1]
        timings.downloadedBytes += 4 * measures.count
        timings.measures += Self.since(t0)

        let stabilityThreshold = Float(parameters.stabilityScoreThresh)
        var masks: [EverythingMask] = []
        for (j, c) in chunk.enumerated() {
            t0 = Self.now()
            let counts = MaskMeasure(measures.data[(j * k)..<((j + 1) * k)], height: ch, width: cw, totalsOnBackend: totals)
            let stability = counts.stabilityScore
            if parameters.stabilityScoreThresh > 0 && !(stability >= stabilityThreshold) {
                timings.filtering += Self.since(t0)
                continue
            }
            let nearEdge = MaskGeometry.isNearCropEdge(counts.box, crop: crop, imageWidth: image.width, imageHeight: image.height)
            timings.filtering += Self.since(t0)
            if nearEdge { continue }

            t0 = Self.now()
            let words = deviceMasks.shape[1]
            let row = TensorRef(buffer: deviceMasks.ref.buffer, offset: deviceMasks.ref.offset + j * words, shape: [words])
            let mask = MaskMeasures.unpack(try backend.download(row).data, pixels: ch * cw, bits: bits)
            timings.downloadedBytes += 4 * words
            timings.maskDownload += Self.since(t0)

            t0 = Self.now()
            let rle = MaskRLE(crop: mask, x0: crop.x0, y0: crop.y0, cropWidth: cw, cropHeight: ch,
                              height: image.height, width: image.width)
            timings.rle += Self.since(t0)
            masks.append(EverythingMask(rle: rle, boxXYXY: counts.box, predictedIoU: iou.data[c.point * m + c.mask],
                                        stabilityScore: stability, point: batch[c.point], crop: crop))
        }
        return masks
    }

    /// The mask-measures graph for `key`, compiled for the predictor's backend once and reused
    /// for every chunk of that size (a few sizes per crop size). Bounded, so a batch over many
    /// image sizes does not keep every size's buffers.
    private func compiledMeasures(_ key: MaskMeasuresKey) throws -> CompiledGraph {
        if let c = measureGraphs[key] { return c }
        if measureGraphs.count >= 8 { measureGraphs.removeAll() }
        let c = try CompiledGraph(try MaskMeasures.graph(key), backend: predictor.backend)
        measureGraphs[key] = c
        return c
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
