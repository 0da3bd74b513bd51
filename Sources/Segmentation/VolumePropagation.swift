import MedicalImaging
import SAMModels
import TensorRuntime

/// Segments a 3-D structure slice by slice from one box on a key slice, the way LiteMedSAM's
/// 3-D inference does it (docs/sam-spec.md §8.3): the key slice uses the given box; every other slice uses
/// the tight box of the previous slice's mask widened by a margin, first upwards from the key
/// slice, then downwards. Every slice gets its own embedding; slices are encoded in batches of
/// `encodeBatch` ahead of the propagation (embeddings do not depend on prompts), so a stop
/// inside a batch costs at most `encodeBatch - 1` encodes that are not used.
public struct VolumePropagation {
    /// Margin added on each side of the previous mask's box, as a fraction of the slice's long
    /// side. LiteMedSAM adds 3 pixels in its 256-pixel frame, i.e. 3/256 of the long side.
    public var marginFraction: Float = 3.0 / 256.0
    /// Slices per encoder run.
    public var encodeBatch = 4

    public init() {}

    /// The result: labels (0/1) in the volume's voxel order (i fastest), and per-slice areas.
    public struct Result {
        public var mask: [UInt8]
        /// Slice index → foreground pixels, for slices that were segmented.
        public var areas: [Int: Int]
        public var slicesSegmented: Int { areas.count }
    }

    /// - Parameters:
    ///   - volume: intensities already mapped to 0...255.
    ///   - range: slices to cover (inclusive). When nil, propagation stops in each direction at the
    ///     first slice whose mask is empty; when given, an empty previous mask falls back to the key
    ///     box (as LiteMedSAM does within its z range).
    ///   - progress: called after each slice with (done, total planned).
    public func run(volume: Volume, axis: SliceAxis, keySlice: Int, box: [Float], range: ClosedRange<Int>?,
                    predictor: Predictor, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let count = volume.sliceCount(axis)
        guard (0..<count).contains(keySlice) else {
            throw ImagePromptError.sliceOutside(index: keySlice, count: count, axis: axis.rawValue)
        }
        let lo = max(range?.lowerBound ?? 0, 0), hi = min(range?.upperBound ?? count - 1, count - 1)
        var maskVolume = volume.withVoxels([Float](repeating: 0, count: volume.voxels.count), sourceType: .uint8)
        var areas: [Int: Int] = [:]
        let planned = hi - lo + 1
        var done = 0

        // Embeddings of the batch being walked through; the previous batch is released.
        var embedded: [Int: ImageEmbedding] = [:]
        func embedding(_ index: Int, direction: Int) throws -> ImageEmbedding {
            if let e = embedded[index] { return e }
            // The key slice alone; then up to `encodeBatch` slices ahead in the walking direction.
            let indices = direction == 0 ? [index]
                : Array(stride(from: index, through: direction > 0 ? hi : lo, by: direction).prefix(max(encodeBatch, 1)))
            embedded = [:]
            let embeddings = try predictor.embed(try indices.map { try volume.slice(axis, $0) })
            embedded = Dictionary(uniqueKeysWithValues: zip(indices, embeddings))
            return embedded[index]!
        }

        func segment(_ index: Int, _ b: [Float], direction: Int) throws -> (mask: [Float], width: Int, height: Int) {
            let e = try embedding(index, direction: direction)
            try predictor.setEmbedding(e)
            let p = try predictor.predict([ImagePrompt(box: b)])
            let m = Array(p.masks.data)
            let height = e.transform.originalHeight, width = e.transform.originalWidth
            try maskVolume.setSlice(axis, index, from: Image(pixels: m, height: height, width: width, channels: 1))
            areas[index] = m.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
            done += 1
            progress(done, planned)
            return (m, width, height)
        }

        let key = try segment(keySlice, box, direction: 0)
        for direction in [1, -1] {
            var previous = key
            var z = keySlice + direction
            while z >= lo && z <= hi {
                let next: [Float]
                if let b = boxOf(previous.mask, width: previous.width, height: previous.height) {
                    next = b
                } else if range != nil {
                    next = box
                } else {
                    break
                }
                previous = try segment(z, next, direction: direction)
                z += direction
            }
        }
        return Result(mask: maskVolume.voxels.map { $0 > 0 ? 1 : 0 }, areas: areas)
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
