import COpenCL
import Foundation
import TensorRuntime

/// The OpenCL backend: every op of the op set as an OpenCL C kernel on one device.
///
/// Work is enqueued on one in-order queue; `encode` never waits, so a whole graph runs
/// without host round trips and `synchronize` is `clFinish`. Kernels are compiled on first
/// use from sources embedded in the binary (`OpenCLKernelSources`) and the binaries cached
/// on disk (`ProgramBinaryCache`). With `float16: true`, tensors are stored as half and
/// every kernel computes in float32 (norms, softmax and reductions accumulate in float32).
public final class OpenCLBackend: Backend {
    public let info: DeviceInfo
    let cl: CLContext
    let storage: DType
    let gemmTiles: GemmTiles
    /// Float32 scratch (relative-position terms), grown on demand. A released buffer stays
    /// alive inside OpenCL until the enqueued kernels that use it finish.
    private var scratch: OpenCLBuffer?
    private var timestampEvents: [cl_event] = []

    /// Every OpenCL device of every platform, with its limits (for `medsam devices`).
    /// Throws `BackendError.noDevice` when no platform or device exists.
    public static func devices() throws -> [DeviceInfo] {
        try discover().enumerated().map { $0.element.info(index: $0.offset, float16: false) }
    }

    /// Opens device `deviceIndex` of `devices()`. `float16` selects half storage.
    public init(deviceIndex: Int = 0, float16: Bool = false) throws {
        let all = try OpenCLBackend.discover()
        guard all.indices.contains(deviceIndex) else {
            throw BackendError.invalidArgument(
                "OpenCL device index \(deviceIndex) out of range: \(all.count) device(s) found (\(all.map(\.name).joined(separator: ", ")))")
        }
        let device = all[deviceIndex]
        cl = try CLContext(device: device)
        storage = float16 ? .float16 : .float32
        gemmTiles = GemmTiles.choose(for: device)
        info = device.info(index: deviceIndex, float16: float16)
    }

    private static func discover() throws -> [CLDevice] {
        do {
            return try CLDevice.all()
        } catch let reason as BackendErrorReason {
            throw BackendError.noDevice(backend: "opencl", reason: reason.text)
        }
    }

    deinit {
        for e in timestampEvents { clReleaseEvent(e) }
    }

    // MARK: Memory

