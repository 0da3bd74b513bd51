import TensorRuntime

/// A walk over an n-d index space for up to three operands with their own element strides
/// (a destination and one or two sources), reduced to as few dimensions as possible.
///
/// Size-1 dimensions are dropped and neighbours that are contiguous in every operand are
/// merged, so e.g. adding `[1, 64, 64, 768]` to `[2, 64, 64, 768]` becomes a 2-d walk with an
/// inner run of 3 145 728 elements. Kernels loop over the outer index and handle the inner run
/// with a vector loop.
struct StridedWalk {
    /// Extents after reduction; at least one dimension (the inner run).
    private(set) var dims: [Int] = []
    /// Strides per operand, per dimension.
    private(set) var strides: [[Int]] = [[], [], []]

    init(shape: [Int], strides s: [[Int]]) {
        precondition(s.count <= 3)
        let ops = s.count
        var d: [Int] = []
        var st: [[Int]] = Array(repeating: [], count: 3)
        for i in 0..<shape.count where shape[i] != 1 {
            d.append(shape[i])
            for o in 0..<3 { st[o].append(o < ops ? s[o][i] : 0) }
        }
        if d.isEmpty {
            d = [1]
            st = [[0], [0], [0]]
        }
        // Merge dimension i into i+1 where every operand steps over i+1 contiguously.
        var i = d.count - 2
        while i >= 0 {
            if (0..<3).allSatisfy({ st[$0][i] == st[$0][i + 1] * d[i + 1] }) {
                d[i + 1] *= d[i]
                d.remove(at: i)
                for o in 0..<3 { st[o].remove(at: i) }
            }
            i -= 1
        }
        dims = d
        strides = st
    }

    var inner: Int { dims[dims.count - 1] }
    var innerStrides: (Int, Int, Int) { (strides[0].last!, strides[1].last!, strides[2].last!) }
    /// Number of inner runs.
    var outerCount: Int { dims.dropLast().reduce(1, *) }

    /// Calls `body(o0, o1, o2)` with the three operands' offsets of every inner run in
    /// `range` (indices into `0..<outerCount`), in order.
    func forEachRun(_ range: Range<Int>, _ body: (Int, Int, Int) -> Void) {
        let outerRank = dims.count - 1
        if outerRank == 0 {
            if !range.isEmpty { body(0, 0, 0) }
            return
        }
        // Decompose the first index, then advance like an odometer.
        var index = [Int](repeating: 0, count: outerRank)
        var rest = range.lowerBound
        for a in stride(from: outerRank - 1, through: 0, by: -1) {
            index[a] = rest % dims[a]
            rest /= dims[a]
        }
        var o0 = 0, o1 = 0, o2 = 0
        for a in 0..<outerRank {
            o0 += index[a] * strides[0][a]; o1 += index[a] * strides[1][a]; o2 += index[a] * strides[2][a]
        }
        for _ in range {
            body(o0, o1, o2)
            var a = outerRank - 1
            while a >= 0 {
                index[a] += 1
                o0 += strides[0][a]; o1 += strides[1][a]; o2 += strides[2][a]
                if index[a] < dims[a] { break }
                o0 -= strides[0][a] * dims[a]; o1 -= strides[1][a] * dims[a]; o2 -= strides[2][a] * dims[a]
                index[a] = 0
                a -= 1
            }
        }
    }
}

extension Shape {
    /// Strides for reading this shape as if broadcast to `target` (ranks aligned at the right;
    /// a missing or size-1 axis gets stride 0).
    func broadcastStrides(to target: Shape) -> [Int] {
        let own = strides, lead = target.rank - rank
        return (0..<target.rank).map { i in
            guard i >= lead else { return 0 }
            return self[i - lead] == 1 ? 0 : own[i - lead]
        }
    }
}
