import Dispatch
import Foundation
import Synchronization
import XCTest
import TensorRuntime
@testable import CPUBackend

/// `WorkerPool`'s contract under contention: every task runs exactly once, worker indices stay
/// in range and are never shared by two concurrent calls (per-worker scratch is written without
/// locks, so ThreadSanitizer reports any sharing: scripts/tests/tsan.sh runs these), and several
/// callers may drive pools at once.
final class WorkerPoolTests: XCTestCase {
    /// An atomic integer with reference semantics (so arrays of them can be built).
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func increment() { value.wrappingAdd(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }
    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Runs `tasks` tasks; each writes its worker's scratch slot without synchronisation and counts
    /// itself. Returns how often each task ran.
    private func exercise(_ pool: WorkerPool, tasks: Int) -> [Int] {
        let counts = (0..<tasks).map { _ in Counter() }
        let busy = (0..<pool.threads).map { _ in Flag() }
        let scratch = UnsafeMutableBufferPointer<Int>.allocate(capacity: pool.threads * 16)
        scratch.initialize(repeating: 0)
        defer { scratch.deallocate() }
        let outOfRange = Counter(), shared = Counter(), wrongSums = Counter()
        pool.run(tasks) { task, worker in
            guard worker >= 0 && worker < pool.threads else {
                outOfRange.increment()
                return
            }
            if busy[worker].value.exchange(true, ordering: .acquiring) { shared.increment() }
            // A pause now and then so every worker really takes tasks while others run (tiny
            // tasks could all be taken by the first worker, leaving ThreadSanitizer nothing).
            if task % 8 == 0 { usleep(200) }
            // Per-worker scratch, as kernels use it: plain (racy if shared) reads and writes.
            for i in 0..<16 { scratch[worker * 16 + i] = task &+ i }
            var sum = 0
            for i in 0..<16 { sum &+= scratch[worker * 16 + i] }
            if sum != 16 * task + 120 { wrongSums.increment() }
            busy[worker].value.store(false, ordering: .releasing)
            counts[task].increment()
        }
        // Checked here, on the calling thread: XCTest's assertions are not for worker threads.
        XCTAssertEqual(outOfRange.count, 0, "worker index out of 0..<\(pool.threads)")
        XCTAssertEqual(shared.count, 0, "two concurrent calls shared a worker index")
        XCTAssertEqual(wrongSums.count, 0, "per-worker scratch was overwritten by another task")
        return counts.map(\.count)
    }

    func testEveryTaskRunsOnceWithDistinctWorkers() {
        for threads in [1, 2, 3, 8] {
            for tasks in [0, 1, 2, 7, 64, 1000] {
                let counts = exercise(WorkerPool(threads: threads), tasks: tasks)
                XCTAssertEqual(counts, [Int](repeating: 1, count: tasks), "\(threads) threads, \(tasks) tasks")
            }
        }
    }

    /// Four callers drive their own pools at the same time (as concurrent predictors would).
    func testConcurrentCallersDoNotInterfere() {
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for round in 0..<20 {
                let tasks = 50 + 13 * caller + round
                let counts = exercise(WorkerPool(threads: 3), tasks: tasks)
                if counts != [Int](repeating: 1, count: tasks) { failures.withLock { $0.append("caller \(caller) round \(round)") } }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
    }

    /// Jobs after the team's helpers have gone to sleep (the poll window is 2 ms) wake them: each
    /// job still runs every task once, with every helper taking part again.
    func testJobsAfterIdleWakeSleepingHelpers() {
        let pool = WorkerPool(threads: 3)
        for round in 0..<6 {
            usleep(round.isMultiple(of: 2) ? 20_000 : 0)
            let counts = exercise(pool, tasks: 200)
            XCTAssertEqual(counts, [Int](repeating: 1, count: 200), "round \(round)")
        }
    }

    /// A task that runs the same pool again (the team is busy with the outer job) gets the
    /// libdispatch path instead of waiting on itself: no deadlock, every inner task once.
    func testNestedRunFallsBackInsteadOfDeadlocking() {
        let pool = WorkerPool(threads: 2)
        let inner = (0..<4).map { _ in (0..<10).map { _ in Counter() } }
        pool.run(4) { outer, _ in
            pool.run(10) { task, worker in
                precondition(worker >= 0 && worker < pool.threads)
                inner[outer][task].increment()
            }
        }
        XCTAssertEqual(inner.map { $0.map(\.count) }, [[Int]](repeating: [Int](repeating: 1, count: 10), count: 4))
    }

    /// Pools that go away take their helper threads with them (a test run or a server makes
    /// many backends; leaked pollers would pile up).
    func testDroppedPoolsStopTheirThreads() throws {
        func threadCount() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
        }
        guard FileManager.default.fileExists(atPath: "/proc/self/task") else {
            throw XCTSkip("needs Linux's /proc/self/task to count threads")
        }
        let before = try threadCount()
        for _ in 0..<20 {
            let pool = WorkerPool(threads: 4)
            XCTAssertEqual(exercise(pool, tasks: 16), [Int](repeating: 1, count: 16))
        }
        // Helpers exit once woken by the team's deinit; give them a moment.
        var after = try threadCount()
        for _ in 0..<100 where after > before + 3 {
            usleep(10_000)
            after = try threadCount()
        }
        XCTAssertLessThanOrEqual(after, before + 3, "20 pools of 4 threads were dropped, \(after - before) threads remain")
    }

    /// `forEachRange` covers `0..<count` exactly once with contiguous ranges of at least `grain`.
    func testForEachRangeCoversEveryElementOnce() {
        for (threads, count, grain) in [(1, 10, 1), (2, 1, 1), (3, 100, 7), (8, 1000, 64), (4, 5, 10), (2, 0, 1)] {
            let pool = WorkerPool(threads: threads)
            let hits = (0..<count).map { _ in Counter() }
            let tooSmall = Counter()
            pool.forEachRange(count, grain: grain) { range, _ in
                if range.count < min(grain, count) { tooSmall.increment() }
                for i in range { hits[i].increment() }
            }
            XCTAssertEqual(hits.map(\.count), [Int](repeating: 1, count: count), "\(threads)/\(count)/\(grain)")
            XCTAssertEqual(tooSmall.count, 0, "\(threads)/\(count)/\(grain): a range below the grain")
        }
    }

    /// Two cpu backends used from two threads at once give the results each gives alone
    /// (no shared mutable state between instances; ThreadSanitizer checks the memory accesses).
    func testTwoBackendsOnTwoThreadsAgreeWithSerialRuns() throws {
        let cases = ParityCase.standard(.quick).filter { [.gemm, .convolution, .attention, .normalization].contains($0.op.opClass) }
        func runAll(_ backend: CPUBackend) throws -> [Tensor] {
            try cases.map { c in
                let inputs = c.inputShapes.enumerated().map { i, s in Tensor(uniform: s, seed: c.seed &+ UInt64(i)) }
                let refs = try inputs.map { try backend.makeTensor($0) }
                let shape = try c.op.outputShape(inputs: c.inputShapes)
                let out = TensorRef(buffer: try backend.allocate(elementCount: shape.count), shape: shape)
                try backend.encode(c.op, inputs: refs, output: out)
                try backend.synchronize()
                return try backend.download(out)
            }
        }
        let serial = try runAll(CPUBackend(threads: 2))
        let results = Mutex<[Int: [Tensor]]>([:])
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do {
                let r = try runAll(CPUBackend(threads: 2))
                results.withLock { $0[i] = r }
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(errors.withLock { $0 }, [])
        for i in 0..<2 {
            XCTAssertEqual(results.withLock { $0[i] }, serial, "thread \(i)")
        }
    }
}
