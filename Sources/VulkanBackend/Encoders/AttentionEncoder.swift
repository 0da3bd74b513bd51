import Foundation
import TensorRuntime

/// Specialization of attention.comp: exact head dim, queries per workgroup, keys per tile.
struct AttentionTiling {
    static let maxHeadDim = 256
    static let queriesPerGroup = 64

    /// K and V tiles of BKV x headDim floats each must fit the device's shared memory
    /// (32 KiB used at most, so a tile is never larger than on lavapipe).
    static func constants(headDim: Int, sharedMemoryBytes: Int) -> [UInt32] {
        let floatsPerTile = min(32_768, sharedMemoryBytes) / 8
        let keys = max(1, min(32, floatsPerTile / headDim))
        return [UInt32(headDim), UInt32(queriesPerGroup), UInt32(keys)]
    }
}

extension VulkanBackend {
    /// Keys per tile of `attention_coopmat.comp` when it can run this head dim, else nil (the
    /// scalar flash kernel runs). It needs the cooperative-matrix path, a subgroup that is a
    /// power-of-two multiple of the fragment's rows (lanes per query row), a head dim that is a
    /// multiple of the fragment and its shared memory to fit.
    /// `MEDSAM_VULKAN_ATTENTION=scalar` forces the scalar kernel; `MEDSAM_VULKAN_ATTENTION_KEYS=64`
    /// doubles the key tile (comparison runs).
    func coopmatAttentionKeys(headDim hd: Int) -> Int? {
        let environment = ProcessInfo.processInfo.environment
        let sg = Int(device.caps.subgroupSize)
        guard useCooperativeMatrix, let f = device.caps.cooperativeMatrixFragment,
              sg % f.m == 0, (sg / f.m) & (sg / f.m - 1) == 0,
              hd % f.k == 0, hd % f.n == 0, hd % (sg / f.m) == 0, hd <= 256,
              environment["MEDSAM_VULKAN_ATTENTION"] != "scalar" else { return nil }
        let keys = environment["MEDSAM_VULKAN_ATTENTION_KEYS"] == "64" ? 64 : 32
        guard keys % f.n == 0, keys % f.k == 0, keys % (sg / f.m) == 0 else { return nil }
        // Q (4 fragments of rows) + K + V tiles of hd + 8 halfs, S (floats) and P (halfs) per subgroup.
        let rows = 4 * f.m
        let bytes = rows * (hd + 8) * 2 + 2 * keys * (hd + 8) * 2 + rows * (max(keys, f.n) + 4) * 4 + rows * (keys + 8) * 2
        return bytes <= Int(device.caps.maxSharedMemory) ? keys : nil
    }

    func encodeAttention(_ p: AttentionParams, _ inputs: [TensorRef], _ out: TensorRef) throws {
        let hd = p.headDim, d = p.heads * hd
        let batch = inputs[0].shape[0], nq = inputs[0].shape[1]
        let q: TensorRef, k: TensorRef, v: TensorRef
        let nk: Int, row: Int, offsets: (Int, Int, Int), headStep: Int, biasStart: Int
        switch p.layout {
        case .separate:
            (q, k, v) = (inputs[0], inputs[1], inputs[2])
            nk = k.shape[1]; row = d; offsets = (0, 0, 0); headStep = hd; biasStart = 3
        case .packedSAM:
            (q, k, v) = (inputs[0], inputs[0], inputs[0])
            nk = nq; row = 3 * d; offsets = (0, d, 2 * d); headStep = hd; biasStart = 1
        case .packedTinyViT:
            (q, k, v) = (inputs[0], inputs[0], inputs[0])
            nk = nq; row = 3 * d; offsets = (0, hd, 2 * hd); headStep = 3 * hd; biasStart = 1
        }
        guard nk > 0 else {
            throw BackendError.invalidArgument("vulkan attention: zero keys make the softmax undefined")
        }
        var biasMode = 0, gh = 1, gw = 1
        var biasAddress = try address(out)
        switch p.bias {
        case .none: break
        case .relativePosition(let h, let w):
            biasMode = 1; gh = h; gw = w
            // Per-query decomposed terms first (unscaled q), then the attention adds two of them per key.
            let terms = batch * p.heads * nq * (h + w)
            let buffer = try scratchBuffer(elements: terms)
            var pc = PushConstants()
            pc.address(try address(q)); pc.address(try address(inputs[biasStart]))
            pc.address(try address(inputs[biasStart + 1])); pc.address(buffer.address)
            pc.u32s([terms, nq, p.heads, hd, row, offsets.0, headStep, h, w])
            try dispatchLinear(kernel("relpos"), push: pc, count: terms)
            biasAddress = buffer.address
        case .biasTable(let ws):
            biasMode = 2; gh = ws; gw = ws
            biasAddress = try address(inputs[biasStart])
        }
        let elem = UInt64(storageType.size)
        let bases = [try address(q), try address(k), try address(v)]
        // The kernel, its constants, queries per workgroup and (cooperative-matrix kernel only)
        // whether 16-byte loads are allowed; the parameters before that flag are the same.
        let module: String, constants: [UInt32], queriesPerGroup: Int, vectorFlag: Int?
        if let keysPerTile = coopmatAttentionKeys(headDim: hd) {
            let sg = UInt32(device.caps.subgroupSize), f = device.caps.cooperativeMatrixFragment!
            let vector = hd % 8 == 0 && row % 8 == 0 && headStep % 8 == 0
                && [offsets.0, offsets.1, offsets.2].allSatisfy { $0 % 8 == 0 } && bases.allSatisfy { $0 % 16 == 0 }
            module = "attention_coopmat.f16.cm"
            constants = [sg, 4 * sg, UInt32(hd), UInt32(keysPerTile), UInt32(f.m), UInt32(f.n), UInt32(f.k)]
            queriesPerGroup = 4 * f.m
            vectorFlag = vector ? 1 : 0
        } else {
            module = kernel("attention")
            constants = AttentionTiling.constants(headDim: hd, sharedMemoryBytes: Int(device.caps.maxSharedMemory))
            queriesPerGroup = AttentionTiling.queriesPerGroup
            vectorFlag = nil
        }
        try forEachBatchSlice(batch) { first, count in
            var pc = PushConstants()
            pc.address(bases[0] + UInt64(first * nq * row) * elem)
            pc.address(bases[1] + UInt64(first * nk * row) * elem)
            pc.address(bases[2] + UInt64(first * nk * row) * elem)
            pc.address(biasMode == 1 ? biasAddress + UInt64(first * p.heads * nq * (gh + gw)) * elem : biasAddress)
            pc.address(try address(out) + UInt64(first * nq * d) * elem)
            pc.u32s([nq, nk, p.heads, row, row, row, offsets.0, offsets.1, offsets.2, headStep, biasMode, gh, gw])
            pc.f32(p.scale)
            if let vectorFlag { pc.u32(vectorFlag) }
            try dispatch(module, constants: constants, push: pc,
                         groups: ((nq + queriesPerGroup - 1) / queriesPerGroup, p.heads, count))
        }
    }
}
