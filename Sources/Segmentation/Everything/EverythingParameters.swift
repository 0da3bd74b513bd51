import TensorRuntime

/// Settings of SAM's automatic mask generator ("Everything" mode), with the reference's
/// defaults (`SamAutomaticMaskGenerator.__init__` in segment-anything; docs/sam-spec.md §5.2).
public struct EverythingParameters: Equatable, Sendable {
    /// Points a side of the whole-image grid (ignored when `pointGrids` is given).
    public var pointsPerSide: Int = 32
    /// Explicit normalised grids, one per crop layer (layer 0 first), points (x, y) in 0...1;
    /// replaces `pointsPerSide`.
    public var pointGrids: [[[Double]]]?
    /// Prompts per decoder run.
    public var pointsPerBatch: Int = 64
    /// Keep masks whose predicted IoU is above this (0 keeps all).
    public var predIoUThresh: Double = 0.88
    /// Keep masks whose stability score is at least this (0 keeps all).
    public var stabilityScoreThresh: Double = 0.95
    /// How far the logit cut-offs of the stability score lie from 0.
    public var stabilityScoreOffset: Double = 1.0
    /// IoU above which box NMS drops a mask within a crop.
    public var boxNMSThresh: Double = 0.7
    /// Crop layers beyond the whole image (layer i has 2^i x 2^i crops).
    public var cropNLayers: Int = 0
    /// IoU above which the NMS across crops drops a mask (masks of smaller crops win).
    public var cropNMSThresh: Double = 0.7
    /// Overlap of neighbouring crops, as a fraction of the image's short side at layer 1.
    public var cropOverlapRatio: Double = 512.0 / 1500.0
    /// Layer i's grid has `pointsPerSide / factor^i` points a side.
    public var cropNPointsDownscaleFactor: Int = 1
    /// Holes and islands smaller than this many pixels are removed (0: no clean-up).
    public var minMaskRegionArea: Int = 0
    /// Three masks per point, as the reference always asks for. Not a reference parameter:
    /// `false` uses the single-mask output instead, which box-trained models (LiteMedSAM, whose
    /// multimask outputs were never trained and stay near zero) need to give any mask.
    public var multimaskOutput: Bool = true

    public init() {}

    /// Checks every setting, and that an image of `height` x `width` gives crops of at least
    /// one pixel and grids of at least one point.
    public func validate(imageHeight height: Int? = nil, imageWidth width: Int? = nil) throws {
        if let grids = pointGrids {
            guard grids.count == cropNLayers + 1 else {
                throw EverythingError.pointGridCount(expected: cropNLayers + 1, got: grids.count)
            }
            for (layer, grid) in grids.enumerated() {
                guard !grid.isEmpty else { throw EverythingError.emptyPointGrid(layer: layer) }
                for p in grid {
                    guard p.count == 2, p.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
                        throw EverythingError.pointOutsideUnitSquare(layer: layer, point: p)
                    }
                }
            }
        } else {
            guard pointsPerSide > 0 else { throw EverythingError.nonPositive(name: "points_per_side", value: pointsPerSide) }
        }
        guard pointsPerBatch > 0 else { throw EverythingError.nonPositive(name: "points_per_batch", value: pointsPerBatch) }
        guard cropNLayers >= 0 else { throw EverythingError.negative(name: "crop_n_layers", value: cropNLayers) }
        guard cropNLayers <= 10 else { throw EverythingError.tooManyCropLayers(cropNLayers) }
        guard cropNPointsDownscaleFactor > 0 else {
            throw EverythingError.nonPositive(name: "crop_n_points_downscale_factor", value: cropNPointsDownscaleFactor)
        }
        guard minMaskRegionArea >= 0 else { throw EverythingError.negative(name: "min_mask_region_area", value: minMaskRegionArea) }
        for (name, value) in [("pred_iou_thresh", predIoUThresh), ("stability_score_thresh", stabilityScoreThresh),
                              ("box_nms_thresh", boxNMSThresh), ("crop_nms_thresh", cropNMSThresh),
                              ("crop_overlap_ratio", cropOverlapRatio)] {
            guard value.isFinite, value >= 0, value <= 1 else { throw EverythingError.outsideUnitInterval(name: name, value: value) }
        }
        guard stabilityScoreOffset.isFinite, stabilityScoreOffset >= 0 else {
            throw EverythingError.badOffset(stabilityScoreOffset)
        }
        if pointGrids == nil {
            for layer in 0...cropNLayers where PointGrid.pointsPerSide(forLayer: layer, pointsPerSide, cropNPointsDownscaleFactor) < 1 {
                throw EverythingError.emptyLayerGrid(layer: layer, pointsPerSide: pointsPerSide, factor: cropNPointsDownscaleFactor)
            }
        }
        if let height, let width {
            guard height > 0, width > 0 else { throw EverythingError.emptyImage(height: height, width: width) }
            for crop in CropBox.generate(height: height, width: width, layers: cropNLayers, overlapRatio: cropOverlapRatio)
            where crop.width < 1 || crop.height < 1 {
                throw EverythingError.cropTooSmall(crop: crop.xyxy, layer: crop.layer, height: height, width: width)
            }
        }
    }

    /// Every setting in words (`medsam evaluate` shows it with the `everything` scores and
    /// records it in its journal, so a resumed run with other settings is refused).
    public var summary: String {
        (pointGrids.map { "explicit grids of \($0.map { String($0.count) }.joined(separator: "/")) points" } ?? "\(pointsPerSide) points a side")
            + ", \(multimaskOutput ? "three" : "single") masks per point, predicted IoU > \(predIoUThresh), "
            + "stability >= \(stabilityScoreThresh) (offset \(stabilityScoreOffset)), box NMS \(boxNMSThresh), "
            + "\(cropNLayers) crop layers (NMS \(cropNMSThresh), overlap \(cropOverlapRatio), points downscale \(cropNPointsDownscaleFactor)), "
            + "min mask region area \(minMaskRegionArea) px, \(pointsPerBatch) points per batch"
    }

    /// The normalised grid of each crop layer.
    public func grids() -> [[(x: Double, y: Double)]] {
        if let pointGrids { return pointGrids.map { $0.map { (x: $0[0], y: $0[1]) } } }
        return PointGrid.layers(pointsPerSide: pointsPerSide, cropLayers: cropNLayers, downscaleFactor: cropNPointsDownscaleFactor)
    }
}

