import TensorRuntime

extension VulkanBackend {
    func encodeLayerNorm(axis: NormAxis, eps: Float, _ inputs: [TensorRef], _ y: TensorRef) throws {
        let x = inputs[0]
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(inputs[1])); pc.address(try address(inputs[2]))
        pc.address(try address(y))
        switch axis {
        case .last:
            let c = x.shape[-1]
            guard c > 0 else { return }
            let rows = x.shape.count / c
            if c <= 64 {
                // Short rows: one invocation per row and no barriers (a 256-wide workgroup per
                // row would idle, and barriers are costly on CPU drivers) — the channel kernel
                // with a pixel stride of 1.
                pc.u32(rows); pc.u32(c); pc.u32(1); pc.f32(eps)
                try dispatchLinear(kernel("layernorm_channels"), push: pc, count: rows)
                return
            }
            pc.u32(rows); pc.u32(c); pc.f32(eps)
            try dispatchLinear(kernel("layernorm_rows", reduction: true), push: pc, count: x.shape.count / c, perGroup: 1)
        case .channels:
            let c = x.shape[1], hw = x.shape[2] * x.shape[3]
            let pixels = x.shape[0] * hw
            pc.u32(pixels); pc.u32(c); pc.u32(hw); pc.f32(eps)
            try dispatchLinear(kernel("layernorm_channels"), push: pc, count: pixels)
        }
    }

    func encodeSoftmax(_ x: TensorRef, _ y: TensorRef) throws {
        let c = x.shape[-1]
        guard c > 0 else { return }
        var pc = PushConstants()
        pc.address(try address(x)); pc.address(try address(y))
        pc.u32(x.shape.count / c); pc.u32(c)
        try dispatchLinear(kernel("softmax", reduction: true), push: pc, count: x.shape.count / c, perGroup: 1)
    }
}
