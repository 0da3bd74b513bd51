import Foundation

/// The names Hugging Face `transformers` gives SAM weights (`SamModel`), and the way back to the
/// original segment-anything names (docs/sam-spec.md §9.3). The forward direction follows
/// `convert_sam_to_hf.py`: ordered substring replacements, then the hypernetwork MLP layer
/// renames. `SAMCheckpoint.open` applies the way back to every checkpoint that uses these names.
public enum HuggingFaceSAMNames {
    /// The tied copy HF adds; it duplicates `prompt_encoder.shared_embedding.positional_embedding`.
    public static let tiedCopy = "shared_image_embedding.positional_embedding"

    static let forwardReplacements: [(String, String)] = [
        ("iou_prediction_head.layers.0", "iou_prediction_head.proj_in"),
        ("iou_prediction_head.layers.1", "iou_prediction_head.layers.0"),
        ("iou_prediction_head.layers.2", "iou_prediction_head.proj_out"),
        ("mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"),
        ("mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"),
        ("mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"),
        ("mask_downscaling.0", "mask_embed.conv1"),
        ("mask_downscaling.1", "mask_embed.layer_norm1"),
        ("mask_downscaling.3", "mask_embed.conv2"),
        ("mask_downscaling.4", "mask_embed.layer_norm2"),
        ("mask_downscaling.6", "mask_embed.conv3"),
        ("point_embeddings", "point_embed"),
        ("pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding"),
        ("image_encoder", "vision_encoder"),
        ("neck.0", "neck.conv1"),
        ("neck.1", "neck.layer_norm1"),
        ("neck.2", "neck.conv2"),
        ("neck.3", "neck.layer_norm2"),
        ("patch_embed.proj", "patch_embed.projection"),
        (".norm", ".layer_norm"),
        ("blocks", "layers"),
    ]

    /// True for names only the HF layout uses.
    public static func isHuggingFaceName(_ name: String) -> Bool {
        name.hasPrefix("vision_encoder.") || name == tiedCopy || name.hasPrefix("prompt_encoder.shared_embedding.")
    }

    /// The HF name of an original segment-anything key.
    public static func huggingFaceName(for original: String) -> String {
        var name = original
        for (old, new) in forwardReplacements { name = name.replacingAll(old, with: new) }
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if let i = parts.firstIndex(of: "output_hypernetworks_mlps"), i + 3 < parts.count, parts[i + 2] == "layers" {
            switch parts[i + 3] {
            case "0": parts.replaceSubrange((i + 2)...(i + 3), with: ["proj_in"])
            case "1": parts.replaceSubrange((i + 2)...(i + 3), with: ["layers", "0"])
            case "2": parts.replaceSubrange((i + 2)...(i + 3), with: ["proj_out"])
            default: break
            }
        }
        return parts.joined(separator: ".")
    }

    /// The original key of an HF name, or nil for the tied duplicate that has no original.
    public static func originalName(for hf: String) -> String? {
        if hf == tiedCopy { return nil }
        var parts = hf.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func rename(_ at: Int, _ table: [String: [String]]) {
            if at < parts.count, let new = table[parts[at]] { parts.replaceSubrange(at...at, with: new) }
        }
        switch parts.first {
        case "vision_encoder":
            parts[0] = "image_encoder"
            if parts.count > 2, parts[1] == "layers" {
                parts[1] = "blocks"
                rename(3, ["layer_norm1": ["norm1"], "layer_norm2": ["norm2"]])
            } else if parts.count > 2, parts[1] == "neck" {
                rename(2, ["conv1": ["0"], "layer_norm1": ["1"], "conv2": ["2"], "layer_norm2": ["3"]])
            } else if parts.count > 2, parts[1] == "patch_embed" {
                rename(2, ["projection": ["proj"]])
            }
        case "prompt_encoder":
            if parts.count > 2, parts[1] == "shared_embedding", parts[2] == "positional_embedding" {
                parts.replaceSubrange(1...2, with: ["pe_layer", "positional_encoding_gaussian_matrix"])
            } else if parts.count > 1, parts[1] == "point_embed" {
                parts[1] = "point_embeddings"
            } else if parts.count > 2, parts[1] == "mask_embed" {
                parts[1] = "mask_downscaling"
                rename(2, ["conv1": ["0"], "layer_norm1": ["1"], "conv2": ["3"], "layer_norm2": ["4"], "conv3": ["6"]])
            }
        case "mask_decoder":
            let mlp = ["proj_in": ["layers", "0"], "layers": ["layers"], "proj_out": ["layers", "2"]]
            if parts.count > 1 {
                switch parts[1] {
                case "upscale_conv1": parts.replaceSubrange(1...1, with: ["output_upscaling", "0"])
                case "upscale_layer_norm": parts.replaceSubrange(1...1, with: ["output_upscaling", "1"])
                case "upscale_conv2": parts.replaceSubrange(1...1, with: ["output_upscaling", "3"])
                case "iou_prediction_head":
                    if parts.count > 3, parts[2] == "layers", parts[3] == "0" { parts[3] = "1" } else { rename(2, mlp) }
                case "output_hypernetworks_mlps":
                    if parts.count > 4, parts[3] == "layers", parts[4] == "0" { parts[4] = "1" } else { rename(3, mlp) }
                case "transformer":
                    let norms = ["layer_norm1": ["norm1"], "layer_norm2": ["norm2"], "layer_norm3": ["norm3"],
                                 "layer_norm4": ["norm4"]]
                    if parts.count > 2, parts[2] == "layer_norm_final_attn" { parts[2] = "norm_final_attn" }
                    if parts.count > 4, parts[2] == "layers" { rename(4, norms) }
                default: break
                }
            }
        default: break
        }
        return parts.joined(separator: ".")
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            result += rest[..<r.lowerBound]
            result += replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }
}
