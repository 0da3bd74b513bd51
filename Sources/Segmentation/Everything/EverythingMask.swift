/// One mask of the automatic mask generator, with the fields of the reference's records
/// (`SamAutomaticMaskGenerator.generate`).
public struct EverythingMask: Equatable, Sendable {
    /// The mask over the whole image.
    public var rle: MaskRLE
    /// X0, Y0, X1, Y1 with X1, Y1 the last set column and row (inclusive).
    public var boxXYXY: [Int]
    public var predictedIoU: Float
    public var stabilityScore: Float
    /// The prompt point (x, y) in image pixels.
    public var point: (x: Double, y: Double)
    /// The crop whose encoder run produced the mask.
    public var crop: CropBox

    /// Set pixels.
    public var area: Int { rle.area }
    /// `bbox` of the record: X, Y, W, H from the inclusive box (W = X1 - X0).
    public var bbox: [Int] { [boxXYXY[0], boxXYXY[1], boxXYXY[2] - boxXYXY[0], boxXYXY[3] - boxXYXY[1]] }

    public static func == (a: EverythingMask, b: EverythingMask) -> Bool {
        a.rle == b.rle && a.boxXYXY == b.boxXYXY && a.predictedIoU == b.predictedIoU && a.stabilityScore == b.stabilityScore
            && a.point.x == b.point.x && a.point.y == b.point.y && a.crop == b.crop
    }
}

/// Where the time of one `EverythingGenerator.generate` went, in milliseconds.
public struct EverythingTimings: Equatable, Sendable {
    /// Image encoder runs (one per crop), preprocessing included.
    public var encoder: Double = 0
    /// Prompt encoder + mask decoder runs (one per point batch), the predicted IoU's download.
    public var decoder: Double = 0
    /// The mask-measures graph (`MaskMeasures`) on the backend for the masks past the IoU filter:
    /// upsampling to the crop's size, thresholds and pixel counts, and the counts' download.
    public var measures: Double = 0
    /// The stability filter, box and crop-edge rule on the host, from the downloaded counts.
    public var filtering: Double = 0
    /// Downloading the 0/1 masks that pass every filter.
    public var maskDownload: Double = 0
    /// Run-length encoding.
    public var rle: Double = 0
    /// Box NMS within and across crops.
    public var nms: Double = 0
    /// Hole and island removal with its NMS (`min_mask_region_area`).
    public var smallRegions: Double = 0
    public var total: Double = 0
    /// Candidates (points x 3) decoded, and how many passed the IoU filter.
    public var candidates = 0
    public var passedIoU = 0
    /// Bytes brought from the backend to the host: predicted IoUs, measures and surviving masks
    /// (the backend's float32 view of them: 4 bytes a number).
    public var downloadedBytes = 0

    public init() {}
}
