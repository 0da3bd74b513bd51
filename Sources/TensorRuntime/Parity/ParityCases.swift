/// The standard parity suites: every op of the set, with odd sizes (1, 7, 13, 197,
/// non-multiples of any tile) in `quick`, and SAM's real layer shapes added in `full`.
extension ParityCase {
    public static func standard(_ size: ParitySuiteSize) -> [ParityCase] {
        size == .quick ? quickCases : quickCases + fullCases
    }

    static let quickCases: [ParityCase] = {
        var c: [ParityCase] = []
        // GEMM: edges, transposes, broadcast B, every epilogue.
        c.append(.init("7x13 * 13x197", .matmul(.init()), [[7, 13], [13, 197]]))
        c.append(.init("1x1 * 1x1", .matmul(.init()), [[1, 1], [1, 1]]))
        c.append(.init("linear 197x64 -> 33 +b gelu", .matmul(.init(transposeB: true, hasBias: true, activation: .gelu)),
                       [[197, 64], [33, 64], [33]]))
        c.append(.init("batched A^T 3x(13x7) * 13x9", .matmul(.init(transposeA: true)), [[3, 13, 7], [3, 13, 9]]))
        c.append(.init("bcast B 2x5x17 * 17x9 relu", .matmul(.init(hasBias: true, activation: .relu)), [[2, 5, 17], [17, 9], [9]]))
        c.append(.init("A^T B^T sigmoid", .matmul(.init(transposeA: true, transposeB: true, activation: .sigmoid)), [[2, 31, 67], [2, 65, 31]]))
        c.append(.init("4096 tokens x 8 -> 13", .matmul(.init(transposeB: true)), [[4096, 8], [13, 8]]))
        // Shapes that take the tiled cooperative-matrix kernel's 16-byte load path (K and N
        // multiples of 8) with edges everywhere: M, N not multiples of 16 or of the 128 tile,
        // K not a multiple of the 32-deep slice, batches, B in both major orders.
        c.append(.init("linear 300x136 -> 200 +b gelu", .matmul(.init(transposeB: true, hasBias: true, activation: .gelu)),
                       [[300, 136], [200, 136], [200]]))
        c.append(.init("batched 2x(150x72) * 72x136 +b", .matmul(.init(hasBias: true)), [[2, 150, 72], [72, 136], [136]]))
        // Convolution.
        c.append(.init("3x3 p1 5->7 13x13 +b", .conv2d(.init(padding: 1, hasBias: true)), [[1, 5, 13, 13], [7, 5, 3, 3], [7]]))
        c.append(.init("3x3 s2 p1 4->6 9x7 gelu", .conv2d(.init(stride: 2, padding: 1, hasBias: true, activation: .gelu)),
                       [[2, 4, 9, 7], [6, 4, 3, 3], [6]]))
        c.append(.init("dw 3x3 s2 p1 c8 13x13", .conv2d(.init(stride: 2, padding: 1, groups: 8, hasBias: true)),
                       [[1, 8, 13, 13], [8, 1, 3, 3], [8]]))
        c.append(.init("dw 3x3 p1 c13 7x7", .conv2d(.init(padding: 1, groups: 13)), [[1, 13, 7, 7], [13, 1, 3, 3]]))
        c.append(.init("1x1 16->13 7x7 relu", .conv2d(.init(hasBias: true, activation: .relu)), [[1, 16, 7, 7], [13, 16, 1, 1], [13]]))
        c.append(.init("patch 16/16 3->8 32x48", .conv2d(.init(stride: 16, hasBias: true)), [[1, 3, 32, 48], [8, 3, 16, 16], [8]]))
        c.append(.init("2x2 s2 1->4 16x16 (mask in)", .conv2d(.init(stride: 2, hasBias: true)), [[2, 1, 16, 16], [4, 1, 2, 2], [4]]))
        c.append(.init("grouped 3x3 g2 4->6", .conv2d(.init(padding: 1, groups: 2)), [[1, 4, 5, 6], [6, 2, 3, 3]]))
        c.append(.init("convT 8->4 7x5", .convTranspose2x2, [[1, 8, 7, 5], [8, 4, 2, 2], [4]]))
        c.append(.init("convT 13->1 1x1", .convTranspose2x2, [[2, 13, 1, 1], [13, 1, 2, 2], [1]]))
        // Normalisation and softmax.
        c.append(.init("ln 197x33 eps1e-6", .layerNorm(axis: .last, eps: 1e-6), [[197, 33], [33], [33]]))
        c.append(.init("ln 1x1 eps1e-5", .layerNorm(axis: .last, eps: 1e-5), [[1, 1], [1], [1]]))
        c.append(.init("ln2d 2x13x7x5", .layerNorm(axis: .channels, eps: 1e-6), [[2, 13, 7, 5], [13], [13]]))
        c.append(.init("softmax 13x197", .softmax, [[13, 197]]))
        c.append(.init("softmax 1x1", .softmax, [[1, 1]]))
        c.append(.init("softmax 3x4096", .softmax, [[3, 4096]]))
        // Attention: every layout and bias.
        c.append(.init("separate 3h hd8 7q 13k", .attention(.init(heads: 3, headDim: 8, layout: .separate)),
                       [[2, 7, 24], [2, 13, 24], [2, 13, 24]]))
        c.append(.init("separate 1 key", .attention(.init(heads: 2, headDim: 16, layout: .separate)),
                       [[1, 5, 32], [1, 1, 32], [1, 1, 32]]))
        c.append(.init("separate 197q 7k", .attention(.init(heads: 8, headDim: 4, layout: .separate)),
                       [[1, 197, 32], [1, 7, 32], [1, 7, 32]]))
        c.append(.init("packedSAM relpos 5x7 2h hd8", .attention(.init(heads: 2, headDim: 8, layout: .packedSAM,
                                                                      bias: .relativePosition(height: 5, width: 7))),
                       [[2, 35, 48], [9, 8], [13, 8]]))
        c.append(.init("packedSAM relpos 13x13 hd13", .attention(.init(heads: 1, headDim: 13, layout: .packedSAM,
                                                                      bias: .relativePosition(height: 13, width: 13))),
                       [[1, 169, 39], [25, 13], [25, 13]]))
        // Head dims that are multiples of 16 take the cooperative-matrix flash kernel on GPUs that
        // have it: key tiles with an edge, several query blocks, both bias kinds.
        c.append(.init("packedSAM relpos 9x11 2h hd16", .attention(.init(heads: 2, headDim: 16, layout: .packedSAM,
                                                                        bias: .relativePosition(height: 9, width: 11))),
                       [[2, 99, 96], [17, 16], [21, 16]]))
        c.append(.init("packedSAM relpos 6x7 1h hd80", .attention(.init(heads: 1, headDim: 80, layout: .packedSAM,
                                                                       bias: .relativePosition(height: 6, width: 7))),
                       [[1, 42, 240], [11, 80], [13, 80]]))
        c.append(.init("separate 70q 45k 2h hd32", .attention(.init(heads: 2, headDim: 32, layout: .separate)),
                       [[1, 70, 64], [1, 45, 64], [1, 45, 64]]))
        c.append(.init("tinyvit table ws5 2h hd16", .attention(.init(heads: 2, headDim: 16, layout: .packedTinyViT,
                                                                   bias: .biasTable(window: 5))),
                       [[3, 25, 96], [2, 25]]))
        c.append(.init("packedSAM no bias 197", .attention(.init(heads: 3, headDim: 7, layout: .packedSAM)), [[1, 197, 63]]))
        c.append(.init("tinyvit table ws7 2h hd8", .attention(.init(heads: 2, headDim: 8, layout: .packedTinyViT,
                                                                   bias: .biasTable(window: 7))),
                       [[3, 49, 48], [2, 49]]))
        c.append(.init("tinyvit table ws1", .attention(.init(heads: 3, headDim: 4, layout: .packedTinyViT,
                                                            bias: .biasTable(window: 1))),
                       [[2, 1, 36], [3, 1]]))
        // Elementwise.
        for a in Activation.allCases {
            c.append(.init("\(a.rawValue) 197x13", .unary(a), [[197, 13]]))
        }
        c.append(.init("add same 7x13", .binary(.add), [[7, 13], [7, 13]]))
        c.append(.init("add bcast 2x1x13 + 7x1", .binary(.add), [[2, 1, 13], [7, 1]]))
        c.append(.init("mul bcast 1x5x1x7 * 5x3x1", .binary(.mul), [[1, 5, 1, 7], [5, 3, 1]]))
        c.append(.init("add scalar", .binary(.add), [[13, 7], [1]]))
        c.append(.init("greater same 7x13", .binary(.greater), [[7, 13], [7, 13]]))
        c.append(.init("greater scalar 3x37x41", .binary(.greater), [[3, 37, 41], [1]]))
        c.append(.init("fourier 2x7 G2x16", .fourierFeatures, [[2, 7, 2], [2, 16]]))
        // Data movement.
        c.append(.init("permute 2x3x5x7 (0,2,3,1)", .permute([0, 2, 3, 1]), [[2, 3, 5, 7]]))
        c.append(.init("transpose 7x13", .permute([1, 0]), [[7, 13]]))
        c.append(.init("permute rank6", .permute([0, 1, 3, 2, 4, 5]), [[1, 2, 3, 4, 5, 2]]))
        c.append(.init("broadcast 1x5x1 -> 2x5x7", .broadcast([2, 5, 7]), [[1, 5, 1]]))
        c.append(.init("reshape 6x35 -> 210", .reshape([210]), [[6, 35]]))
        c.append(.init("partition 13x13 ws7 (pad)", .windowPartition(window: 7), [[1, 13, 13, 5]]))
        c.append(.init("partition 14x14 ws7", .windowPartition(window: 7), [[2, 14, 14, 3]]))
        c.append(.init("unpartition ws7 -> 13x13", .windowUnpartition(window: 7, height: 13, width: 13), [[4, 49, 5]]))
        c.append(.init("unpartition ws7 -> 7x15", .windowUnpartition(window: 7, height: 7, width: 15), [[6, 49, 2]]))
        c.append(.init("pad 3x5x7", .pad(before: [0, 0, 1, 0], after: [0, 0, 2, 3]), [[1, 3, 5, 7]]))
        c.append(.init("slice 4x13x7", .slice(start: [1, 2, 0], size: [2, 7, 7]), [[4, 13, 7]]))
        c.append(.init("concat axis1 x3", .concat(axis: 1), [[2, 5, 7], [2, 1, 7], [2, 13, 7]]))
        c.append(.init("concat axis0", .concat(axis: 0), [[1, 7], [3, 7]]))
        // Resize.
        c.append(.init("bilinear up 13x7 -> 29x17", .resizeBilinear(height: 29, width: 17, antialias: false), [[1, 2, 13, 7]]))
        c.append(.init("bilinear down 64x48 -> 13x10", .resizeBilinear(height: 13, width: 10, antialias: false), [[1, 3, 64, 48]]))
        c.append(.init("bilinear aa down 64x48 -> 13x10", .resizeBilinear(height: 13, width: 10, antialias: true), [[1, 3, 64, 48]]))
        c.append(.init("bilinear aa up 7x5 -> 16x11", .resizeBilinear(height: 16, width: 11, antialias: true), [[2, 7, 5]]))
        return c
    }()

