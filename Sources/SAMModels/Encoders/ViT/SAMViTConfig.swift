/// SAM's ViT image encoder (`ImageEncoderViT`, docs/sam-spec.md §1): patch embedding, absolute position,
/// windowed and global blocks with decomposed relative position, and the conv/LayerNorm2d neck.
public struct SAMViTConfig: Sendable, Codable, Equatable {
    public var imageSize: Int
    public var patchSize: Int
    public var embedDim: Int
    public var depth: Int
    public var heads: Int
    /// 0-based ids of the blocks that attend globally; the others use `windowSize` windows.
    public var globalAttentionIndexes: [Int]
    public var windowSize: Int
    public var mlpRatio: Int
    /// Channels of the neck, equal to the prompt embedding dimension (256 in SAM).
    public var outChannels: Int

    public init(imageSize: Int = 1024, patchSize: Int = 16, embedDim: Int, depth: Int, heads: Int,
                globalAttentionIndexes: [Int], windowSize: Int = 14, mlpRatio: Int = 4, outChannels: Int = 256) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.embedDim = embedDim
        self.depth = depth
        self.heads = heads
        self.globalAttentionIndexes = globalAttentionIndexes
        self.windowSize = windowSize
        self.mlpRatio = mlpRatio
        self.outChannels = outChannels
    }

    /// Side of the token grid (64 for 1024 / 16).
    public var gridSize: Int { imageSize / patchSize }
    public var headDim: Int { embedDim / heads }
    /// LayerNorm epsilon of the blocks and the neck (`partial(nn.LayerNorm, eps=1e-6)`).
    public static let layerNormEps: Float = 1e-6

    public func isGlobal(_ block: Int) -> Bool { globalAttentionIndexes.contains(block) }

    /// ViT-B: 768 wide, 12 blocks, 12 heads, global blocks 2, 5, 8, 11.
    public static let vitB = SAMViTConfig(embedDim: 768, depth: 12, heads: 12, globalAttentionIndexes: [2, 5, 8, 11])
    /// ViT-L: 1024 wide, 24 blocks, 16 heads, global blocks 5, 11, 17, 23.
    public static let vitL = SAMViTConfig(embedDim: 1024, depth: 24, heads: 16, globalAttentionIndexes: [5, 11, 17, 23])
    /// ViT-H: 1280 wide, 32 blocks, 16 heads (head dim 80), global blocks 7, 15, 23, 31.
    public static let vitH = SAMViTConfig(embedDim: 1280, depth: 32, heads: 16, globalAttentionIndexes: [7, 15, 23, 31])
}

extension SAMViTConfig: ImageEncoderFamilyConfig {
    public var inputSize: Int { imageSize }
    public var embeddingSize: Int { gridSize }
    public var embeddingChannels: Int { outChannels }
}
