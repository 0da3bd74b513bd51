import MedicalImaging
import SAMModels
import TensorRuntime

/// Segments a 3-D structure slice by slice from one box on a key slice, the way LiteMedSAM's
/// 3-D inference does it (docs/sam-spec.md §8.3): the key slice uses the given box; every other slice uses
/// the tight box of the previous slice's mask widened by a margin, first upwards from the key
/// slice, then downwards. Without a slice range, each walk ends where `stopRule` says. Every slice gets its own embedding; slices are encoded in batches of
/// `encodeBatch` ahead of the propagation (embeddings do not depend on prompts), so a stop
/// inside a batch costs at most `encodeBatch - 1` encodes that are not used.
public struct VolumePropagation {
    /// Margin added on each side of the previous mask's box, as a fraction of the slice's long
    /// side. LiteMedSAM adds 3 pixels in its 256-pixel frame, i.e. 3/256 of the long side.
    public var marginFraction: Float = 3.0 / 256.0
    /// Slices per encoder run.
    public var encodeBatch = 4
    /// When to stop walking away from the key slice when no slice range is given.
    public var stopRule = StopRule()

    public init() {}

    /// Where a structure ends when the caller gives no slice range.
    ///
    /// Walking away from the key slice (the structure's largest cross-section, as a user draws
    /// the box), a slice ends the walk, and is left unlabelled, when its mask
    /// - is empty, smaller than `minimumArea` pixels, or smaller than `minimumAreaOverKey` times
    ///   the key slice's mask: away from its largest cross-section an organ's sections shrink, and
    ///   a mask that has shrunk to a small fraction of the key one is either the structure's last
    ///   thin sections (little to lose) or the model holding on to a speck of something else
    ///   (walks went on for 30-76 slices at 1-10 % of the key area on an atlas brain);
    /// - grows by more than `maximumGrowth` over the largest of the last `growthWindow` kept
    ///   masks, and by more than `minimumGrowthPixels` or `minimumGrowthOverKey` times the key
    ///   area, whichever is more (so that noise on a small mask does not count): an organ's cross
    ///   sections shrink away from its largest one, so a jump in area means the mask has leaked
    ///   into a neighbour (a thalamus box grew into 174 of 181 brain slices without a rule); the
    ///   window keeps a one-slice dip of a noisy mask from making the next slice look like growth;
    /// - is larger than `maximumAreaOverKey` times the key slice's mask, for the same reason over
    ///   several slices of slower growth;
    /// - has a predicted IoU below `minimumPredictedIoU` (0 disables this: LiteMedSAM's IoU
    ///   head is weakly informative).
    /// The defaults and the measurements behind them are in docs/volume-propagation.md.
    public struct StopRule: Sendable, Equatable {
        public var minimumArea = 4
        public var minimumAreaOverKey: Float = 0.1
        public var maximumGrowth: Float = 1.3
        public var growthWindow = 3
        public var minimumGrowthPixels = 32
        public var minimumGrowthOverKey: Float = 0
        public var maximumAreaOverKey: Float = 2
        public var minimumPredictedIoU: Float = 0
        public init() {}

        /// A rule that stops only at an empty mask (the behaviour before stop rules).
        public static let emptyOnly: StopRule = {
            var r = StopRule()
            r.minimumArea = 1
            r.minimumAreaOverKey = 0
            r.maximumGrowth = .infinity
            r.maximumAreaOverKey = .infinity
            return r
        }()

        /// Why a slice with this mask ends the walk, or nil when it continues it; `previousArea`
        /// is the last kept slice's mask (a window of one).
        public func reason(area: Int, previousArea: Int, keyArea: Int, predictedIoU: Float) -> String? {
            reason(area: area, recentAreas: [previousArea], keyArea: keyArea, predictedIoU: predictedIoU)
        }

