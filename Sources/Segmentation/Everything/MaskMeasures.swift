import SAMModels
import TensorRuntime

/// What a mask-measures graph is built for: one crop's transform (its size is the masks'
/// size), one chunk of masks, one stability offset and one way of counting.
struct MaskMeasuresKey: Hashable {
    var transform: ImageTransform
    /// `[count, 1, h, w]` low-res logits.
    var lowResShape: Shape
    var stabilityOffset: Double
    /// Sum the stability counts over the whole mask on the backend (two numbers per mask), or
    /// only per row (2H numbers per mask, summed on the host): see `MaskMeasures.countingPlan`.
    var totalsOnBackend: Bool
    /// Mask pixels packed into one number of the `masks` output (`MaskMeasures.bitsPerNumber`).
    var bitsPerNumber: Int
}

/// The per-mask work of SAM's automatic mask generator as a graph on the backend where the
/// decoder's logits are, built from the existing op set: upsampling (the family's
/// post-processing rule, `Postprocessing.upscaledLogits`), the three thresholds, and the pixel
/// counts the host needs, so that per mask only `H + W + 2` numbers come back instead of the
/// `H x W` logits.
///
/// Counts are matrix products of 0/1 masks with a vector of ones (`greater` then `matmul`):
/// - stability: pixels with logits > +offset and > -offset (`calculate_stability_score`'s
///   intersections and unions), summed per row and then over the rows;
/// - box: set pixels (logits > 0) per row and per column; the first and last non-zero row and
///   column are the box (`batched_mask_to_box`).
///
/// The backend adds 0/1 values in its storage type, so a count is exact while it stays within
/// the type's exact integer range (`exactCountLimit`: 2^24 for float32, 2^11 for float16). A
/// row or column count is at most W or H; a whole-mask total at most H x W. When H x W exceeds
/// the limit (a crop of more than 16.7 M pixels on float32) the totals are left to the host:
/// the graph returns the stability counts per row (`2H + H + W` numbers) and the host adds
/// them as integers. When even a row or column may exceed it (float16 storage with a crop side
/// above 2048) the generator refuses with `EverythingError.countsInexact`.
///
/// Outputs:
/// - `measures` `[count, K]`: `[above +offset, above -offset]` totals (or the `2H` row counts:
///   H rows above +offset, then H rows above -offset), then H row counts and W column counts of
///   the mask;
/// - `masks` `[count, ⌈H·W / B⌉]`: the 0/1 masks (`logits > 0`, `Sam.mask_threshold`), row-major,
///   B pixels to a number (pixel i of a group as 2^i: a matrix product with the powers of two,
///   exact for B up to the storage type's bits, 24 for float32), kept on the backend; the
///   generator downloads only the rows of the masks that survive the filters and unpacks them
///   (`unpack`), 4 / B bytes a pixel instead of 4.
enum MaskMeasures {
    static let lowResLogits = "low_res_logits"
    static let measures = "measures"
    static let masks = "masks"

    /// The largest integer the backend's storage type holds exactly, with every integer below it.
    static func exactCountLimit(_ storage: DType) -> Int {
        switch storage {
        case .float32: return 1 << 24
        case .float16: return 1 << 11
        }
    }

    /// Mask pixels per number of the packed `masks` output: every integer below 2^B must be
    /// exact in the storage type.
    static func bitsPerNumber(_ storage: DType) -> Int {
        switch storage {
        case .float32: return 24
        case .float16: return 11
        }
    }

    /// Numbers per mask in the packed `masks` output.
    static func packedCount(height: Int, width: Int, bits: Int) -> Int { (height * width + bits - 1) / bits }

