import Foundation
import SAMModels
import TensorRuntime

extension Predictor {
    /// Masks for boxes given in the model's input frame (for LiteMedSAM the 256-pixel frame),
    /// in one decoder call against the current embedding.
    ///
    /// The challenge's 3-D propagation computes its boxes in that frame, and near the edge of a
    /// non-square image they reach past the resized image into the padding: no box in original
    /// pixels maps there, so `predict(_:)` cannot express them. `predict(_:)`'s own decode path,
    /// without its prompt mapping and image-bounds check (the frame bounds are checked here).
    func predict(frameBoxes: [[Float]]) throws -> Prediction {
        guard current != nil else { throw ImagePromptError.noImage }
        let s = Float(model.config.inputSize)
        for b in frameBoxes where b.count != 4 || !(b[0] >= 0 && b[1] >= 0 && b[2] <= s && b[3] <= s && b[2] >= b[0] && b[3] >= b[1]) {
            throw ImagePromptError.boxOutside(box: b, width: Int(s), height: Int(s))
        }
        return try predict(modelPrompts: frameBoxes.map { ModelPrompt(box: $0) }, multimask: false, outputs: [])
    }
}
