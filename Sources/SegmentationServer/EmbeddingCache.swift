import Foundation
import MedicalImaging

/// Which slice of which uploaded image an embedding belongs to.
public struct SliceKey: Hashable, Sendable, CustomStringConvertible {
    public var image: String
    public var axis: SliceAxis
    public var slice: Int

    public init(image: String, axis: SliceAxis, slice: Int) {
        self.image = image
        self.axis = axis
        self.slice = slice
    }

    public var description: String { "\(image)/\(axis.rawValue)/\(slice)" }
}

/// A least-recently-used cache bounded by the bytes its values are declared to hold.
///
/// Embeddings are the one large thing the server keeps per slice (LiteMedSAM: 4 MiB each, plus
/// the decoder's image context), so the bound is in bytes, not entries: `--cache-mb` means what
/// it says whatever the model. A value larger than the whole bound is not kept at all. Not
/// thread-safe by itself; `SegmentationService` uses it under its own lock.
public struct ByteBoundedLRU<Key: Hashable, Value> {
    public let capacityBytes: Int
    public private(set) var totalBytes = 0
    public private(set) var evictions = 0
    public private(set) var hits = 0
    public private(set) var misses = 0

    private var entries: [Key: (value: Value, bytes: Int, tick: UInt64)] = [:]
    private var tick: UInt64 = 0

    public init(capacityBytes: Int) { self.capacityBytes = max(0, capacityBytes) }

    public var count: Int { entries.count }
    public var keys: [Key] { Array(entries.keys) }

    public func contains(_ key: Key) -> Bool { entries[key] != nil }

    /// The value for `key`, marking it most recently used.
    public mutating func get(_ key: Key) -> Value? {
        guard var e = entries[key] else { misses += 1; return nil }
        hits += 1
        tick += 1
        e.tick = tick
        entries[key] = e
        return e.value
    }

    /// Stores `value`, evicting least recently used entries until the total fits. Returns the
    /// evicted keys.
    @discardableResult
    public mutating func put(_ key: Key, _ value: Value, bytes: Int) -> [Key] {
        remove(key)
        guard bytes <= capacityBytes else { return [] }
        var evicted: [Key] = []
        while totalBytes + bytes > capacityBytes, let oldest = entries.min(by: { $0.value.tick < $1.value.tick })?.key {
            remove(oldest)
            evictions += 1
            evicted.append(oldest)
        }
        tick += 1
        entries[key] = (value, bytes, tick)
        totalBytes += bytes
        return evicted
    }

    public mutating func remove(_ key: Key) {
        if let e = entries.removeValue(forKey: key) { totalBytes -= e.bytes }
    }

    /// Removes every entry whose key matches.
    public mutating func removeAll(where match: (Key) -> Bool) {
        for k in entries.keys where match(k) { remove(k) }
    }
}
