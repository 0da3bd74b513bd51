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
        var current: Float = 0
        var run = 0
        let base = mask.startIndex
        for x in 0..<width {
            for y in 0..<height {
                let v: Float = mask[base + y * width + x] > 0 ? 1 : 0
                if v != current {
                    counts.append(run)
                    run = 0
                    current = v
                }
                run += 1
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
}
