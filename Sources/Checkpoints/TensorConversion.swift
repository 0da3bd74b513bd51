/// Gathers a (possibly strided) tensor view out of its storage bytes into a new row-major
/// float32 array, converting each element. The caller has checked the view lies inside `storage`.
enum TensorConversion {
    /// A contiguous float32 tensor read straight from the file into its array, without going
    /// through the map (see `MappedFile.read(into:count:at:)`).
    static func float32(reading file: MappedFile, at offset: Int, count: Int) throws -> [Float] {
        if count == 0 { return [] }
        return try [Float](unsafeUninitializedCapacity: count) { out, initialized in
            try file.read(into: UnsafeMutableRawPointer(out.baseAddress!), count: count * 4, at: offset)
            initialized = count
        }
    }

    static func float32(from storage: UnsafeRawBufferPointer, view: TensorView) -> [Float] {
        let count = view.shape.reduce(1, *)
        if count == 0 { return [] }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            let dst = out.baseAddress!
            if view.isContiguous {
                convert(storage, from: view.storageOffset, stride: 1, count: count, dtype: view.dtype, into: dst)
            } else {
                // Walk every index but the last; each last-axis row is one strided run.
                let rank = view.shape.count
                let rowLength = view.shape[rank - 1]
                let rowStride = view.strides[rank - 1]
                var index = [Int](repeating: 0, count: rank - 1)
                var written = 0
                while written < count {
                    var start = view.storageOffset
                    for axis in 0..<(rank - 1) { start += index[axis] * view.strides[axis] }
                    convert(storage, from: start, stride: rowStride, count: rowLength, dtype: view.dtype,
                            into: dst + written)
                    written += rowLength
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        if index[axis] < view.shape[axis] { break }
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
            initialized = count
        }
    }

    /// Converts `count` elements starting at element `first`, `stride` elements apart.
    private static func convert(_ src: UnsafeRawBufferPointer, from first: Int, stride: Int, count: Int,
                                dtype: StorageDType, into dst: UnsafeMutablePointer<Float>) {
        let size = dtype.size
        let base = src.baseAddress! + first * size
        let step = stride * size
        switch dtype {
        case .float32:
            if stride == 1 {
                UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: count * 4)
            } else {
                for i in 0..<count { dst[i] = base.loadUnaligned(fromByteOffset: i * step, as: Float.self) }
            }
        case .float16:
            for i in 0..<count {
                dst[i] = Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: i * step, as: UInt16.self)))
            }
        case .bfloat16:
            for i in 0..<count {
                let bits = UInt32(base.loadUnaligned(fromByteOffset: i * step, as: UInt16.self)) << 16
                dst[i] = Float(bitPattern: bits)
            }
        case .float64:
            for i in 0..<count { dst[i] = Float(base.loadUnaligned(fromByteOffset: i * step, as: Double.self)) }
        case .int64:
            for i in 0..<count { dst[i] = Float(base.loadUnaligned(fromByteOffset: i * step, as: Int64.self)) }
        case .int32:
            for i in 0..<count { dst[i] = Float(base.loadUnaligned(fromByteOffset: i * step, as: Int32.self)) }
        case .int16:
            for i in 0..<count { dst[i] = Float(base.loadUnaligned(fromByteOffset: i * step, as: Int16.self)) }
        case .int8:
            for i in 0..<count { dst[i] = Float(base.loadUnaligned(fromByteOffset: i * step, as: Int8.self)) }
        case .uint8:
            for i in 0..<count { dst[i] = Float(base.load(fromByteOffset: i * step, as: UInt8.self)) }
        case .bool:
            for i in 0..<count { dst[i] = base.load(fromByteOffset: i * step, as: UInt8.self) != 0 ? 1 : 0 }
        }
    }
}