    public func allocate(elementCount: Int) throws -> any DeviceBuffer {
        guard elementCount < Int(Int32.max) else {
            throw BackendError.invalidArgument("opencl: \(elementCount) elements exceed the 2^31 indexing limit of the kernels")
        }
        let bytes = max(elementCount, 1) * storage.size
        var status: cl_int = 0
        guard let mem = clCreateBuffer(cl.context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
              status == CL_SUCCESS else {
            if status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES
                || status == CL_OUT_OF_HOST_MEMORY || status == CL_INVALID_BUFFER_SIZE {
                throw BackendError.outOfMemory(backend: "opencl", bytes: bytes)
            }
            throw OpenCLError(call: "clCreateBuffer(\(bytes) bytes)", code: status)
        }
        return OpenCLBuffer(mem: mem, elementCount: elementCount, owner: ObjectIdentifier(self))
    }

    public func upload(_ data: [Float], to ref: TensorRef) throws {
        guard data.count == ref.shape.count else {
            throw BackendError.invalidArgument("opencl upload: \(data.count) values for a tensor of shape \(ref.shape)")
        }
        let buffer = try own(ref.buffer)
        if data.isEmpty { return }
        let offset = ref.offset * storage.size
        let status: cl_int
        switch storage {
        case .float32:
            status = data.withUnsafeBytes {
                clEnqueueWriteBuffer(cl.queue, buffer.mem, cl_bool(CL_TRUE), offset, $0.count, $0.baseAddress, 0, nil, nil)
            }
        case .float16:
            let halves = data.map { Float16($0) }
            status = halves.withUnsafeBytes {
                clEnqueueWriteBuffer(cl.queue, buffer.mem, cl_bool(CL_TRUE), offset, $0.count, $0.baseAddress, 0, nil, nil)
            }
        }
        try clCheck(status, "clEnqueueWriteBuffer(\(data.count) elements)")
    }

    public func download(_ ref: TensorRef) throws -> Tensor {
        let buffer = try own(ref.buffer)
        let n = ref.shape.count
        if n == 0 { return Tensor(shape: ref.shape, data: []) }
        let offset = ref.offset * storage.size
        switch storage {
        case .float32:
            var out = [Float](repeating: 0, count: n)
            let status = out.withUnsafeMutableBytes {
                clEnqueueReadBuffer(cl.queue, buffer.mem, cl_bool(CL_TRUE), offset, $0.count, $0.baseAddress, 0, nil, nil)
            }
            try clCheck(status, "clEnqueueReadBuffer(\(n) elements)")
            return Tensor(shape: ref.shape, data: out)
        case .float16:
            var halves = [Float16](repeating: 0, count: n)
            let status = halves.withUnsafeMutableBytes {
                clEnqueueReadBuffer(cl.queue, buffer.mem, cl_bool(CL_TRUE), offset, $0.count, $0.baseAddress, 0, nil, nil)
            }
            try clCheck(status, "clEnqueueReadBuffer(\(n) elements)")
            return Tensor(shape: ref.shape, data: halves.map { Float($0) })
        }
    }

    public func synchronize() throws {
        try clCheck(clFinish(cl.queue), "clFinish")
    }

    // MARK: Timestamps

    public func recordTimestamp() throws -> Int? {
        guard cl.profiling else { return nil }
        var event: cl_event?
        try clCheck(clEnqueueMarkerWithWaitList(cl.queue, 0, nil, &event), "clEnqueueMarkerWithWaitList")
        guard let event else { return nil }
        timestampEvents.append(event)
        return timestampEvents.count - 1
    }

    public func resolveTimestamps() throws -> [Double] {
        defer {
            for e in timestampEvents { clReleaseEvent(e) }
            timestampEvents.removeAll()
        }
        var times: [Double] = []
        for e in timestampEvents {
            var t: cl_ulong = 0
            try clCheck(clGetEventProfilingInfo(e, cl_profiling_info(CL_PROFILING_COMMAND_END), MemoryLayout<cl_ulong>.size, &t, nil),
                        "clGetEventProfilingInfo(CL_PROFILING_COMMAND_END)")
            times.append(Double(t) / 1e9)
        }
        guard let first = times.first else { return [] }
        return times.map { $0 - first }
    }

    // MARK: Helpers for the op encoders

    func own(_ buffer: any DeviceBuffer) throws -> OpenCLBuffer {
        guard let b = buffer as? OpenCLBuffer, b.owner == ObjectIdentifier(self) else {
            throw BackendError.invalidArgument("opencl backend was handed a buffer of another backend or instance")
        }
        return b
    }

    func mem(_ ref: TensorRef) throws -> cl_mem { try own(ref.buffer).mem }

    /// A float32 scratch buffer of at least `count` elements (contents undefined).
    func scratchBuffer(floats count: Int) throws -> cl_mem {
        if let s = scratch, s.elementCount >= count { return s.mem }
        var status: cl_int = 0
        let bytes = max(count, 1) * 4
        guard let mem = clCreateBuffer(cl.context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
              status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateBuffer(scratch, \(bytes) bytes)", code: status)
        }
        scratch = OpenCLBuffer(mem: mem, elementCount: count, owner: ObjectIdentifier(self))
        return mem
    }

    /// Build options shared by every program of this backend instance.
    var baseOptions: [String] { storage == .float16 ? ["-DHALF_STORAGE=1"] : [] }

    /// The kernel `name` of program `files` (concatenated after `common`) built with `defines`.
    func kernel(_ files: [String], _ name: String, defines: [String: Int] = [:]) throws -> cl_kernel {
        var source = try kernelSource("common")
        for f in files { source += "\n" + (try kernelSource(f)) }
        let options = (baseOptions + defines.sorted { $0.key < $1.key }.map { "-D\($0.key)=\($0.value)" })
            .joined(separator: " ")
        return try cl.kernel(program: files.joined(separator: "+"), source: source, options: options, name: name)
    }

    private func kernelSource(_ file: String) throws -> String {
        guard let s = OpenCLKernelSources.files[file] else {
            throw BackendError.invalidArgument("opencl: no embedded kernel source '\(file)'")
        }
        return s
    }
}
