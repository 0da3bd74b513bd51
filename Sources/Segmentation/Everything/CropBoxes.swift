/// The crops SAM's automatic mask generator runs the encoder on (`generate_crop_boxes` in
/// segment-anything's `utils/amg.py`): the whole image, then for layer i = 1...n a grid of
/// 2^i x 2^i overlapping crops.
public struct CropBox: Equatable, Sendable {
    /// X0, Y0, X1, Y1 in image pixels (X1, Y1 exclusive).
    public var x0: Int, y0: Int, x1: Int, y1: Int
    /// 0 for the whole image, i for the 2^i x 2^i crops.
    public var layer: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int, layer: Int) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1; self.layer = layer
    }

    public var width: Int { x1 - x0 }
    public var height: Int { y1 - y0 }
    public var xyxy: [Int] { [x0, y0, x1, y1] }
    /// X, Y, W, H, as the generator's records give `crop_box`.
    public var xywh: [Int] { [x0, y0, x1 - x0, y1 - y0] }

    /// The crops of an image of `height` x `width` with `layers` crop layers. Per layer i
    /// (n = 2^(i+1) crops a side): overlap = int(ratio * short side * 2/n), crop side =
    /// ceil((overlap * (n-1) + side) / n), offsets int((crop - overlap) * k), boxes clipped to the
    /// image; the order is x outer, y inner (`itertools.product(x0s, y0s)`).
    public static func generate(height: Int, width: Int, layers: Int, overlapRatio: Double) -> [CropBox] {
        var boxes = [CropBox(x0: 0, y0: 0, x1: width, y1: height, layer: 0)]
        let shortSide = min(height, width)
        for layer in 0..<max(layers, 0) {
            let n = 1 << (layer + 1)
            // Python evaluates `overlap_ratio * short_side * (2 / n)` left to right in float64.
            let overlap = Int(overlapRatio * Double(shortSide) * (2 / Double(n)))
            let cropW = cropLength(width, n, overlap), cropH = cropLength(height, n, overlap)
            let xs = (0..<n).map { (cropW - overlap) * $0 }
            let ys = (0..<n).map { (cropH - overlap) * $0 }
            for x0 in xs {
                for y0 in ys {
                    boxes.append(CropBox(x0: x0, y0: y0, x1: min(x0 + cropW, width), y1: min(y0 + cropH, height), layer: layer + 1))
                }
            }
        }
        return boxes
    }

    private static func cropLength(_ side: Int, _ n: Int, _ overlap: Int) -> Int {
        Int((Double(overlap * (n - 1) + side) / Double(n)).rounded(.up))
    }
}
