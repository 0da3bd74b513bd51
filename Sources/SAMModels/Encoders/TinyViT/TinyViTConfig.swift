/// TinyViT image encoder as LiteMedSAM and MobileSAM use it (docs/sam-spec.md §8.2, §8.5).
public struct TinyViTConfig: Sendable, Codable, Equatable {
    /// How the first stage turns pixels into features.
    public enum PatchEmbedding: String, Sendable, Codable {
        /// LiteMedSAM: two 1×1 Conv2d_BN, no downsampling (`patches_resolution = img_size`).
        case pointwise
        /// MobileSAM: two 3×3 stride-2 Conv2d_BN with padding 1 (resolution `img_size / 4`).
        case strided3x3
    }

    public var imageSize: Int
    public var patchEmbedding: PatchEmbedding
    public var embedDims: [Int]
    public var depths: [Int]
    public var heads: [Int]
    public var windowSizes: [Int]
    /// Stride of each PatchMerging's depthwise conv (stages 0..<3). The reference code uses
    /// stride 1 when the output width is 320, 448 or 576, else 2.
    public var mergeStrides: [Int]
    public var mlpRatio: Int
    public var mbconvExpandRatio: Int
    public var neckChannels: Int
    /// Classes of the ImageNet classifier head (`norm_head`, `head`) the checkpoint still holds,
    /// 0 when it has none. Segmentation never reads it; it is part of the expected keys.
    public var classifierClasses: Int

    public init(imageSize: Int, patchEmbedding: PatchEmbedding, embedDims: [Int] = [64, 128, 160, 320],
                depths: [Int] = [2, 2, 6, 2], heads: [Int] = [2, 4, 5, 10], windowSizes: [Int] = [7, 7, 14, 7],
                mergeStrides: [Int]? = nil, mlpRatio: Int = 4, mbconvExpandRatio: Int = 4, neckChannels: Int = 256,
                classifierClasses: Int = 0) {
        self.imageSize = imageSize
        self.patchEmbedding = patchEmbedding
        self.embedDims = embedDims
        self.depths = depths
        self.heads = heads
        self.windowSizes = windowSizes
        self.mergeStrides = mergeStrides ?? (1..<embedDims.count).map { [320, 448, 576].contains(embedDims[$0]) ? 1 : 2 }
        self.mlpRatio = mlpRatio
        self.mbconvExpandRatio = mbconvExpandRatio
        self.neckChannels = neckChannels
        self.classifierClasses = classifierClasses
    }

    /// BatchNorm epsilon folded into every Conv2d_BN, and the LayerNorm epsilon of attention and MLP.
    public static let batchNormEps: Float = 1e-5
    public static let layerNormEps: Float = 1e-5
    /// LayerNorm2d epsilon of the neck.
    public static let neckNormEps: Float = 1e-6

    /// Resolution after the patch embedding.
    public var patchResolution: Int { patchEmbedding == .pointwise ? imageSize : imageSize / 4 }

    /// Resolution of stage `i`'s input (stage 0 = the conv stage).
    public func resolution(stage i: Int) -> Int {
        var r = patchResolution
        for s in 0..<i { r = (r + 2 - 3) / mergeStrides[s] + 1 }   // 3×3 conv, padding 1
        return r
    }

    /// Side of the output embedding grid.
    public var outputResolution: Int { resolution(stage: embedDims.count - 1) }

    /// LiteMedSAM: 256 input, 1×1 patch embedding, output 256×64×64.
    public static let liteMedSAM = TinyViTConfig(imageSize: 256, patchEmbedding: .pointwise)
    /// MobileSAM (`build_sam_vit_t`): 1024 input, 3×3/s2 patch embedding, output 256×64×64.
    public static let mobileSAM = TinyViTConfig(imageSize: 1024, patchEmbedding: .strided3x3, classifierClasses: 1000)
}

extension TinyViTConfig: ImageEncoderFamilyConfig {
    public var inputSize: Int { imageSize }
    public var embeddingSize: Int { outputResolution }
    public var embeddingChannels: Int { neckChannels }
}
