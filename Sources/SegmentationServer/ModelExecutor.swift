import Foundation
import Segmentation

/// Runs all model work on one thread that owns the `Predictor`, with two lanes.
///
/// Backends are not thread-safe (the cpu backend's workers share per-worker scratch memory), so
/// exactly one thread touches the predictor. Interactive work (a click: decode, or the encode
/// of the slice being clicked) is always taken before background work (encoding slices ahead,
/// propagation), so a click waits for at most the one background job already running, never
/// for a queue of them. Background jobs are kept to one slice each where they can be; a job that
/// cannot (a propagation walks many slices) calls `serveWaitingClicks()` between its steps.
public final class ModelExecutor: @unchecked Sendable {
    public enum Lane: Sendable { case interactive, background }

    private let predictor: Predictor
    private let condition = NSCondition()
    private var interactive: [(_ stopped: Bool) -> Void] = []
    private var background: [(_ stopped: Bool) -> Void] = []
    private var stopped = false
    private var thread: Thread?

    /// Background jobs waiting (not counting one running).
    public var backgroundQueued: Int {
        condition.lock(); defer { condition.unlock() }
        return background.count
    }

    public init(predictor: Predictor) {
        self.predictor = predictor
        // The thread holds the executor until `shutdown` (the server's lifetime).
        let t = Thread { self.loop() }
        t.name = "medsam-model"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Stops taking jobs; jobs still queued fail with `ServiceError.shuttingDown`.
    public func shutdown() {
        condition.lock()
        stopped = true
        let pending = interactive + background
        interactive = []
        background = []
        condition.broadcast()
        condition.unlock()
        for job in pending { job(true) }
    }

    /// Runs `body` on the model thread and returns its result.
    public func run<T>(_ lane: Lane, _ body: @escaping (Predictor) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            enqueue(lane) { [predictor] isStopped in
                if isStopped { cont.resume(throwing: ServiceError.shuttingDown); return }
                cont.resume(with: Result { try body(predictor) })
            }
        }
    }

    /// Queues `body` without waiting for it (background encoding).
    public func submit(_ lane: Lane, _ body: @escaping (Predictor) -> Void) {
        enqueue(lane) { [predictor] isStopped in if !isStopped { body(predictor) } }
    }

    /// Runs the interactive jobs waiting now, from inside a long background job.
    ///
    /// Call it only on the model thread (from a job's body), between steps that leave the
    /// predictor free for others: the clicks run with the same predictor, so a caller that keeps
    /// state in it (the current embedding) must set that state again afterwards, as
    /// `VolumePropagation` does before every slice.
    public func serveWaitingClicks() {
        precondition(Thread.current == thread, "serveWaitingClicks() must be called on the model thread")
        while true {
            condition.lock()
            if interactive.isEmpty || stopped {
                condition.unlock()
                return
            }
            let job = interactive.removeFirst()
            condition.unlock()
            job(false)
        }
    }

    private func enqueue(_ lane: Lane, _ job: @escaping (_ stopped: Bool) -> Void) {
        condition.lock()
        if stopped {
            condition.unlock()
            job(true)
            return
        }
        switch lane {
        case .interactive: interactive.append(job)
        case .background: background.append(job)
        }
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while interactive.isEmpty && background.isEmpty && !stopped { condition.wait() }
            if stopped && interactive.isEmpty && background.isEmpty { condition.unlock(); return }
            let job = interactive.isEmpty ? background.removeFirst() : interactive.removeFirst()
            condition.unlock()
            job(false)
        }
    }
}
