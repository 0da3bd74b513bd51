import ArgumentParser
import Foundation
import MedicalImaging

extension DisplayConvention: ExpressibleByArgument {}

/// `--orientation`: how slices of a volume are laid out for prompts and 2-D outputs.
///
/// The model always sees the slice in array order; the display only decides where `--box` and
/// `--point` coordinates land and how PNG/NPY masks, logits and overlays are laid out
/// (docs/cli.md, "Coordinates"). NIfTI outputs stay on the input's voxel grid.
struct DisplayOptions: ParsableArguments {
    @Option(help: "Slice layout of a volume for coordinates and 2-D outputs: radiological (default: from the affine; axial anterior up, coronal/sagittal superior up, patient right / anterior on the left) or array (file order, no flips).")
    var orientation: DisplayConvention = .radiological

    /// The display of `axis` slices of `volume` (array order for 2-D inputs).
    func display(volume: Volume?, axis: SliceAxis) -> SliceOrientation {
        SliceOrientation.display(orientation, volume: volume, axis: axis)
    }
}

/// The `--json` record of the display used: the convention and the steps from array order.
struct DisplaySummary: Codable, Equatable {
    var transpose: Bool
    var flipX: Bool
    var flipY: Bool

    init(_ o: SliceOrientation) {
        transpose = o.transpose
        flipX = o.flipX
        flipY = o.flipY
    }
}
