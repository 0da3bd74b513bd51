/// A binary mask as COCO's uncompressed run-length encoding, the form SAM's automatic mask
/// generator keeps its masks in (`mask_to_rle_pytorch` in segment-anything's `utils/amg.py`).
///
/// The mask is read in column-major (Fortran) order: down the first column, then the next.
/// `counts` alternate between runs of 0 and runs of 1, starting with 0s, so a mask whose first
/// pixel is set starts with a count of 0.
public struct MaskRLE: Equatable, Sendable {
    public var height: Int
    public var width: Int
    public var counts: [Int]

    public init(height: Int, width: Int, counts: [Int]) {
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// Encodes a row-major `height` x `width` mask (non-zero = set).
    public init(rowMajor mask: [UInt8], height: Int, width: Int) {
        self.init(height: height, width: width) { x, y in mask[y * width + x] != 0 }
    }

    /// Encodes the mask whose pixel (x, y) is `isSet(x, y)`, visited column by column.
    public init(height: Int, width: Int, isSet: (Int, Int) -> Bool) {
        var counts: [Int] = []
        var current = false, run = 0
        for x in 0..<width {
            for y in 0..<height {
                let v = isSet(x, y)
                if v != current {
                    counts.append(run)
                    current = v
                    run = 0
                }
                run += 1
            }
        }
        counts.append(run)
        self.init(height: height, width: width, counts: counts)
    }

    /// A mask of `crop` (row-major, crop-sized) placed at (x0, y0) in a `height` x `width` image
    /// of zeros: what the generator's `uncrop_masks` then `mask_to_rle_pytorch` give.
    public init(crop mask: [UInt8], x0: Int, y0: Int, cropWidth: Int, cropHeight: Int, height: Int, width: Int) {
        var counts: [Int] = []
        var current = false, run = 0
        // Runs of zeros outside the crop are added in one step; inside, pixel by pixel.
        func add(_ v: Bool, _ n: Int) {
            guard n > 0 else { return }
            if v != current { counts.append(run); current = v; run = 0 }
            run += n
        }
        add(false, x0 * height)
        for cx in 0..<cropWidth {
            add(false, y0)
            for cy in 0..<cropHeight { add(mask[cy * cropWidth + cx] != 0, 1) }
            add(false, height - y0 - cropHeight)
        }
        add(false, (width - x0 - cropWidth) * height)
        counts.append(run)
        self.init(height: height, width: width, counts: counts)
    }

    /// Set pixels (`area_from_rle`: the sum of the odd-indexed counts).
    public var area: Int { stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + counts[$1] } }

    /// The mask row-major, 1 where set.
    public func decode() -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: height * width)
        var index = 0, value = false
        for c in counts {
            if value {
                for i in index..<(index + c) { mask[(i % height) * width + i / height] = 1 }
            }
            index += c
            value.toggle()
        }
        return mask
    }

    /// COCO's compressed RLE text (pycocotools' `rleToString`): each count, from the third on as
    /// the difference to the count two before, written as a signed number in 5-bit groups, low
    /// group first, each group + 48 as one character, bit 0x20 set when another group follows.
    public var cocoString: String {
        var bytes: [UInt8] = []
        for i in counts.indices {
            var x = counts[i]
            if i > 2 { x -= counts[i - 2] }
            var more = true
            while more {
                var c = UInt8(x & 0x1f)
                x >>= 5   // arithmetic shift: negative differences keep their sign
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                bytes.append(c + 48)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads COCO's compressed RLE text back into counts (the inverse of `cocoString`).
    public init?(cocoString s: String, height: Int, width: Int) {
        var counts: [Int] = []
        var bytes = Array(s.utf8)[...]
        while !bytes.isEmpty {
            var x = 0, shift = 0, more = true
            while more {
                guard let b = bytes.popFirst(), b >= 48 else { return nil }
                let c = Int(b) - 48
                x |= (c & 0x1f) << shift
                more = (c & 0x20) != 0
                shift += 5
                if !more && (c & 0x10) != 0 { x |= -1 << shift }
            }
            if counts.count > 2 { x += counts[counts.count - 2] }
            counts.append(x)
        }
        self.init(height: height, width: width, counts: counts)
    }
}