    static let fullCases: [ParityCase] = {
        var c: [ParityCase] = []
        // ViT-B image encoder (64x64 tokens, D 768) and ViT-H (D 1280, head dim 80).
        c.append(.init("vit-b qkv 4096x768 -> 2304", .matmul(.init(transposeB: true, hasBias: true)), [[4096, 768], [2304, 768], [2304]]))
        c.append(.init("vit-b mlp1 4096x768 -> 3072 gelu", .matmul(.init(transposeB: true, hasBias: true, activation: .gelu)),
                       [[4096, 768], [3072, 768], [3072]]))
        c.append(.init("vit-h mlp2 4096x5120 -> 1280", .matmul(.init(transposeB: true, hasBias: true)), [[4096, 5120], [1280, 5120], [1280]]))
        c.append(.init("decoder hyper 4x32 * 32x65536", .matmul(.init()), [[1, 4, 32], [1, 32, 65536]]))
        c.append(.init("vit-b patch embed 1024", .conv2d(.init(stride: 16, hasBias: true)), [[1, 3, 1024, 1024], [768, 3, 16, 16], [768]]))
        c.append(.init("neck 3x3 256->256 64x64", .conv2d(.init(padding: 1)), [[1, 256, 64, 64], [256, 256, 3, 3]]))
        c.append(.init("neck 1x1 768->256 64x64", .conv2d(.init()), [[1, 768, 64, 64], [256, 768, 1, 1]]))
        c.append(.init("tinyvit mbconv 1x1 64->256 256x256 gelu", .conv2d(.init(hasBias: true, activation: .gelu)),
                       [[1, 64, 256, 256], [256, 64, 1, 1], [256]]))
        c.append(.init("tinyvit mbconv 1x1 64->256 256x256", .conv2d(.init(hasBias: true)),
                       [[1, 64, 256, 256], [256, 64, 1, 1], [256]]))
        c.append(.init("tinyvit mbconv dw 256c 256x256", .conv2d(.init(padding: 1, groups: 256, hasBias: true, activation: .gelu)),
                       [[1, 256, 256, 256], [256, 1, 3, 3], [256]]))
        c.append(.init("tinyvit merge dw s2 128c 256x256", .conv2d(.init(stride: 2, padding: 1, groups: 128, hasBias: true)),
                       [[1, 128, 256, 256], [128, 1, 3, 3], [128]]))
        c.append(.init("decoder upscale convT 256->64 64x64", .convTranspose2x2, [[1, 256, 64, 64], [256, 64, 2, 2], [64]]))
        c.append(.init("ln 4096x768", .layerNorm(axis: .last, eps: 1e-6), [[4096, 768], [768], [768]]))
        c.append(.init("ln2d 256x64x64", .layerNorm(axis: .channels, eps: 1e-6), [[1, 256, 64, 64], [256], [256]]))
        c.append(.init("softmax 8x4096x7", .softmax, [[8, 4096, 7]]))
        c.append(.init("vit-b window attn 25x196 12h", .attention(.init(heads: 12, headDim: 64, layout: .packedSAM,
                                                                       bias: .relativePosition(height: 14, width: 14))),
                       [[25, 196, 2304], [27, 64], [27, 64]]))
        c.append(.init("vit-b global attn 4096 2h", .attention(.init(heads: 2, headDim: 64, layout: .packedSAM,
                                                                    bias: .relativePosition(height: 64, width: 64))),
                       [[1, 4096, 384], [127, 64], [127, 64]]))
        c.append(.init("vit-h global attn 4096 1h hd80", .attention(.init(heads: 1, headDim: 80, layout: .packedSAM,
                                                                         bias: .relativePosition(height: 64, width: 64))),
                       [[1, 4096, 240], [127, 80], [127, 80]]))
        c.append(.init("tinyvit ws14 25x196 5h", .attention(.init(heads: 5, headDim: 32, layout: .packedTinyViT,
                                                                 bias: .biasTable(window: 14))),
                       [[25, 196, 480], [5, 196]]))
        c.append(.init("tinyvit ws7 361x49 4h", .attention(.init(heads: 4, headDim: 32, layout: .packedTinyViT,
                                                                bias: .biasTable(window: 7))),
                       [[361, 49, 384], [4, 49]]))
        c.append(.init("decoder token->image 7x4096", .attention(.init(heads: 8, headDim: 16, layout: .separate)),
                       [[1, 7, 128], [1, 4096, 128], [1, 4096, 128]]))
        c.append(.init("decoder image->token 4096x7", .attention(.init(heads: 8, headDim: 16, layout: .separate)),
                       [[1, 4096, 128], [1, 7, 128], [1, 7, 128]]))
        c.append(.init("gelu 4096x3072", .unary(.gelu), [[4096, 3072]]))
        c.append(.init("add 64x64x768", .binary(.add), [[1, 64, 64, 768], [1, 64, 64, 768]]))
        c.append(.init("add pos 64x64x768", .binary(.add), [[2, 64, 64, 768], [1, 64, 64, 768]]))
        c.append(.init("permute NCHW->NHWC 768x64x64", .permute([0, 2, 3, 1]), [[1, 768, 64, 64]]))
        c.append(.init("partition 64x64x768 ws14", .windowPartition(window: 14), [[1, 64, 64, 768]]))
        c.append(.init("unpartition ws14 -> 64x64x768", .windowUnpartition(window: 14, height: 64, width: 64), [[25, 196, 768]]))
        c.append(.init("dense pe 64x64 G2x128", .fourierFeatures, [[64, 64, 2], [2, 128]]))
        c.append(.init("bilinear 256 -> 1024", .resizeBilinear(height: 1024, width: 1024, antialias: false), [[1, 1, 256, 256]]))
        c.append(.init("bilinear aa 512 -> 256", .resizeBilinear(height: 256, width: 256, antialias: true), [[1, 3, 512, 512]]))
        return c
    }()
}
