import COpenCL

/// One argument of a kernel launch.
enum KernelArg {
    case buffer(cl_mem)
    case int(Int)
    case float(Float)
    /// An OpenCL `int8` vector (shape or stride lists); at most 8 values, padded with zeros.
    case int8([Int])
    /// An OpenCL `int16` vector; at most 16 values, padded with zeros.
    case int16([Int])
}

extension CLContext {
    /// Sets the arguments of `kernel` and enqueues it on the queue (no waiting).
    ///
    /// `global` is rounded up to a multiple of `local`; kernels bound-check their indices.
    func launch(_ kernel: cl_kernel, name: String, global: [Int], local: [Int]?, _ args: [KernelArg]) throws {
        for (i, arg) in args.enumerated() {
            let index = cl_uint(i)
            let status: cl_int
            switch arg {
            case .buffer(let mem):
                var m: cl_mem? = mem
                status = clSetKernelArg(kernel, index, MemoryLayout<cl_mem?>.size, &m)
            case .int(let v):
                precondition(v >= Int(Int32.min) && v <= Int(Int32.max), "\(name): argument \(i) = \(v) overflows int")
                var x = Int32(v)
                status = clSetKernelArg(kernel, index, 4, &x)
            case .float(let v):
                var x = v
                status = clSetKernelArg(kernel, index, 4, &x)
            case .int8(let vs), .int16(let vs):
                let n: Int
                if case .int8 = arg { n = 8 } else { n = 16 }
                precondition(vs.count <= n, "\(name): argument \(i) has \(vs.count) > \(n) values")
                var x = [Int32](repeating: 0, count: n)
                for (j, v) in vs.enumerated() { x[j] = Int32(v) }
                status = clSetKernelArg(kernel, index, 4 * n, &x)
            }
            try clCheck(status, "clSetKernelArg(\(name), \(i))")
        }
        var g = global
        if let local {
            for d in 0..<g.count { g[d] = (g[d] + local[d] - 1) / local[d] * local[d] }
        }
        if g.contains(0) { return }
        var l = local ?? []
        let status = g.withUnsafeMutableBufferPointer { gp in
            l.withUnsafeMutableBufferPointer { lp in
                clEnqueueNDRangeKernel(queue, kernel, cl_uint(gp.count), nil, gp.baseAddress,
                                       local == nil ? nil : lp.baseAddress, 0, nil, nil)
            }
        }
        try clCheck(status, "clEnqueueNDRangeKernel(\(name), global \(g), local \(local ?? []))")
    }
}
