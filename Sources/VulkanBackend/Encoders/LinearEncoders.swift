import Foundation
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

/// Tile shape of `matmul_coopmat_tiled.comp` and `conv2d_coopmat.comp`: a BM x BN block of C per
/// workgroup of WM x WN subgroups, each owning (BM / WM) x (BN / WN) as accumulator fragments.
struct CoopmatGemmTiling: Equatable {
    var bm: Int, bn: Int, wm: Int, wn: Int

    /// The tiled GEMM and conv kernels still fail parity on lavapipe's cooperative matrices
    /// (Mesa 26.2, 8x8x8; see docs/vulkan.md), so they run only with `MEDSAM_VULKAN_GEMM=tiled`
    /// (debugging); otherwise the first cooperative-matrix GEMM runs on 16x16x16 devices.
    static let enabled = ProcessInfo.processInfo.environment["MEDSAM_VULKAN_GEMM"] == "tiled"
    /// `MEDSAM_VULKAN_GEMM_TILE=BMxBN` (128x128, 128x256, 256x128, 64x128, 64x64) overrides the
    /// tile of large products, so one GPU run can compare tiles without a rebuild.
    static let override: CoopmatGemmTiling? = {
        guard let text = ProcessInfo.processInfo.environment["MEDSAM_VULKAN_GEMM_TILE"] else { return nil }
        return known[text]
    }()
    static let known: [String: CoopmatGemmTiling] = [
        "128x128": .init(bm: 128, bn: 128, wm: 4, wn: 2),
        "128x256": .init(bm: 128, bn: 256, wm: 2, wn: 4),
        "256x128": .init(bm: 256, bn: 128, wm: 4, wn: 2),
        "64x128": .init(bm: 64, bn: 128, wm: 2, wn: 4),
        "64x64": .init(bm: 64, bn: 64, wm: 2, wn: 2),
    ]

    /// 128 x 128 with 8 subgroups for large products; 64 x 64 with 4 when either side is small,
    /// so the decoder's thin products still spread over many workgroups; 64 x 64 also when the
    /// larger tile would not fit the device's invocations or shared memory.
    static func choose(m: Int, n: Int, subgroupSize: Int, fragment: CooperativeMatrixFragment,
                       maxInvocations: Int, sharedBytes: Int) -> CoopmatGemmTiling {
        func fitted(_ tile: CoopmatGemmTiling) -> CoopmatGemmTiling? {
            var t = tile
            // Wide subgroups (64 lanes) halve the subgroup count: keep the tile, halve WN or WM.
            while t.wm * t.wn * subgroupSize > 256 && t.wn > 1 { t.wn /= 2 }
            while t.wm * t.wn * subgroupSize > 256 && t.wm > 1 { t.wm /= 2 }
            let whole = t.bm % (fragment.m * t.wm) == 0 && t.bn % (fragment.n * t.wn) == 0
            return whole && t.wm * t.wn * subgroupSize <= maxInvocations
                && t.sharedBytes(subgroupSize: subgroupSize, fragment: fragment) <= sharedBytes ? t : nil
        }
        let large = m >= 128 && n >= 128 ? fitted(override ?? known["128x128"]!) : nil
        return large ?? fitted(known["64x64"]!) ?? CoopmatGemmTiling(bm: 64, bn: 64, wm: 1, wn: 1)
    }

    /// Shared memory of matmul_coopmat_tiled.comp with this tile: A and B slices 32 deep with
    /// rows padded by 8 halfs, and one float staging fragment per subgroup.
    func sharedBytes(subgroupSize: Int, fragment: CooperativeMatrixFragment) -> Int {
        let a = bm * 40 * 2, b = max(bn * 40, 32 * (bn + 8)) * 2
        return a + b + wm * wn * fragment.m * (fragment.n + 4) * 4
    }

    /// Specialization constants 0-9 of both kernels (conv2d_coopmat.comp has no id 6, B's order).
    func constants(subgroupSize: Int, bNMajor: Bool, fragment: CooperativeMatrixFragment) -> [UInt32] {
        [subgroupSize, wm * wn * subgroupSize, wm, wn, bm, bn, bNMajor ? 1 : 0,
         fragment.m, fragment.n, fragment.k].map(UInt32.init)
    }
}