        /// Why a slice with this mask ends the walk, or nil when it continues it. `recentAreas`:
        /// the kept slices' masks of this walk so far, the key slice first, the previous slice
        /// last (only the last `growthWindow` are used).
        public func reason(area: Int, recentAreas: [Int], keyArea: Int, predictedIoU: Float) -> String? {
            if area < max(minimumArea, 1) { return area == 0 ? "empty mask" : "mask under \(minimumArea) px" }
            if Float(area) < minimumAreaOverKey * Float(keyArea) {
                return "area \(area) px is under \(minimumAreaOverKey) of the key slice's \(keyArea) px"
            }
            let reference = recentAreas.suffix(max(growthWindow, 1)).max() ?? keyArea
            let slack = max(Float(minimumGrowthPixels), minimumGrowthOverKey * Float(keyArea))
            if Float(area) > maximumGrowth * Float(max(reference, 1)) && Float(area - reference) > slack {
                let over = growthWindow > 1 && recentAreas.count > 1
                    ? "the largest of the last \(min(growthWindow, recentAreas.count)) slices" : "the previous slice"
                return "area grew \(area) / \(reference) px over \(over)"
            }
            if Float(area) > maximumAreaOverKey * Float(max(keyArea, 1)) {
                return "area \(area) px exceeds the key slice's \(keyArea) px"
            }
            if predictedIoU < minimumPredictedIoU { return "predicted IoU \(predictedIoU)" }
            return nil
        }
    }

    /// One segmented slice.
    public struct SliceRecord: Sendable, Equatable, Codable {
        public var slice: Int
        public var area: Int
        public var predictedIoU: Float
        /// The box prompt used, in the slice's pixels.
        public var box: [Float]
    }

    /// The result: labels (0/1) in the volume's voxel order (i fastest), and per-slice records.
    public struct Result {
        public var mask: [UInt8]
        /// Slices kept in the mask, in the order they were segmented.
        public var slices: [SliceRecord]
        /// Why each walk ended ("upward"/"downward" → reason), when it ended before the range did.
        public var stops: [String: String]
        /// Slice index → foreground pixels, for slices that were segmented and kept.
        /// Slices the encoder ran on (more than `slices` where a stop cut an encoder batch short).
        public var slicesEncoded = 0
        public var areas: [Int: Int] { Dictionary(uniqueKeysWithValues: slices.map { ($0.slice, $0.area) }) }
        public var slicesSegmented: Int { slices.count }
    }

    /// Propagates a box through a 3-D box: `box3d` = x0, y0, z0, x1, y1, z1 in voxels of the
    /// chosen axis (x, y in the slice, z the slice index, z1 inclusive), as the LiteMedSAM
    /// challenge's 3-D cases give it. The key slice is the middle one, int((z1 - z0) / 2 + z0);
    /// every slice of z0...z1 is segmented (an empty previous mask falls back to the box).
    public func run(volume: Volume, axis: SliceAxis, box3d: [Float], predictor: Predictor,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        guard box3d.count == 6 else { throw ImagePromptError.badBox3D(box3d, reason: "expected 6 numbers") }
        let z0 = Int(box3d[2]), z1 = Int(box3d[5])
        guard box3d[2] == Float(z0), box3d[5] == Float(z1), z0 <= z1 else {
            throw ImagePromptError.badBox3D(box3d, reason: "z0 and z1 must be whole slice indices with z0 <= z1")
        }
        let key = Int((Float(z1 - z0) / 2 + Float(z0)).rounded(.down))
        return try run(volume: volume, axis: axis, keySlice: key, box: [box3d[0], box3d[1], box3d[3], box3d[4]],
                       range: z0...z1, predictor: predictor, progress: progress)
    }

