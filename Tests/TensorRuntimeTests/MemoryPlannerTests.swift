import XCTest
@testable import TensorRuntime

/// The memory planner's invariants on random lifetimes and sizes, and a planned run of random
/// graphs against op-by-op evaluation with fresh tensors.
final class MemoryPlannerTests: XCTestCase {
    /// A random schedule: `n` values written one per step, sizes mixed over four orders of
    /// magnitude, each last read 0..12 steps later, some never read, some graph outputs.
    private func randomSchedule(_ rng: inout SplitMix64, n: Int) -> (order: [Int], sizes: [Int: Int], lastUse: [Int: Int]) {
        var sizes: [Int: Int] = [:], lastUse: [Int: Int] = [:]
        let order = (0..<n).map { 1000 + $0 * 7 }          // ids need not be step indices
        for (step, id) in order.enumerated() {
            let magnitude = Int(rng.next() % 4)              // 1..9, 10..99, 100..999, 1000..9999
            let base = [1, 10, 100, 1000][magnitude]
            sizes[id] = base + Int(rng.next() % UInt64(9 * base))
            switch rng.next() % 10 {
            case 0: break                                    // never read: dead after its own step
            case 1: lastUse[id] = Int.max                    // a graph output
            default: lastUse[id] = min(n - 1, step + Int(rng.next() % 13))
            }
        }
        return (order, sizes, lastUse)
    }

    /// Two values whose lifetimes overlap never share a slot; every slot holds what is put in it;
    /// the slot-growing branch (a free slot too small for the next value is enlarged) is taken.
    func testLiveValuesNeverShareMemoryOnRandomSchedules() {
        var rng = SplitMix64(seed: 0x91A7)
        var grownSlots = 0, reusedSlots = 0
        for trial in 0..<200 {
            let n = 2 + Int(rng.next() % 60)
            let (order, sizes, lastUse) = randomSchedule(&rng, n: n)
            let plan = MemoryPlanner.plan(order: order, sizes: sizes, lastUse: lastUse)
            // Lifetime of the value written at step s: [s, last read], at least its own step.
            let interval: [(id: Int, from: Int, to: Int)] = order.enumerated().map { step, id in
                (id, step, max(step, lastUse[id] ?? step))
            }
            XCTAssertEqual(Set(plan.slotOf.keys), Set(order), "trial \(trial): every value gets a slot")
            for v in interval {
                let slot = plan.slotOf[v.id]!
                XCTAssertGreaterThanOrEqual(plan.slotElements[slot], sizes[v.id]!, "trial \(trial): value \(v.id) overflows slot \(slot)")
            }
            for (i, a) in interval.enumerated() {
                for b in interval[(i + 1)...] where plan.slotOf[a.id] == plan.slotOf[b.id] {
                    // Kernels do not run in place: a value read at step t and one written at t conflict.
                    XCTAssertTrue(a.to < b.from || b.to < a.from,
                                  "trial \(trial): values \(a.id) [\(a.from), \(a.to)] and \(b.id) [\(b.from), \(b.to)] share slot \(plan.slotOf[a.id]!)")
                }
            }
            // Growth: some value was placed in a slot whose earlier occupant was smaller than it.
            var firstSize: [Int: Int] = [:]
            for id in order {
                let slot = plan.slotOf[id]!
                if let first = firstSize[slot] {
                    reusedSlots += 1
                    if sizes[id]! > first { grownSlots += 1 }
                } else {
                    firstSize[slot] = sizes[id]!
                }
            }
            XCTAssertLessThanOrEqual(plan.peakElements, plan.totalValueElements, "trial \(trial)")
            XCTAssertEqual(plan.totalValueElements, order.reduce(0) { $0 + sizes[$1]! }, "trial \(trial)")
        }
        XCTAssertGreaterThan(reusedSlots, 1000, "random schedules reuse slots")
        XCTAssertGreaterThan(grownSlots, 100, "random schedules take the slot-growing branch")
        print("planner: \(reusedSlots) slot reuses, \(grownSlots) of them growing the slot")
    }

    /// The growing branch on a hand-made schedule: a 10-element value dies, then a 50-element one
    /// takes (and enlarges) its slot instead of opening a new one.
    func testFreeSlotTooSmallIsGrownInsteadOfAddingOne() {
        let plan = MemoryPlanner.plan(order: [1, 2, 3], sizes: [1: 10, 2: 20, 3: 50], lastUse: [1: 1, 2: 2, 3: Int.max])
        // Step 0 writes 1; step 1 writes 2 (reads 1); step 2 writes 3 (reads 2): 1's slot is free
        // again at step 2, too small for 50 elements, so it grows.
        XCTAssertEqual(plan.slotOf[1], plan.slotOf[3])
        XCTAssertNotEqual(plan.slotOf[2], plan.slotOf[3])
        XCTAssertEqual(plan.slotElements.count, 2)
        XCTAssertEqual(plan.slotElements[plan.slotOf[3]!], 50)
    }

    /// Random graphs of mixed-size values (concats, slices, pads, elementwise ops; several
    /// outputs) run through the planned executor equal op-by-op evaluation with fresh tensors.
    func testPlannedRunsOfRandomGraphsMatchUnplannedEvaluation() throws {
        var rng = SplitMix64(seed: 0x6A9F)
        for trial in 0..<25 {
            let g = GraphBuilder()
            let width = 4
            var values: [(Value, Shape)] = []
            let x = g.input("x", [3, width])
            values.append((x, [3, width]))
            // Host evaluation of the same graph, value by value.
            var host: [Tensor] = [Tensor(uniform: [3, width], seed: UInt64(trial))]
            for step in 0..<(8 + Int(rng.next() % 16)) {
                let i = Int(rng.next() % UInt64(values.count)), j = Int(rng.next() % UInt64(values.count))
                let sa = values[i].1, sb = values[j].1
                let op: Op, inputs: [Int]
                switch rng.next() % 5 {
                case 0 where sa[0] + sb[0] <= 200: op = .concat(axis: 0); inputs = [i, j]
                case 1 where sa[0] > 1:
                    let rows = 1 + Int(rng.next() % UInt64(sa[0] - 1))
                    op = .slice(start: [Int(rng.next() % UInt64(sa[0] - rows + 1)), 0], size: [rows, width]); inputs = [i]
                case 2: op = .pad(before: [Int(rng.next() % 3), 0], after: [Int(rng.next() % 5), 0]); inputs = [i]
                case 3 where sa == sb: op = .binary(.mul); inputs = [i, j]
                default: op = .unary(.gelu); inputs = [i]
                }
                let args = inputs.map { values[$0].0 }
                let v = g.op(op, args, name: "n\(step)")
                let result = try ReferenceKernels.execute(op, inputs: inputs.map { host[$0] })
                values.append((v, result.shape))
                host.append(result)
            }
            // The last value and two random ones are outputs; the rest are intermediates.
            let outputs = Set([values.count - 1, Int(rng.next() % UInt64(values.count)), Int(rng.next() % UInt64(values.count))])
            for k in outputs.sorted() where k > 0 { g.output("out\(k)", values[k].0) }
            let compiled = try CompiledGraph(try g.build(), backend: ReferenceBackend(), options: CompileOptions(foldConstants: false))
            let got = try compiled.run(["x": host[0]])
            for k in outputs.sorted() where k > 0 {
                XCTAssertEqual(got["out\(k)"], host[k], "trial \(trial): output \(k) differs from unplanned evaluation")
            }
            XCTAssertLessThanOrEqual(compiled.memoryPlan.peakElements, compiled.memoryPlan.totalValueElements)
        }
    }
}
