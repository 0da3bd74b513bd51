import COpenCL
import Foundation

/// A context with one in-order command queue on one device, and the programs built for it.
///
/// Owns every OpenCL handle it creates and releases them in `deinit`.
final class CLContext {
    let device: CLDevice
    let context: cl_context
    let queue: cl_command_queue
    let profiling: Bool
    private let cache: ProgramBinaryCache
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]

    init(device: CLDevice, cache: ProgramBinaryCache = ProgramBinaryCache()) throws {
        self.device = device
        self.cache = cache
        var status: cl_int = 0
        var dev: cl_device_id? = device.id
        guard let ctx = clCreateContext(nil, 1, &dev, nil, nil, &status) else {
            throw OpenCLError(call: "clCreateContext(\(device.name))", code: status)
        }
        try clCheck(status, "clCreateContext(\(device.name))")
        context = ctx
        // Profiling lets recordTimestamp use device clocks; fall back to a plain queue.
        var q = clCreateCommandQueue(ctx, device.id, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &status)
        var prof = true
        if q == nil || status != CL_SUCCESS {
            q = clCreateCommandQueue(ctx, device.id, 0, &status)
            prof = false
        }
        guard let queue = q, status == CL_SUCCESS else {
            clReleaseContext(ctx)
            throw OpenCLError(call: "clCreateCommandQueue(\(device.name))", code: status)
        }
        self.queue = queue
        profiling = prof
    }

    deinit {
        clFinish(queue)
        for k in kernels.values { clReleaseKernel(k) }
        for p in programs.values { clReleaseProgram(p) }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// The kernel `name` from the program built from `source` with `options` (built once).
    func kernel(program: String, source: String, options: String, name: String) throws -> cl_kernel {
        let programKey = program + "|" + options
        let kernelKey = programKey + "|" + name
        if let k = kernels[kernelKey] { return k }
        let prog: cl_program
        if let p = programs[programKey] {
            prog = p
        } else {
            prog = try build(program: program, source: source, options: options)
            programs[programKey] = prog
        }
        var status: cl_int = 0
        guard let k = clCreateKernel(prog, name, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateKernel(\(name) in \(program))", code: status)
        }
        kernels[kernelKey] = k
        return k
    }

    /// Builds a program, from the binary cache when possible, and stores fresh binaries there.
    func build(program: String, source: String, options: String) throws -> cl_program {
        let key = ProgramBinaryCache.key(source: source, options: options, device: device.name, driver: device.driverVersion)
        if let binary = cache.load(key), let p = try? fromBinary(binary, options: options) {
            return p
        }
        var status: cl_int = 0
        let prog: cl_program? = source.withCString { ptr in
            var p: UnsafePointer<CChar>? = ptr
            var length = strlen(ptr)
            return clCreateProgramWithSource(context, 1, &p, &length, &status)
        }
        guard let prog, status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateProgramWithSource(\(program))", code: status)
        }
        var dev: cl_device_id? = device.id
        let buildStatus = clBuildProgram(prog, 1, &dev, options, nil, nil)
        if buildStatus != CL_SUCCESS {
            let log = (try? buildLog(prog)) ?? "(no build log)"
            clReleaseProgram(prog)
            if buildStatus == CL_BUILD_PROGRAM_FAILURE || buildStatus == CL_INVALID_BUILD_OPTIONS {
                throw OpenCLBuildError(program: program, options: options, device: device.name, log: log)
            }
            throw OpenCLError(call: "clBuildProgram(\(program))", code: buildStatus)
        }
        if let binary = try? binaryOf(prog) { cache.store(key, binary) }
        return prog
    }

    private func fromBinary(_ binary: [UInt8], options: String) throws -> cl_program {
        var status: cl_int = 0
        var binaryStatus: cl_int = 0
        var dev: cl_device_id? = device.id
        var length = binary.count
        let prog: cl_program? = binary.withUnsafeBufferPointer { buf in
            var ptr: UnsafePointer<UInt8>? = buf.baseAddress
            return clCreateProgramWithBinary(context, 1, &dev, &length, &ptr, &binaryStatus, &status)
        }
        guard let prog, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let prog { clReleaseProgram(prog) }
            throw OpenCLError(call: "clCreateProgramWithBinary", code: status != CL_SUCCESS ? status : binaryStatus)
        }
        let s = clBuildProgram(prog, 1, &dev, options, nil, nil)
        if s != CL_SUCCESS {
            clReleaseProgram(prog)
            throw OpenCLError(call: "clBuildProgram(binary)", code: s)
        }
        return prog
    }

    private func buildLog(_ prog: cl_program) throws -> String {
        var size = 0
        try clCheck(clGetProgramBuildInfo(prog, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size),
                    "clGetProgramBuildInfo(CL_PROGRAM_BUILD_LOG)")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try clCheck(clGetProgramBuildInfo(prog, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil),
                    "clGetProgramBuildInfo(CL_PROGRAM_BUILD_LOG)")
        return String(cString: bytes)
    }

    private func binaryOf(_ prog: cl_program) throws -> [UInt8] {
        var size = 0
        try clCheck(clGetProgramInfo(prog, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
                    "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)")
        guard size > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: size)
        try bytes.withUnsafeMutableBufferPointer { buf in
            var ptr: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            try clCheck(clGetProgramInfo(prog, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &ptr, nil),
                        "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        }
        return bytes
    }
}
