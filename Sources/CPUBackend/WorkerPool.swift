import Dispatch

/// Runs independent tasks on a fixed number of threads.
///
/// Built on `DispatchQueue.concurrentPerform`: the caller blocks until every task has run,
/// so kernels stay synchronous. Tasks are dealt out round-robin (task t goes to worker
/// t mod n), which balances the uniform tasks kernels create and keeps results independent
/// of timing: which worker runs a task never changes the arithmetic done for it.
struct WorkerPool {
    let threads: Int

    init(threads: Int) {
        self.threads = max(1, threads)
    }

    /// Calls `body(task, worker)` for every task in `0..<tasks`; `worker` is in `0..<threads`
    /// and no two concurrent calls share one, so it can index per-worker scratch memory.
    func run(_ tasks: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
        if tasks <= 0 { return }
        let workers = min(threads, tasks)
        if workers == 1 {
            for t in 0..<tasks { body(t, 0) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var t = w
            while t < tasks {
                body(t, w)
                t += workers
            }
        }
    }

    /// Splits `0..<count` into contiguous ranges of at least `grain` elements (one or more per
    /// worker) and calls `body(range, worker)` for each.
    func forEachRange(_ count: Int, grain: Int = 1, _ body: (_ range: Range<Int>, _ worker: Int) -> Void) {
        if count <= 0 { return }
        let pieces = max(1, min(threads, count / max(grain, 1)))
        if pieces == 1 {
            body(0..<count, 0)
            return
        }
        run(pieces) { p, w in
            let lo = count * p / pieces, hi = count * (p + 1) / pieces
            if lo < hi { body(lo..<hi, w) }
        }
    }
}
