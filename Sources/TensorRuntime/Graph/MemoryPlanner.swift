/// Assignment of a graph's intermediate values to reusable buffers ("slots").
///
/// A value occupies its slot from the step that writes it to the last step that reads it
/// (outputs: to the end). A slot is reused by a later value once every value in it is dead.
/// Kernels never run in place, so a slot is freed only after its last reader has run.
public struct MemoryPlan: Sendable {
    /// Slot index for each planned value id.
    public var slotOf: [Int: Int]
    /// Capacity of each slot, in elements.
    public var slotElements: [Int]
    /// Sum of all planned values' sizes, in elements (what no reuse would cost).
    public var totalValueElements: Int

    public var peakElements: Int { slotElements.reduce(0, +) }

    public func peakBytes(_ dtype: DType) -> Int { peakElements * dtype.size }
    public func unplannedBytes(_ dtype: DType) -> Int { totalValueElements * dtype.size }
}

enum MemoryPlanner {
    /// - Parameters:
    ///   - order: step index → value id produced at that step (values needing storage only).
    ///   - sizes: elements per value id.
    ///   - lastUse: value id → last step reading it (`Int.max` for graph outputs). A value read
    ///     only before the next step writes may give its own step: its slot is free for that next one.
    static func plan(order: [Int], sizes: [Int: Int], lastUse: [Int: Int]) -> MemoryPlan {
        var slotElements: [Int] = []
        var free: Set<Int> = []
        var slotOf: [Int: Int] = [:]
        // Values dying at each step; their slots free up before the next step allocates.
        var dyingAt: [Int: [Int]] = [:]
        for id in order {
            let last = lastUse[id] ?? Int.max
            if last != Int.max { dyingAt[last, default: []].append(id) }
        }
        for (step, id) in order.enumerated() {
            let need = max(sizes[id] ?? 0, 1)
            // Best fit: the smallest free slot that is big enough; else grow the largest free slot.
            let fitting = free.filter { slotElements[$0] >= need }.min { slotElements[$0] < slotElements[$1] }
            let slot: Int
            if let s = fitting {
                slot = s
            } else if let s = free.max(by: { slotElements[$0] < slotElements[$1] }) {
                slot = s
                slotElements[s] = need
            } else {
                slot = slotElements.count
                slotElements.append(need)
            }
            free.remove(slot)
            slotOf[id] = slot
            if lastUse[id] == nil || lastUse[id]! <= step {
                // Not needed by any later step: free right after this step.
                free.insert(slot)
            }
            for dead in dyingAt[step] ?? [] where dead != id {
                free.insert(slotOf[dead]!)
            }
        }
        let total = order.reduce(0) { $0 + max(sizes[$1] ?? 0, 1) }
        return MemoryPlan(slotOf: slotOf, slotElements: slotElements, totalValueElements: total)
    }
}
