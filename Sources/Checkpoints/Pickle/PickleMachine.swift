import ArchiveIO
/// A pickle interpreter for the subset `torch.save` writes (protocols 2 to 5).
///
/// It builds only plain data (numbers, strings, tuples, lists, dicts) and tensor descriptions;
/// callables are limited to `AllowedGlobal` and are interpreted here, never executed. Opcodes
/// that instantiate arbitrary classes (INST, OBJ, NEWOBJ of anything, EXT*) are refused.
struct PickleMachine {
    let path: String
    let data: UnsafeRawBufferPointer
    var arena = PickleArena()
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var pos = 0
    private var storageIndex: [String: Int] = [:]

    init(path: String, data: UnsafeRawBufferPointer) {
        self.path = path
        self.data = data
    }

    private func malformed(_ m: String) -> CheckpointError {
        CheckpointError(path: path, problem: .malformedPickle(m))
    }

    // MARK: reading operands

    private mutating func byte() throws -> UInt8 {
        guard let b = ByteReader(data).u8(pos) else { throw CheckpointError(path: path, problem: .truncated("pickle ends without STOP")) }
        pos += 1
        return b
    }

    private mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard let s = ByteReader(data).buffer(pos, n) else {
            throw CheckpointError(path: path, problem: .truncated("pickle operand of \(n) bytes at offset \(pos) runs past its end"))
        }
        pos += n
        return s
    }

    private mutating func uint(_ width: Int) throws -> UInt64 {
        let b = try bytes(width)
        var v: UInt64 = 0
        for i in (0..<width).reversed() { v = v << 8 | UInt64(b[i]) }
        return v
    }

    /// A length operand, refused if it cannot fit in the rest of the pickle.
    private mutating func length(_ width: Int) throws -> Int {
        let v = try uint(width)
        guard v <= UInt64(data.count - pos) else {
            throw CheckpointError(path: path, problem: .absurdSize("pickle operand length \(v) at offset \(pos) exceeds the remaining \(data.count - pos) bytes"))
        }
        return Int(v)
    }

    private mutating func line() throws -> String {
        var end = pos
        while end < data.count && data[end] != 0x0A { end += 1 }
        guard end < data.count else { throw CheckpointError(path: path, problem: .truncated("pickle GLOBAL operand has no newline")) }
        let s = String(decoding: data[pos..<end], as: UTF8.self)
        pos = end + 1
        return s
    }

    // MARK: stack

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw malformed("stack underflow at offset \(pos - 1)") }
        if let m = marks.last, stack.count < m { throw malformed("pop across a MARK at offset \(pos - 1)") }
        return v
    }

    private mutating func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw malformed("stack underflow at offset \(pos - 1)") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw malformed("no MARK for the opcode at offset \(pos - 1)") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func memoize(_ index: Int) throws {
        memo[index] = try top()
    }

    // MARK: running

    /// Runs to STOP and returns the pickled object.
    mutating func run() throws -> PickleValue {
        while true {
            let opAt = pos
            let op = try byte()
            switch op {
            case 0x80: // PROTO
                let v = try byte()
                guard v >= 2 && v <= 5 else { throw malformed("pickle protocol \(v) is not supported (2 to 5 are)") }
            case 0x95: _ = try uint(8) // FRAME: a grouping hint only
            case 0x2E: // STOP
                let result = try pop()
                return result
            case 0x28: marks.append(stack.count) // MARK
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popMark() // POP_MARK
            case 0x32: stack.append(try top()) // DUP
            case 0x4E: stack.append(.none) // NONE
            case 0x88: stack.append(.bool(true)) // NEWTRUE
            case 0x89: stack.append(.bool(false)) // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try uint(4)))))) // BININT
            case 0x4B: stack.append(.int(Int(try byte()))) // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2)))) // BININT2
            case 0x8A: stack.append(.int(try longInteger(try length(1)))) // LONG1
            case 0x8B: stack.append(.int(try longInteger(try length(4)))) // LONG4
            case 0x47: stack.append(.float(Double(bitPattern: try uint(8).byteSwapped))) // BINFLOAT (big-endian)
            case 0x58: stack.append(.string(try text(try length(4)))) // BINUNICODE
            case 0x8C: stack.append(.string(try text(try length(1)))) // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(try length(8)))) // BINUNICODE8
            case 0x54: stack.append(.string(try text(try length(4)))) // BINSTRING
            case 0x55: stack.append(.string(try text(try length(1)))) // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(Array(try bytes(try length(4))))) // BINBYTES
            case 0x43: stack.append(.bytes(Array(try bytes(try length(1))))) // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(Array(try bytes(try length(8))))) // BINBYTES8
            case 0x29: stack.append(arena.newTuple([])) // EMPTY_TUPLE
            case 0x74: stack.append(arena.newTuple(try popMark())) // TUPLE
            case 0x85: // TUPLE1
                let a = try pop()
                stack.append(arena.newTuple([a]))
            case 0x86: // TUPLE2
                let b = try pop(), a = try pop()
                stack.append(arena.newTuple([a, b]))
            case 0x87: // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                stack.append(arena.newTuple([a, b, c]))
            case 0x5D, 0x8F: stack.append(arena.newList()) // EMPTY_LIST, EMPTY_SET (kept as a list)
            case 0x6C: stack.append(arena.newList(try popMark())) // LIST
            case 0x91: stack.append(arena.newList(try popMark())) // FROZENSET
            case 0x61: // APPEND
                let v = try pop()
                try append([v])
            case 0x65, 0x90: try append(try popMark()) // APPENDS, ADDITEMS
            case 0x7D: stack.append(arena.newDict()) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark()
                let d = arena.newDict()
                stack.append(d)
                try setItems(items)
            case 0x73: // SETITEM
                let v = try pop(), k = try pop()
                try setItems([k, v])
            case 0x75: try setItems(try popMark()) // SETITEMS
            case 0x71: try memoize(Int(try byte())) // BINPUT
            case 0x72: try memoize(Int(try uint(4))) // LONG_BINPUT
            case 0x94: try memoize(memo.count) // MEMOIZE
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let i = Int(op == 0x68 ? UInt64(try byte()) : try uint(4))
                guard let v = memo[i] else { throw malformed("memo index \(i) read before it was written (offset \(opAt))") }
                stack.append(v)
            case 0x63: // GLOBAL
                let module = try line(), name = try line()
                stack.append(.global(try resolveGlobal(module: module, name: name)))
            case 0x93: // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let module) = m, case .string(let name) = n else {
                    throw malformed("STACK_GLOBAL needs two strings (offset \(opAt))")
                }
                stack.append(.global(try resolveGlobal(module: module, name: name)))
            case 0x52: // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args, at: opAt))
            case 0x62: // BUILD: state for dicts and tensors (e.g. `_metadata`) carries no weights
                let state = try pop()
                _ = state
                _ = try top()
            case 0x51: // BINPERSID
                let pid = try pop()
                stack.append(try persistentLoad(pid, at: opAt))
            default:
                throw CheckpointError(path: path, problem: .unknownOpcode(opcode: op, offset: opAt))
            }
        }
    }

    private mutating func text(_ n: Int) throws -> String {
        String(decoding: try bytes(n), as: UTF8.self)
    }

    /// Little-endian two's-complement integer of `n` bytes, which must fit in 64 bits.
    private mutating func longInteger(_ n: Int) throws -> Int {
        let b = try bytes(n)
        if n == 0 { return 0 }
        guard n <= 8 else {
            throw CheckpointError(path: path, problem: .absurdSize("pickle integer of \(n) bytes"))
        }
        var v: UInt64 = 0
        for i in (0..<n).reversed() { v = v << 8 | UInt64(b[i]) }
        if n < 8 && b[n - 1] & 0x80 != 0 { v |= ~0 << UInt64(8 * n) } // sign-extend
        return Int(Int64(bitPattern: v))
    }

    private func resolveGlobal(module: String, name: String) throws -> AllowedGlobal {
        guard let g = AllowedGlobal(module: module, name: name) else {
            throw CheckpointError(path: path, problem: .forbiddenGlobal("\(module).\(name)"))
        }
        return g
    }

    private mutating func append(_ items: [PickleValue]) throws {
        guard case .list(let i) = try top() else { throw malformed("APPEND to a \(try top().kindName) (offset \(pos - 1))") }
        arena.lists[i].append(contentsOf: items)
    }

    private mutating func setItems(_ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items (offset \(pos - 1))") }
        guard case .dict(let d) = try top() else { throw malformed("SETITEM on a \(try top().kindName) (offset \(pos - 1))") }
        var i = 0
        while i < items.count {
            arena.dicts[d].append((items[i], items[i + 1]))
            i += 2
        }
    }

    private func tupleItems(_ v: PickleValue, _ what: String) throws -> [PickleValue] {
        guard case .tuple(let t) = v else { throw malformed("\(what) must be a tuple, got \(v.kindName)") }
        return arena.tuples[t]
    }

    private func integers(_ v: PickleValue, _ what: String) throws -> [Int] {
        let items: [PickleValue]
        switch v {
        case .tuple(let t): items = arena.tuples[t]
        case .list(let l): items = arena.lists[l]
        default: throw malformed("\(what) must be a tuple of ints, got \(v.kindName)")
        }
        return try items.map {
            guard case .int(let x) = $0 else { throw malformed("\(what) holds a \($0.kindName), not an int") }
            return x
        }
    }

    private mutating func reduce(_ callable: PickleValue, _ argsValue: PickleValue, at offset: Int) throws -> PickleValue {
        guard case .global(let g) = callable else { throw malformed("REDUCE of a \(callable.kindName) (offset \(offset))") }
        let args = try tupleItems(argsValue, "arguments of \(g.qualifiedName)")
        switch g {
        case .orderedDict:
            guard args.isEmpty else { throw malformed("collections.OrderedDict with arguments is not supported (offset \(offset))") }
            return arena.newDict()
        case .rebuildTensorV2, .rebuildTensor:
            guard args.count >= 4, case .storage(let s) = args[0], case .int(let offsetInStorage) = args[1] else {
                throw malformed("\(g.qualifiedName) needs (storage, offset, size, stride, …) (offset \(offset))")
            }
            let shape = try integers(args[2], "tensor size"), strides = try integers(args[3], "tensor stride")
            return try makeTensor(storage: s, offset: offsetInStorage, shape: shape, strides: strides, at: offset)
        case .rebuildParameter, .rebuildParameterWithState:
            guard let first = args.first, case .tensor = first else {
                throw malformed("\(g.qualifiedName) needs a tensor as its first argument (offset \(offset))")
            }
            return first
        case .codecsEncode:
            guard let first = args.first, case .string(let s) = first else {
                throw malformed("_codecs.encode needs a string (offset \(offset))")
            }
            // latin-1: each code point below 256 is one byte.
            return .bytes(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case .torchSize:
            guard let first = args.first else { return arena.newTuple([]) }
            return arena.newTuple(try integers(first, "torch.Size").map { .int($0) })
        case .storageClass:
            throw malformed("calling \(g.qualifiedName) directly is not supported (offset \(offset))")
        }
    }

    private mutating func makeTensor(storage s: Int, offset: Int, shape: [Int], strides: [Int], at opAt: Int) throws -> PickleValue {
        let storage = arena.storages[s]
        guard shape.count == strides.count else {
            throw malformed("tensor size \(shape) and stride \(strides) differ in rank (offset \(opAt))")
        }
        guard shape.count <= 16, offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }),
              let count = CheckedMath.product(shape), CheckedMath.multiply(count, storage.dtype.size) != nil else {
            throw CheckpointError(path: path, problem: .absurdSize("tensor size \(shape), stride \(strides), offset \(offset)"))
        }
        let view = TensorView(storageKey: storage.key, dtype: storage.dtype, storageOffset: offset,
                              shape: shape, strides: strides)
        guard let extent = view.extent else {
            throw CheckpointError(path: path, problem: .absurdSize("tensor size \(shape) with stride \(strides) overflows"))
        }
        guard extent <= storage.elementCount else {
            throw CheckpointError(path: path, problem: .storageTooShort(
                tensor: "view of storage '\(storage.key)' (size \(shape), stride \(strides), offset \(offset))",
                neededBytes: extent * storage.dtype.size, availableBytes: storage.elementCount * storage.dtype.size))
        }
        // Zero or overlapping strides (expanded tensors) let a tiny storage describe a huge
        // tensor; cap the blow-up so a damaged file cannot demand gigabytes on load.
        guard count / 64 <= max(extent, 1), count <= 1 << 32 else {
            throw CheckpointError(path: path, problem: .absurdSize(
                "tensor size \(shape) with stride \(strides) repeats \(extent) stored elements into \(count)"))
        }
        arena.tensors.append(view)
        return .tensor(arena.tensors.count - 1)
    }

    private mutating func persistentLoad(_ pid: PickleValue, at opAt: Int) throws -> PickleValue {
        let items = try tupleItems(pid, "persistent id")
        guard items.count == 5, case .string("storage") = items[0], case .global(let g) = items[1],
              case .storageClass(let dtype, _) = g, case .string(let key) = items[2], case .int(let numel) = items[4] else {
            throw malformed("persistent id must be ('storage', torch.XStorage, key, location, numel) (offset \(opAt))")
        }
        guard numel >= 0, CheckedMath.multiply(numel, dtype.size) != nil else {
            throw CheckpointError(path: path, problem: .absurdSize("storage '\(key)' of \(numel) elements"))
        }
        if let existing = storageIndex[key] {
            let s = arena.storages[existing]
            guard s.dtype == dtype, s.elementCount == numel else {
                throw malformed("storage '\(key)' is declared twice with different types or sizes")
            }
            return .storage(existing)
        }
        arena.storages.append(StorageReference(key: key, dtype: dtype, elementCount: numel))
        storageIndex[key] = arena.storages.count - 1
        return .storage(arena.storages.count - 1)
    }

    /// The string keys and values of a dict object.
    func dictEntries(_ v: PickleValue) -> [(key: PickleValue, value: PickleValue)]? {
        guard case .dict(let d) = v else { return nil }
        return arena.dicts[d]
    }
}