/// Settings or inputs the automatic mask generator cannot run with.
public enum EverythingError: Error, CustomStringConvertible, Equatable {
    case nonPositive(name: String, value: Int)
    case negative(name: String, value: Int)
    case outsideUnitInterval(name: String, value: Double)
    case badOffset(Double)
    case tooManyCropLayers(Int)
    case emptyLayerGrid(layer: Int, pointsPerSide: Int, factor: Int)
    case pointGridCount(expected: Int, got: Int)
    case emptyPointGrid(layer: Int)
    case pointOutsideUnitSquare(layer: Int, point: [Double])
    case emptyImage(height: Int, width: Int)
    case cropTooSmall(crop: [Int], layer: Int, height: Int, width: Int)
    /// A crop side beyond the integers the backend's storage type holds exactly, so its
    /// per-row pixel counts could be rounded (float16 storage and a side above 2048).
    case countsInexact(height: Int, width: Int, storage: String)

    public var description: String {
        switch self {
        case .nonPositive(let n, let v): return "\(n) is \(v): expected an integer of at least 1"
        case .negative(let n, let v): return "\(n) is \(v): expected an integer of at least 0"
        case .outsideUnitInterval(let n, let v): return "\(n) is \(v): expected a number in 0...1"
        case .badOffset(let v): return "stability_score_offset is \(v): expected a finite number of at least 0"
        case .tooManyCropLayers(let n): return "crop_n_layers is \(n): expected at most 10 (layer 10 already has 1024x1024 crops)"
        case .emptyLayerGrid(let l, let n, let f):
            return "crop layer \(l) gets a grid of 0 points (points_per_side \(n) / crop_n_points_downscale_factor \(f)^\(l) < 1): "
                + "use fewer crop layers, a smaller factor or more points a side"
        case .pointGridCount(let e, let g): return "point_grids has \(g) grids: expected one per crop layer, \(e) (crop_n_layers + 1)"
        case .emptyPointGrid(let l): return "point grid of crop layer \(l) has no points"
        case .pointOutsideUnitSquare(let l, let p):
            return "point \(p) of the grid of crop layer \(l) is not (x, y) with both in 0...1 (grids are normalised to the crop)"
        case .emptyImage(let h, let w): return "the image is \(h)x\(w): expected at least 1x1 pixels"
        case .cropTooSmall(let c, let l, let h, let w):
            return "crop layer \(l) of the \(h)x\(w) image gives crop \(c) (X0,Y0,X1,Y1) smaller than 1 pixel: use fewer crop layers"
        case .countsInexact(let h, let w, let storage):
            return "a \(h)x\(w) crop is too large to count its mask pixels exactly in \(storage) on the backend "
                + "(at most \(MaskMeasures.exactCountLimit(DType(rawValue: storage) ?? .float32)) a side): "
                + "use float32 storage (no --fp16) or crop layers"
        }
    }
}
