import TensorRuntime

/// Tile shape of the scalar GEMM kernels (specialization constants of gemm_tile.glsl).
struct GemmTiling {
    var bm = 64, bn = 64, bk = 16, tm = 4, tn = 4
    var threads: Int { (bm / tm) * (bn / tn) }
    var constants: [UInt32] { [bm, bn, bk, tm, tn, threads].map(UInt32.init) }

    /// 64x64 tiles keep enough work per invocation on big problems; small ones (the decoder's
    /// token GEMMs) use 32x32 so more workgroups exist.
    static func choose(m: Int, n: Int) -> GemmTiling {
        if m * n <= 64 * 64 * 16 { return GemmTiling(bm: 32, bn: 32, bk: 16, tm: 2, tn: 2) }
        return GemmTiling()
    }
}

extension VulkanBackend {
    func encodeMatMul(_ p: MatMulParams, _ inputs: [TensorRef], _ c: TensorRef) throws {
        let a = inputs[0], b = inputs[1]
        let m = p.transposeA ? a.shape[-1] : a.shape[-2]
        let k = p.transposeA ? a.shape[-2] : a.shape[-1]
        let n = p.transposeB ? b.shape[-2] : b.shape[-1]
        let batch = a.shape.count / max(m * k, 1)
        guard m > 0, n > 0 else { return }
        let sAm = p.transposeA ? 1 : k, sAk = p.transposeA ? m : 1
        let sBk = p.transposeB ? 1 : n, sBn = p.transposeB ? k : 1
        let batchB = b.shape.rank == 2 ? 0 : k * n
        let flags = (p.hasBias ? 1 : 0) | activationCode(p.activation) << 1
        let biasAddress = p.hasBias ? try address(inputs[2]) : try address(c)
        let elem = UInt64(storageType.size)

        let module: String, constants: [UInt32], bm: Int, bn: Int
        if useCooperativeMatrix {
            let sg = UInt32(device.caps.subgroupSize)
            if m >= 512 && n >= 512 && 8 * Int(sg) <= Int(device.caps.maxWorkGroupInvocations) {
                // 128x128 tiles, 8 subgroups: twice the fragment reuse of the 64x64 kernel.
                module = "matmul_coopmat_large.f16.cm"; constants = [sg, 8 * sg]; bm = 128; bn = 128
            } else {
                module = "matmul_coopmat.f16.cm"; constants = [sg, 4 * sg]; bm = 64; bn = 64
            }
        } else {
            let t = GemmTiling.choose(m: m, n: n)
            module = kernel("matmul"); constants = t.constants; bm = t.bm; bn = t.bn
        }
        let gx = (n + bn - 1) / bn, gy = (m + bm - 1) / bm
        guard gx <= Int(device.caps.maxWorkGroupCount.0), gy <= Int(device.caps.maxWorkGroupCount.1) else {
            throw BackendError.unsupported(backend: "vulkan", op: "matmul", reason: "M \(m) x N \(n) needs more workgroups than the device allows")
        }
        try forEachBatchSlice(batch) { first, count in
            var pc = PushConstants()
            pc.address(try address(a) + UInt64(first * m * k) * elem)
            pc.address(try address(b) + UInt64(first * batchB) * elem)
            pc.address(biasAddress)
            pc.address(try address(c) + UInt64(first * m * n) * elem)
            pc.u32s([m, n, k, sAm, sAk, sBk, sBn, m * k, batchB, m * n, flags])
            try dispatch(module, constants: constants, push: pc, groups: (gx, gy, count))
        }
    }

    func encodeConv2D(_ p: Conv2DParams, _ inputs: [TensorRef], _ y: TensorRef) throws {
        let x = inputs[0], w = inputs[1]
        let flags = (p.hasBias ? 1 : 0) | activationCode(p.activation) << 1
        let biasAddress = p.hasBias ? try address(inputs[2]) : try address(y)
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(w)); pc.address(biasAddress); pc.address(try address(y))
        let geometry = [x.shape[1], x.shape[2], x.shape[3], w.shape[0], y.shape[2], y.shape[3], w.shape[2], w.shape[3],
                        p.strideY, p.strideX, p.padY, p.padX]
        if w.shape[1] == 1 && p.groups > 1 {
            // One input channel per group: direct depthwise kernel.
            pc.u32(y.shape.count); pc.u32s(geometry); pc.u32(flags)
            try dispatchLinear(kernel("conv_depthwise"), push: pc, count: y.shape.count)
            return
        }
        pc.u32(x.shape[0]); pc.u32s(geometry); pc.u32(p.groups); pc.u32(flags)
        let cog = w.shape[0] / p.groups, n = x.shape[0] * y.shape[2] * y.shape[3]
        let t = GemmTiling.choose(m: cog, n: n)
        try dispatch(kernel("conv2d"), constants: t.constants, push: pc,
                     groups: ((n + t.bn - 1) / t.bn, (cog + t.bm - 1) / t.bm, p.groups))
    }

    func encodeConvTranspose2x2(_ inputs: [TensorRef], _ y: TensorRef) throws {
        let x = inputs[0]
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(inputs[1])); pc.address(try address(inputs[2]))
        pc.address(try address(y))
        pc.u32(y.shape.count); pc.u32s([x.shape[1], y.shape[1], x.shape[2], x.shape[3]])
        try dispatchLinear(kernel("conv_transpose2x2"), push: pc, count: y.shape.count)
    }
}
