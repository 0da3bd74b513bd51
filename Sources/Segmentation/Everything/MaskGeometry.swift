/// Per-mask measures of SAM's automatic mask generator (segment-anything `utils/amg.py`),
/// computed on one mask's logits or pixels.
public enum MaskGeometry {
    /// `calculate_stability_score`: pixels with logits > threshold + offset over pixels with
    /// logits > threshold - offset (the IoU of the two masks, one inside the other). The cut-offs
    /// are compared in float32, as PyTorch compares a float32 tensor with a Python scalar, and
    /// the ratio is float32 (0/0 gives NaN, which no threshold keeps).
    public static func stabilityScore(_ logits: UnsafeBufferPointer<Float>, threshold: Double = 0, offset: Double) -> Float {
        let high = Float(threshold + offset), low = Float(threshold - offset)
        var intersections = 0, unions = 0
        for v in logits {
            if v > high { intersections += 1 }
            if v > low { unions += 1 }
        }
        return Float(intersections) / Float(unions)
    }

    /// `stabilityScore` of an array.
    public static func stabilityScore(_ logits: [Float], threshold: Double = 0, offset: Double) -> Float {
        logits.withUnsafeBufferPointer { stabilityScore($0, threshold: threshold, offset: offset) }
    }

    /// `batched_mask_to_box` for one row-major mask: X0, Y0, X1, Y1 with X1 and Y1 the last set
    /// column and row (inclusive); [0, 0, 0, 0] for an empty mask.
    public static func box(_ mask: [UInt8], height: Int, width: Int) -> [Int] {
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        for y in 0..<height {
            let row = y * width
            var first = -1, last = -1
            for x in 0..<width where mask[row + x] != 0 {
                if first < 0 { first = x }
                last = x
            }
            if first >= 0 {
                if y0 == height { y0 = y }
                y1 = y
                x0 = min(x0, first)
                x1 = max(x1, last)
            }
        }
        return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1, y1]
    }

    /// `box(_:height:width:)` from a mask's set pixels per row and per column (what the
    /// backend's measures graph counts): the first and last non-zero row and column.
    public static func box<C: Collection>(rowCounts: C, columnCounts: C) -> [Int] where C.Element == Float {
        func span(_ counts: C) -> (first: Int, last: Int)? {
            var first = -1, last = -1
            for (i, c) in counts.enumerated() where c > 0 {
                if first < 0 { first = i }
                last = i
            }
            return first < 0 ? nil : (first, last)
        }
        guard let rows = span(rowCounts), let columns = span(columnCounts) else { return [0, 0, 0, 0] }
        return [columns.first, rows.first, columns.last, rows.last]
    }

    /// `is_box_near_crop_edge`: `box` (XYXY in the crop's pixels) moved into the image lies
    /// within `tolerance` of an edge of `crop` that is not also an edge of the image. For the
    /// whole-image crop this is never true.
    public static func isNearCropEdge(_ box: [Int], crop: CropBox, imageWidth: Int, imageHeight: Int,
                                      tolerance: Float = 20) -> Bool {
        let moved = [box[0] + crop.x0, box[1] + crop.y0, box[2] + crop.x0, box[3] + crop.y0].map(Float.init)
        let cropEdges = crop.xyxy.map(Float.init)
        let imageEdges = [0, 0, Float(imageWidth), Float(imageHeight)]
        // torch.isclose(a, b, atol, rtol=0): |a - b| <= atol.
        for i in 0..<4 where abs(moved[i] - cropEdges[i]) <= tolerance && !(abs(moved[i] - imageEdges[i]) <= tolerance) {
            return true
        }
        return false
    }
}