    /// Row-major 0/1 pixels of one packed mask row.
    static func unpack(_ packed: [Float], pixels: Int, bits: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels)
        for (i, v) in packed.enumerated() {
            var word = Int(v), p = i * bits
            while word != 0 && p < pixels {
                out[p] = UInt8(word & 1)
                word >>= 1
                p += 1
            }
        }
        return out
    }

    /// Whether the totals of an `height` x `width` mask can be summed on the backend (true),
    /// only its rows (false), or nothing exactly (nil).
    static func countingPlan(height: Int, width: Int, limit: Int) -> Bool? {
        guard max(height, width) <= limit else { return nil }
        return height * width <= limit
    }

    /// Numbers per mask in `measures`.
    static func measureCount(height: Int, width: Int, totalsOnBackend: Bool) -> Int {
        (totalsOnBackend ? 2 : 2 * height) + height + width
    }

    static func graph(_ key: MaskMeasuresKey) throws -> Graph {
        let t = key.transform, s = key.lowResShape
        guard s.rank == 4, s[1] == 1, s[2] > 0, s[3] > 0 else {
            throw BackendError.invalidArgument("mask measures expect low-res logits [N, 1, h, w], got \(s)")
        }
        let n = s[0], h = t.originalHeight, w = t.originalWidth
        let g = GraphBuilder()
        let lowRes = g.input(lowResLogits, s)
        let logits = g.reshape(Postprocessing.upscaledLogits(g, lowRes, transform: t), [n, h, w])
        func above(_ v: Float, _ name: String) -> Value {
            // Python floats meet float32 tensors as float32 (PyTorch's scalar type promotion):
            // the cut-offs are the float32 values of +offset, -offset and 0.
            g.greater(logits, g.constant(name + "_cutoff", Tensor(shape: [1], data: [v])), name: name)
        }
        let offset = Float(key.stabilityOffset)
        let high = above(offset, "above_high"), low = above(-offset, "above_low"), mask = above(0, "mask")
        let onesW = g.constant("ones_w", Tensor(shape: [w, 1], data: [Float](repeating: 1, count: w)))
        let onesH = g.constant("ones_h", Tensor(shape: [h, 1], data: [Float](repeating: 1, count: h)))
        /// `[n, h, w]` 0/1 → counts per row `[n, h, 1]`.
        func perRow(_ x: Value, _ name: String) -> Value { g.matmul(x, onesW, name: name) }
        let highRows = perRow(high, "high_rows"), lowRows = perRow(low, "low_rows")
        var parts: [Value]
        if key.totalsOnBackend {
            // [n, h, 1] read as [n, 1, h] (transposeA) times ones [h, 1]: one total per mask.
            parts = [g.reshape(g.matmul(highRows, onesH, transposeA: true, name: "high_total"), [n, 1]),
                     g.reshape(g.matmul(lowRows, onesH, transposeA: true, name: "low_total"), [n, 1])]
        } else {
            parts = [g.reshape(highRows, [n, h]), g.reshape(lowRows, [n, h])]
        }
        parts.append(g.reshape(perRow(mask, "mask_rows"), [n, h]))
        // [n, h, w] read as [n, w, h] (transposeA) times ones [h, 1]: set pixels per column.
        parts.append(g.reshape(g.matmul(mask, onesH, transposeA: true, name: "mask_columns"), [n, w]))
        g.output(measures, g.concat(parts, axis: 1, name: "measures"))
        let bits = key.bitsPerNumber, words = packedCount(height: h, width: w, bits: bits)
        var flat = g.reshape(mask, [n, h * w])
        if words * bits > h * w { flat = g.pad(flat, before: [0, 0], after: [0, words * bits - h * w], name: "pad_to_words") }
        let powers = g.constant("bit_values", Tensor(shape: [bits, 1], data: (0..<bits).map { Float(1 << $0) }))
        g.output(masks, g.reshape(g.matmul(g.reshape(flat, [n, words, bits]), powers, name: "pack"), [n, words]))
        return try g.build()
    }
}

/// One mask's measures as the host reads them from a `measures` row.
struct MaskMeasure {
    /// Pixels with logits above +offset and above -offset.
    var high: Int, low: Int
    /// `batched_mask_to_box`'s box (X1, Y1 inclusive; [0, 0, 0, 0] when empty).
    var box: [Int]

    /// `row` is one mask's `measures` (layout in `MaskMeasures`).
    init(_ row: ArraySlice<Float>, height h: Int, width w: Int, totalsOnBackend: Bool) {
        var i = row.startIndex
        if totalsOnBackend {
            high = Int(row[i]); low = Int(row[i + 1])
            i += 2
        } else {
            // Each row count is exact; their sum is taken in Int, beyond float32's exact range.
            high = row[i..<(i + h)].reduce(0) { $0 + Int($1) }
            low = row[(i + h)..<(i + 2 * h)].reduce(0) { $0 + Int($1) }
            i += 2 * h
        }
        box = MaskGeometry.box(rowCounts: row[i..<(i + h)], columnCounts: row[(i + h)..<(i + h + w)])
    }

    /// `calculate_stability_score`: the ratio in float32, 0/0 giving NaN (which no threshold keeps).
    var stabilityScore: Float { Float(high) / Float(low) }
}
