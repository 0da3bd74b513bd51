import ArchiveIO
import Foundation
import TensorRuntime

/// A `.safetensors` file, memory-mapped: an 8-byte little-endian header length, a JSON header
/// mapping names to `{dtype, shape, data_offsets}`, then the raw little-endian data.
///
/// Keys are the file's own names (less a `module.` prefix every key carries). Mapping another
/// naming scheme, such as Hugging Face `SamModel`'s, back to a model's names belongs to the model
/// (`SAMModels`' `SAMCheckpoint.open`).
public final class SafetensorsCheckpoint: CheckpointSource {
    public let path: String
    public let keys: [String]
    public let shapes: [String: Shape]
    public let storedDTypes: [String: StorageDType]
    /// The header's optional `__metadata__` strings.
    public let metadata: [String: String]
    /// Drop loaded tensors' pages from the resident set (see `PyTorchCheckpoint`).
    public var releasesPagesAfterLoad = true

    private let file: MappedFile
    private let entries: [String: Entry]
    private let dataStart: Int

    private struct Entry {
        var dtype: StorageDType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Headers beyond this are not real checkpoints (the safetensors library caps them at 100 MB).
    static let maximumHeaderLength = 100_000_000

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        let bytes = file.bytes
        func bad(_ m: String) -> CheckpointError { CheckpointError(path: path, problem: .safetensorsHeader(m)) }

        guard let length = ByteReader(bytes).u64(0) else {
            throw CheckpointError(path: path, problem: .truncated("shorter than the 8-byte safetensors header length"))
        }
        guard length <= UInt64(Self.maximumHeaderLength) else {
            throw CheckpointError(path: path, problem: .absurdSize("safetensors header length \(length)"))
        }
        guard let headerBytes = ByteReader(bytes).buffer(8, Int(length)) else {
            throw CheckpointError(path: path, problem: .truncated("header of \(length) bytes runs past the end of the \(bytes.count)-byte file"))
        }
        dataStart = 8 + Int(length)
        let dataSize = bytes.count - dataStart
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw bad("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw bad("header is not a JSON object") }

        var metadata: [String: String] = [:]
        var parsed: [(String, Entry)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("__metadata__['\(k)'] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw bad("'\(name)' is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw bad("'\(name)' has no dtype") }
            guard let dtype = StorageDType(safetensors: dtypeName) else {
                throw CheckpointError(path: path, problem: .unsupportedDType("'\(dtypeName)' of '\(name)'"))
            }
            guard let shape = Self.integers(info["shape"]), shape.count <= 16, shape.allSatisfy({ $0 >= 0 }) else {
                throw bad("'\(name)' has no valid shape")
            }
            guard let offsets = Self.integers(info["data_offsets"]), offsets.count == 2 else {
                throw bad("'\(name)' has no valid data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw bad("'\(name)' data_offsets [\(begin), \(end)] fall outside the \(dataSize)-byte data section")
            }
            guard let count = CheckedMath.product(shape), let byteCount = CheckedMath.multiply(count, dtype.size) else {
                throw CheckpointError(path: path, problem: .absurdSize("shape \(shape) of '\(name)'"))
            }
            guard byteCount == end - begin else {
                throw bad("'\(name)' of shape \(shape) \(dtypeName) needs \(byteCount) bytes but data_offsets span \(end - begin)")
            }
            parsed.append((name, Entry(dtype: dtype, shape: shape, begin: begin, end: end)))
        }
        // The format forbids overlapping tensors; check on the byte ranges sorted by start.
        let byStart = parsed.sorted { ($0.1.begin, $0.1.end) < ($1.1.begin, $1.1.end) }
        for (a, b) in zip(byStart, byStart.dropFirst()) where b.1.begin < a.1.end {
            throw bad("'\(a.0)' [\(a.1.begin), \(a.1.end)) and '\(b.0)' [\(b.1.begin), \(b.1.end)) overlap")
        }

        // File order = data order.
        var keys: [String] = [], shapes: [String: Shape] = [:], dtypes: [String: StorageDType] = [:]
        var entries: [String: Entry] = [:]
        for (key, entry) in StateDictUnwrapping.strippingDataParallelPrefix(byStart) {
            keys.append(key)
            entries[key] = entry
            shapes[key] = Shape(entry.shape)
            dtypes[key] = entry.dtype
        }
        self.keys = keys
        self.shapes = shapes
        self.storedDTypes = dtypes
        self.entries = entries
        self.metadata = metadata
    }

    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        for item in array {
            // Only exact integers: a fraction or an out-of-range number does not bridge to Int.
            guard let i = item as? Int else { return nil }
            out.append(i)
        }
        return out
    }

    public func load(_ key: String) throws -> Tensor {
        guard let entry = entries[key] else { throw CheckpointError(path: path, problem: .unknownKey(key)) }
        let view = TensorView(storageKey: key, dtype: entry.dtype, storageOffset: 0, shape: entry.shape,
                              strides: Shape(entry.shape).strides)
        if entry.dtype == .float32 {
            return Tensor(shape: Shape(entry.shape), data: try TensorConversion.float32(
                reading: file, at: dataStart + entry.begin, count: (entry.end - entry.begin) / 4))
        }
        file.willNeed((dataStart + entry.begin)..<(dataStart + entry.end))
        let region = ByteReader(file.bytes).buffer(dataStart + entry.begin, entry.end - entry.begin)!
        let values = TensorConversion.float32(from: region, view: view)
        if releasesPagesAfterLoad { file.release((dataStart + entry.begin)..<(dataStart + entry.end)) }
        return Tensor(shape: Shape(entry.shape), data: values)
    }
}
