import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Persistent worker threads for `WorkerPool`: between jobs they poll for the next one for a
/// short while, then sleep.
///
/// Why not `DispatchQueue.concurrentPerform` for every op: a model run is hundreds of short
/// parallel ops, and libdispatch parks its threads between them, so every op pays a wake-up.
/// On the project's 2-vCPU VM those wake-ups are cheap while the machine is busy but not after
/// it has been idle: a LiteMedSAM decode took ~45 ms 150 ms after the previous one against
/// ~24 ms back to back (Benchmarks/serve), which is what an annotator's clicks look like. Workers
/// that keep polling for a little while after each job (as OpenMP runtimes do: KMP_BLOCKTIME,
/// GOMP_SPINCOUNT) see the next op of the same model run at once and sleep only when no op came
/// for `spinDuration`, so an idle process costs nothing.
///
/// One job at a time: the calling thread is worker 0 and works too; the helpers are workers
/// 1..<threads. A second caller arriving while a job runs is told to go elsewhere
/// (`tryRun` returns false) rather than wait, so nested or concurrent use cannot deadlock.
final class ThreadTeam: Sendable {
    /// How long a helper polls for the next job before sleeping: long enough to bridge the gaps
    /// between the ops of one model run (microseconds of graph bookkeeping, or a short host
    /// step), short enough that an idle process does not hold a core. `MEDSAM_CPU_SPIN_US`
    /// overrides it (0: sleep at once, as libdispatch does), for measuring its effect.
    static let spinDuration: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["MEDSAM_CPU_SPIN_US"], let us = UInt64(text) {
            return us * 1000
        }
        return 2_000_000
    }()

    let threads: Int
    private let state: TeamState

    /// Starts `threads - 1` helper threads (the caller of `tryRun` is the other worker).
    init(threads: Int) {
        precondition(threads >= 2, "a team needs at least one helper thread")
        self.threads = threads
        let state = TeamState(helpers: threads - 1)
        self.state = state
        for w in 1..<threads {
            let thread = Thread { state.helperLoop(worker: w) }
            // Kernels keep small buffers on the stack; give helpers the main thread's default.
            thread.stackSize = 8 << 20
            thread.name = "medsam-cpu-worker-\(w)"
            thread.start()
        }
    }

    deinit {
        state.shutDown()
    }

    /// Runs `body(task, worker)` for every task of `0..<tasks` on the team, the caller taking
    /// tasks too. Returns false, having run nothing, when the team is already running a job
    /// (another thread's, or this one's from inside a task).
    func tryRun(_ tasks: Int, _ body: (_ task: Int, _ worker: Int) -> Void) -> Bool {
        guard state.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        withoutActuallyEscaping(body) { escapable in
            state.run(tasks, escapable)
        }
        state.busy.store(false, ordering: .releasing)
        return true
    }
}

/// A helper's way to sleep: it sets `parked` and waits on `semaphore`; whoever clears `parked`
/// (exchange true -> false) owes it one signal.
private final class Parking: Sendable {
    let parked = Atomic<Bool>(false)
    let semaphore = DispatchSemaphore(value: 0)

    /// Wakes the helper if it sleeps (or is about to).
    func wake() {
        if parked.exchange(false, ordering: .sequentiallyConsistent) { semaphore.signal() }
    }
}

/// What the team's threads share. `job` and `taskCount` are plain fields published by the
/// release of `generation` and read after its acquire; the caller clears `job` only after every
/// helper has acknowledged the generation, so no helper can see a stale or freed closure.
private final class TeamState: @unchecked Sendable {
    let helpers: Int
    /// Bumped once per job; helpers wait for it to move.
    let generation = Atomic<Int>(0)
    /// The next task index to take, shared by all workers (a slow worker leaves its share).
    let nextTask = Atomic<Int>(0)
    /// Helpers done with the current generation.
    let acknowledged = Atomic<Int>(0)
    let busy = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)
    let parking: [Parking]
    var job: ((Int, Int) -> Void)?
    var taskCount = 0

    init(helpers: Int) {
        self.helpers = helpers
        self.parking = (0..<helpers).map { _ in Parking() }
    }

    func run(_ tasks: Int, _ body: @escaping (Int, Int) -> Void) {
        job = body
        taskCount = tasks
        nextTask.store(0, ordering: .relaxed)
        acknowledged.store(0, ordering: .relaxed)
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        for p in parking { p.wake() }
        while true {
            let t = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if t >= tasks { break }
            body(t, 0)
        }
        // Every helper must see this generation and leave the closure before it goes away.
        var polls = 0
        while acknowledged.load(ordering: .acquiring) < helpers {
            polls &+= 1
            if polls & 63 == 0 { sched_yield() }
        }
        job = nil
    }

    func shutDown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        for p in parking { p.wake() }
    }

    func helperLoop(worker w: Int) {
        let parking = self.parking[w - 1]
        // Generation 0 is "no job yet", not a load: a helper thread that starts after the first
        // job was posted must still take part in it (the caller waits for every helper).
        var seen = 0
        while true {
            // Wait for a new generation: poll, then sleep.
            var start: UInt64 = 0
            var polls = 0
            while generation.load(ordering: .acquiring) == seen {
                if stopping.load(ordering: .relaxed) { return }
                polls &+= 1
                if polls & 127 != 0 { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if start == 0 { start = now }
                if now - start < ThreadTeam.spinDuration {
                    sched_yield()
                    continue
                }
                parking.parked.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) != seen || stopping.load(ordering: .sequentiallyConsistent) {
                    // Work (or shutdown) came between the last poll and parking: unpark, unless
                    // the caller already did, in which case its signal is on its way.
                    if !parking.parked.exchange(false, ordering: .sequentiallyConsistent) { parking.semaphore.wait() }
                } else {
                    parking.semaphore.wait()
                }
                start = 0
            }
            if stopping.load(ordering: .acquiring) { return }
            seen = generation.load(ordering: .acquiring)
            do {
                let body = job!
                let count = taskCount
                while true {
                    let t = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
                    if t >= count { break }
                    body(t, w)
                }
            }
            acknowledged.wrappingAdd(1, ordering: .releasing)
        }
    }
}