    /// - Parameters:
    ///   - volume: intensities already mapped to 0...255.
    ///   - range: slices to cover (inclusive). When nil, each walk away from the key slice ends
    ///     where `stopRule` says; when given, every slice in it is segmented and an empty
    ///     previous mask falls back to the key box (as LiteMedSAM does within its z range).
    ///   - progress: called after each slice with (done, total planned).
    public func run(volume: Volume, axis: SliceAxis, keySlice: Int, box: [Float], range: ClosedRange<Int>?,
                    predictor: Predictor, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let count = volume.sliceCount(axis)
        guard (0..<count).contains(keySlice) else {
            throw ImagePromptError.sliceOutside(index: keySlice, count: count, axis: axis.rawValue)
        }
        if let range, !(range.contains(keySlice)) || range.lowerBound < 0 || range.upperBound >= count {
            throw ImagePromptError.rangeOutside(lower: range.lowerBound, upper: range.upperBound, key: keySlice, count: count)
        }
        let lo = range?.lowerBound ?? 0, hi = range?.upperBound ?? count - 1
        var maskVolume = volume.withVoxels([Float](repeating: 0, count: volume.voxels.count), sourceType: .uint8)
        var records: [SliceRecord] = []
        var stops: [String: String] = [:]
        let planned = hi - lo + 1
        var done = 0

        // Embeddings of the batch being walked through; the previous batch is released.
        var embedded: [Int: ImageEmbedding] = [:]
        var encoded = 0
        func embedding(_ index: Int, direction: Int) throws -> ImageEmbedding {
            if let e = embedded[index] { return e }
            // The key slice alone; then up to `encodeBatch` slices ahead in the walking direction.
            let indices = direction == 0 ? [index]
                : Array(stride(from: index, through: direction > 0 ? hi : lo, by: direction).prefix(max(encodeBatch, 1)))
            embedded = [:]
            let embeddings = try predictor.embed(try indices.map { try volume.slice(axis, $0) })
            encoded += indices.count
            embedded = Dictionary(uniqueKeysWithValues: zip(indices, embeddings))
            return embedded[index]!
        }

        struct SliceMask { var mask: [Float]; var width: Int; var height: Int; var record: SliceRecord }
        func segment(_ index: Int, _ b: [Float], direction: Int) throws -> SliceMask {
            let e = try embedding(index, direction: direction)
            try predictor.setEmbedding(e)
            let p = try predictor.predict([ImagePrompt(box: b)])
            let m = Array(p.masks.data)
            let w = e.transform.originalWidth, h = e.transform.originalHeight
            done += 1
            progress(done, planned)
            return SliceMask(mask: m, width: w, height: h,
                             record: SliceRecord(slice: index, area: m.reduce(0) { $0 + ($1 > 0 ? 1 : 0) },
                                                 predictedIoU: p.iou.data[0], box: b))
        }
        func keep(_ s: SliceMask) throws {
            try maskVolume.setSlice(axis, s.record.slice, from: Image(pixels: s.mask, height: s.height, width: s.width, channels: 1))
            records.append(s.record)
        }

        let key = try segment(keySlice, box, direction: 0)
        try keep(key)
        for direction in [1, -1] {
            let name = direction > 0 ? "upward" : "downward"
            var previous = key
            var recentAreas = [key.record.area]
            var z = keySlice + direction
            while z >= lo && z <= hi {
                let next: [Float]
                if let b = boxOf(previous.mask, width: previous.width, height: previous.height) {
                    next = b
                } else if range != nil {
                    next = box
                } else {
                    stops[name] = "empty mask at slice \(previous.record.slice)"
                    break
                }
                let current = try segment(z, next, direction: direction)
                if range == nil, let why = stopRule.reason(area: current.record.area, recentAreas: recentAreas,
                                                           keyArea: key.record.area, predictedIoU: current.record.predictedIoU) {
                    stops[name] = "slice \(z): \(why)"
                    break
                }
                try keep(current)
                previous = current
                recentAreas.append(current.record.area)
                z += direction
            }
        }
        return Result(mask: maskVolume.voxels.map { $0 > 0 ? 1 : 0 }, slices: records, stops: stops, slicesEncoded: encoded)
    }

    /// The tight box of a mask widened by the margin and clipped to the slice, or nil if empty.
    func boxOf(_ m: [Float], width: Int, height: Int) -> [Float]? {
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<height {
            for x in 0..<width where m[y * width + x] > 0 {
                x0 = min(x0, x); x1 = max(x1, x)
                y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        guard x1 >= 0 else { return nil }
        let margin = marginFraction * Float(max(width, height))
        return [max(0, Float(x0) - margin), max(0, Float(y0) - margin),
                min(Float(width), Float(x1) + margin), min(Float(height), Float(y1) + margin)]
    }
}
