import COpenCL
import TensorRuntime

/// A device buffer of the OpenCL backend: one `cl_mem` of `elementCount` storage elements.
final class OpenCLBuffer: DeviceBuffer {
    let mem: cl_mem
    let elementCount: Int
    /// The backend that created it (buffers never cross contexts).
    let owner: ObjectIdentifier

    init(mem: cl_mem, elementCount: Int, owner: ObjectIdentifier) {
        self.mem = mem
        self.elementCount = elementCount
        self.owner = owner
    }

    // OpenCL keeps the memory alive until enqueued commands that use it have completed.
    deinit { clReleaseMemObject(mem) }
}
