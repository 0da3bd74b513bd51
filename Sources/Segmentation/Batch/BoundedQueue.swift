import Foundation

/// A first-in first-out queue of at most `capacity` items between pipeline stages: a producer
/// blocks while it is full (so memory stays flat however many cases are queued), a consumer
/// blocks while it is empty until the producers close it.
final class BoundedQueue<Element> {
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int
    private var producers: Int
    private let condition = NSCondition()

    /// - Parameter producers: how many `close()` calls end the queue.
    init(capacity: Int, producers: Int = 1) {
        self.capacity = max(capacity, 1)
        self.producers = producers
    }

    private var count: Int { items.count - head }

    /// Adds `item`, waiting while the queue is full.
    func push(_ item: Element) {
        condition.lock()
        while count >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    /// One producer is finished; the queue ends when all are.
    func close() {
        condition.lock()
        producers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The next item, or nil once the queue is empty and closed.
    func pop() -> Element? {
        popBatch(max: 1).first
    }

    /// Up to `max` items: waits until `max` are queued or the producers are done, so a batched
    /// consumer gets full batches while work keeps coming. Empty once the queue is drained and closed.
    func popBatch(max n: Int) -> [Element] {
        condition.lock()
        defer { condition.unlock() }
        // A full queue cannot grow: take what is there rather than wait for a batch larger than capacity.
        while count < min(n, capacity) && producers > 0 { condition.wait() }
        let k = min(n, count)
        let out = Array(items[head..<(head + k)])
        head += k
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return out
    }
}
