import Dispatch
import Synchronization

/// Runs independent tasks on a fixed number of threads.
///
/// The caller blocks until every task has run, so kernels stay synchronous. Tasks go to a
/// `ThreadTeam` of persistent workers that poll briefly between ops (a model run's hundreds of
/// short ops then pay no thread wake-ups); when that team is already busy (a second thread using
/// the same pool, or a task that runs the pool again) they go to `DispatchQueue.concurrentPerform`
/// instead. Workers take the next task from a shared atomic counter, so a worker slowed by
/// something else on the machine (a shared VM, another process) leaves its share to the others
/// instead of holding up the whole op. Which worker runs a task never changes the arithmetic done
/// for it (scratch is per worker and rewritten by each task), so results do not depend on timing.
struct WorkerPool {
    let threads: Int
    /// Nil for one thread (everything runs on the caller).
    private let team: ThreadTeam?

    init(threads: Int) {
        self.threads = max(1, threads)
        self.team = self.threads > 1 ? ThreadTeam(threads: self.threads) : nil
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
        if let team, team.tryRun(tasks, body) { return }
        if #available(macOS 15.0, *) {
            let next = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                while true {
                    let t = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if t >= tasks { break }
                    body(t, w)
                }
            }
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var t = w
                while t < tasks {
                    body(t, w)
                    t += workers
                }
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
