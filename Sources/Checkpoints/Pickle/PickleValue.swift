import ArchiveIO
/// A value on the pickle machine's stack.
///
/// Containers are indices into a `PickleArena` rather than nested values, so nothing is
/// recursive: no deep recursion when a hostile file nests containers a million levels deep, and
/// no reference cycles when a pickle puts a list inside itself.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(Int)
    case list(Int)
    case dict(Int)
    case global(AllowedGlobal)
    case storage(Int)
    case tensor(Int)

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return "global \(g.qualifiedName)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A storage named by a persistent id: `('storage', torch.XStorage, key, location, numel)`.
struct StorageReference {
    var key: String
    var dtype: StorageDType
    var elementCount: Int
}

/// A tensor view rebuilt by `_rebuild_tensor_v2`: a storage plus offset, sizes and strides in elements.
public struct TensorView: Sendable {
    public var storageKey: String
    public var dtype: StorageDType
    public var storageOffset: Int
    public var shape: [Int]
    public var strides: [Int]

    /// One past the largest element index the view touches (0 for an empty tensor), or nil on overflow.
    var extent: Int? {
        if shape.contains(0) { return 0 }
        var last = storageOffset
        for (size, stride) in zip(shape, strides) {
            guard let step = CheckedMath.multiply(size - 1, stride), let sum = CheckedMath.add(last, step) else { return nil }
            last = sum
        }
        return CheckedMath.add(last, 1)
    }

    var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1 && stride != expected { return false }
            expected *= size
        }
        return true
    }
}

/// Owner of every container the pickle machine builds.
struct PickleArena {
    var tuples: [[PickleValue]] = []
    var lists: [[PickleValue]] = []
    var dicts: [[(key: PickleValue, value: PickleValue)]] = []
    var storages: [StorageReference] = []
    var tensors: [TensorView] = []

    mutating func newTuple(_ items: [PickleValue]) -> PickleValue {
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    mutating func newList(_ items: [PickleValue] = []) -> PickleValue {
        lists.append(items)
        return .list(lists.count - 1)
    }

    mutating func newDict() -> PickleValue {
        dicts.append([])
        return .dict(dicts.count - 1)
    }
}
