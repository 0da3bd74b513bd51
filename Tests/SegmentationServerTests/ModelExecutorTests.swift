import Foundation
import Segmentation
import SegmentationServer
import TensorRuntime
import XCTest

/// The model thread's two lanes: clicks before background work, and clicks answered from inside
/// a long background job (a propagation) when it offers the thread between its steps.
final class ModelExecutorTests: XCTestCase {
    /// Records the order jobs ran in, from any thread.
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String] = []
        func append(_ s: String) { lock.lock(); entries.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return entries }
    }

    func makeExecutor() throws -> ModelExecutor {
        ModelExecutor(predictor: Predictor(model: try ServerAPITests.model(), backend: ReferenceBackend()))
    }

    func testAClickQueuedDuringALongJobRunsAtItsNextStep() throws {
        let executor = try makeExecutor()
        let log = Log()
        let started = DispatchSemaphore(value: 0)
        let clickQueued = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        executor.submit(.background) { _ in
            log.append("step 1")
            started.signal()
            clickQueued.wait()
            executor.serveWaitingClicks()
            log.append("step 2")
            executor.serveWaitingClicks()   // nothing waiting: returns at once
            log.append("step 3")
            finished.signal()
        }
        // Only once the long job runs: a click queued before it starts would simply go first.
        started.wait()
        executor.submit(.interactive) { _ in log.append("click") }
        clickQueued.signal()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(log.all, ["step 1", "click", "step 2", "step 3"])
        executor.shutdown()
    }

    func testWithoutStepsAClickWaitsForTheRunningJobButNotForQueuedOnes() throws {
        let executor = try makeExecutor()
        let log = Log()
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        executor.submit(.background) { _ in
            started.signal()
            release.wait()
            log.append("background 1")
        }
        started.wait()
        executor.submit(.background) { _ in log.append("background 2"); finished.signal() }
        executor.submit(.interactive) { _ in log.append("click") }
        release.signal()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(log.all, ["background 1", "click", "background 2"])
        executor.shutdown()
    }

    func testJobsQueuedAtShutdownFailInsteadOfHanging() async throws {
        let executor = try makeExecutor()
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        executor.submit(.background) { _ in started.signal(); release.wait() }
        started.wait()
        let click = Task { try await executor.run(.interactive) { _ in 1 } }
        // Give the click time to be queued behind the blocked job, then stop.
        try await Task.sleep(nanoseconds: 100_000_000)
        executor.shutdown()
        release.signal()
        // Queued behind the blocked job, or (on a slow machine) queued after shutdown began:
        // either way it fails with 503 rather than hanging or running.
        do {
            _ = try await click.value
            XCTFail("a click queued at shutdown must fail")
        } catch let e as ServiceError {
            XCTAssertEqual(e, .shuttingDown)
        }
    }
}
