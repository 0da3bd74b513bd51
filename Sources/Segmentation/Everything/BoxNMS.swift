/// Greedy non-maximum suppression with torchvision's rules (`torchvision.ops.nms`, which
/// `batched_nms` calls with every box in one category): boxes visited by score, highest first,
/// ties in their given order (a stable descending sort); a box is dropped when its IoU with a
/// box kept before it is greater than `threshold`. Box area is (x1 - x0) * (y1 - y0) with no
/// +1, all in float32 (the threshold is a double, as torchvision's C++ kernel takes it); boxes of zero area have IoU NaN with everything and are never dropped.
public enum BoxNMS {
    /// Indices of the kept boxes, highest score first. `boxes` are X0, Y0, X1, Y1.
    public static func keep(boxes: [[Float]], scores: [Float], threshold: Double) -> [Int] {
        precondition(boxes.count == scores.count, "one score per box")
        // Stable: equal scores keep their index order (Swift's sort is not guaranteed stable).
        let order = boxes.indices.sorted { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
        let areas = boxes.map { ($0[2] - $0[0]) * ($0[3] - $0[1]) }
        var suppressed = [Bool](repeating: false, count: boxes.count)
        var kept: [Int] = []
        for (rank, i) in order.enumerated() where !suppressed[i] {
            kept.append(i)
            let bi = boxes[i]
            for j in order[(rank + 1)...] where !suppressed[j] {
                let bj = boxes[j]
                let w = max(0, min(bi[2], bj[2]) - max(bi[0], bj[0]))
                let h = max(0, min(bi[3], bj[3]) - max(bi[1], bj[1]))
                let inter = w * h
                let iou = inter / (areas[i] + areas[j] - inter)
                if Double(iou) > threshold { suppressed[j] = true }   // float IoU, double threshold, as in C++
            }
        }
        return kept
    }
}
