import Foundation
import MedicalImaging

/// How masks travel in JSON responses.
public enum MaskEncoding {
    /// COCO's uncompressed run-length encoding: `size` = [height, width], `counts` = alternating
    /// runs of 0 and 1 over the mask in column-major order, starting with a (possibly empty) run
    /// of 0s. `pycocotools.mask.frPyObjects` reads it as it is; column-major is COCO's choice,
    /// kept so existing tools decode it unchanged.
    public static func rle(_ mask: ArraySlice<Float>, height: Int, width: Int) -> RLEMask {
        var counts: [Int] = []
        var current: UInt8 = 0
        var run = 0
        // Columns are read a block at a time along the rows (a column-major walk of a row-major
        // 512x512 mask touches a new cache line at every pixel), then run-length coded per column.
        let block = 16
        var inside = [UInt8](repeating: 0, count: block * height)
        mask.withUnsafeBufferPointer { m in
            inside.withUnsafeMutableBufferPointer { bits in
                for x0 in stride(from: 0, to: width, by: block) {
                    let bw = min(block, width - x0)
                    for y in 0..<height {
                        let row = y * width + x0
                        for j in 0..<bw { bits[j * height + y] = m[row + j] > 0 ? 1 : 0 }
                    }
                    for v in bits[0..<(bw * height)] {
                        if v != current {
                            counts.append(run)
                            run = 0
                            current = v
                        }
                        run += 1
                    }
                }
            }
        }
        counts.append(run)
        return RLEMask(size: [height, width], counts: counts)
    }

    /// The mask as 0/1 values in row-major order (to check an RLE or apply one).
    public static func decode(_ rle: RLEMask) -> [Float] {
        let h = rle.size[0], w = rle.size[1]
        var out = [Float](repeating: 0, count: h * w)
        var at = 0
        for (i, n) in rle.counts.enumerated() {
            if i % 2 == 1 {
                for p in at..<(at + n) { out[(p % h) * w + p / h] = 1 }
            }
            at += n
        }
        return out
    }

    /// A grey PNG, 255 inside the mask and 0 outside, base64-encoded.
    public static func pngBase64(_ mask: ArraySlice<Float>, height: Int, width: Int) throws -> String {
        let image = Image(pixels: mask.map { $0 > 0 ? 255 : 0 }, height: height, width: width, channels: 1)
        return Data(try PNGCodec.encode(image)).base64EncodedString()
    }
}

/// A run-length encoded mask (see `MaskEncoding.rle`).
public struct RLEMask: Codable, Equatable, Sendable {
    public var size: [Int]
    public var counts: [Int]

    public init(size: [Int], counts: [Int]) {
        self.size = size
        self.counts = counts
    }

    /// Pixels inside the mask: the runs of 1s (every second count, from the second).
    public var area: Int { stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + counts[$1] } }
}
