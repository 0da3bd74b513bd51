/// A tensor that stays in a backend's memory between graph runs: an image embedding kept for
/// every decoder call, a graph output handed straight to the next graph.
///
/// A `DeviceTensor` owns its buffer (the buffer lives as long as any handle to it) and knows
/// the backend that holds it, so a graph can refuse a tensor of another backend instead of
/// reading foreign memory. Moving it to the host is always explicit (`download()`).
public final class DeviceTensor {
    /// The backend whose memory holds the tensor.
    public let backend: any Backend
    /// Where the elements are.
    public let ref: TensorRef

    public var shape: Shape { ref.shape }

    public init(backend: any Backend, ref: TensorRef) {
        self.backend = backend
        self.ref = ref
    }

    /// Allocates a tensor on `backend` and uploads `tensor` into it.
    public static func upload(_ tensor: Tensor, to backend: any Backend) throws -> DeviceTensor {
        DeviceTensor(backend: backend, ref: try backend.makeTensor(tensor))
    }

    /// Copies the tensor to the host (waits for pending work that writes it).
    public func download() throws -> Tensor {
        try backend.download(ref)
    }

    /// The same memory viewed with another shape of equal element count.
    public func reshaped(_ newShape: Shape) -> DeviceTensor {
        DeviceTensor(backend: backend, ref: ref.reshaped(newShape))
    }

    /// Item `index` along the first axis, copied on the device into a buffer of its own (so the
    /// rest of a batch can be released while this item is kept). The result has a leading 1.
    public func item(_ index: Int) throws -> DeviceTensor {
        let dims = shape.dims
        guard let n = dims.first, (0..<n).contains(index) else {
            throw BackendError.invalidArgument("item \(index) of a tensor of shape \(shape)")
        }
        let itemShape = Shape([1] + dims.dropFirst())
        let source = TensorRef(buffer: ref.buffer, offset: ref.offset + index * itemShape.count, shape: itemShape)
        let destination = TensorRef(buffer: try backend.allocate(elementCount: max(itemShape.count, 1)), shape: itemShape)
        try backend.copy(source, to: destination)
        return DeviceTensor(backend: backend, ref: destination)
    }
}