extension VulkanBackend {
    /// The cooperative-matrix tile for an M x N product on this device.
    func coopmatTiling(m: Int, n: Int, fragment: CooperativeMatrixFragment) -> CoopmatGemmTiling {
        CoopmatGemmTiling.choose(m: m, n: n, subgroupSize: Int(device.caps.subgroupSize), fragment: fragment,
                                 maxInvocations: Int(device.caps.maxWorkGroupInvocations),
                                 sharedBytes: Int(device.caps.maxSharedMemory))
    }

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
        var kernelFlags = flags
        if useCooperativeMatrix && (CoopmatGemmTiling.enabled || device.caps.cooperativeMatrix16) {
            let sg = Int(device.caps.subgroupSize)
            if !CoopmatGemmTiling.enabled {
                if m >= 512 && n >= 512 && 8 * sg <= Int(device.caps.maxWorkGroupInvocations) {
                    module = "matmul_coopmat_large.f16.cm"; constants = [UInt32(sg), UInt32(8 * sg)]; bm = 128; bn = 128
                } else {
                    module = "matmul_coopmat.f16.cm"; constants = [UInt32(sg), UInt32(4 * sg)]; bm = 64; bn = 64
                }
            } else {
                let fragment = device.caps.cooperativeMatrixFragment!
                let tiling = coopmatTiling(m: m, n: n, fragment: fragment)
                let bNMajor = sBk == 1 && sBn != 1
                module = "matmul_coopmat_tiled.f16.cm"
                constants = tiling.constants(subgroupSize: sg, bNMajor: bNMajor, fragment: fragment)
                bm = tiling.bm; bn = tiling.bn
                // 16-byte loads and stores need 8-half multiples on the contiguous axis and
                // 16-byte-aligned bases (the allocator aligns tensors to 256 bytes; batch slices
                // shift them by whole matrices).
                let aligned = { (address: UInt64, count: Int) in address % 16 == 0 && count % 8 == 0 }
                let aBase = try address(a), bBase = try address(b), cBase = try address(c)
                let vectorA = sAk == 1 && k % 8 == 0 && sAm % 8 == 0 && aligned(aBase, m * k)
                let vectorB = bNMajor ? (k % 8 == 0 && sBn % 8 == 0 && aligned(bBase, batchB))
                                      : (sBn == 1 && n % 8 == 0 && sBk % 8 == 0 && aligned(bBase, batchB))
                if vectorA && vectorB { kernelFlags |= 0x300 }
                if n % 8 == 0 && aligned(cBase, m * n) { kernelFlags |= 0x400 }
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
            pc.u32s([m, n, k, sAm, sAk, sBk, sBn, m * k, batchB, m * n, kernelFlags])
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
        let cog = w.shape[0] / p.groups, n = x.shape[0] * y.shape[2] * y.shape[3]
        if useCooperativeMatrix && CoopmatGemmTiling.enabled, let fragment = device.caps.cooperativeMatrixFragment {
            // Implicit GEMM on the matrix units, tiled as the GEMM is.
            let tiling = coopmatTiling(m: cog, n: n, fragment: fragment)
            let gK = w.shape[1] * w.shape[2] * w.shape[3]
            let weightAddress = try address(w)
            let vectorA = gK % 8 == 0 && weightAddress % 16 == 0
            pc.u32(x.shape[0]); pc.u32s(geometry); pc.u32(p.groups); pc.u32(flags | (vectorA ? 0x100 : 0))
            try dispatch("conv2d_coopmat.f16.cm",
                         constants: tiling.constants(subgroupSize: Int(device.caps.subgroupSize), bNMajor: false, fragment: fragment),
                         push: pc, groups: ((n + tiling.bn - 1) / tiling.bn, (cog + tiling.bm - 1) / tiling.bm, p.groups))
            return
        }
        pc.u32(x.shape[0]); pc.u32s(geometry); pc.u32(p.groups); pc.u32(flags)
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
