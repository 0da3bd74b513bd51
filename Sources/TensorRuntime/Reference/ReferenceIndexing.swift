/// Index arithmetic shared by the reference kernels.
enum RefIndex {
    /// Strides of `shape` as seen from `outShape` under right-aligned broadcasting: a missing or
    /// size-1 axis gets stride 0, so every output index maps to the element it repeats.
    static func broadcastStrides(of shape: Shape, to outShape: Shape) -> [Int] {
        let own = shape.strides
        let lead = outShape.rank - shape.rank
        return (0..<outShape.rank).map { i in
            guard i >= lead else { return 0 }
            return shape[i - lead] == 1 ? 0 : own[i - lead]
        }
    }

    /// Calls `body(outIndex, inOffset)` for every element of `outShape` in row-major order, where
    /// `inOffset` is Σ index[i]·strides[i].
    static func forEach(_ outShape: Shape, strides: [Int], _ body: (Int, Int) -> Void) {
        let rank = outShape.rank
        let total = outShape.count
        if total == 0 { return }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        for flat in 0..<total {
            body(flat, offset)
            // Odometer increment from the last axis.
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < outShape[axis] { break }
                offset -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// The input offset of every output element, in row-major output order.
    static func offsets(_ outShape: Shape, strides: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: outShape.count)
        forEach(outShape, strides: strides) { flat, off in result[flat] = off }
        return result
    }
}
