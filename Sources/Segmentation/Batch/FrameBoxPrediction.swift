import Foundation
import SAMModels
import TensorRuntime

extension Predictor {
    /// Masks for boxes given in the model's input frame (for LiteMedSAM the 256-pixel frame),
    /// in one decoder call against the current embedding.
    ///
    /// The challenge's 3-D propagation computes its boxes in that frame, and near the edge of a
    /// non-square image they reach past the resized image into the padding: no box in original
    /// pixels maps there, so `predict(_:)` cannot express them. Same decoder and
    /// post-processing path as `predict(_:)` (image context reused), without its prompt mapping
    /// and bounds check.
    func predict(frameBoxes: [[Float]]) throws -> Prediction {
        guard let current else { throw ImagePromptError.noImage }
        let s = Float(model.config.inputSize)
        for b in frameBoxes where b.count != 4 || !(b[0] >= 0 && b[1] >= 0 && b[2] <= s && b[3] <= s && b[2] >= b[0] && b[3] >= b[1]) {
            throw ImagePromptError.boxOutside(box: b, width: Int(s), height: Int(s))
        }
        if current.decoderContext == nil {
            current.decoderContext = try model.imageContext(embeddings: .device(current.embeddings), on: backend)
        }
        let decoded = try model.decode(prompts: frameBoxes.map { ModelPrompt(box: $0) }, context: current.decoderContext!,
                                       multimask: false, on: backend, deviceOutputs: [DecoderIO.lowResLogits])
        guard let lowRes = decoded.device[DecoderIO.lowResLogits], let iou = decoded.host[DecoderIO.iouPredictions] else {
            throw BackendError.invalidArgument("the mask decoder did not produce logits and IoU")
        }
        let post = try model.postprocess(lowResLogits: .device(lowRes), transform: current.transform, includesLogits: false, on: backend)
        return Prediction(masks: post.masks, iou: iou, logits: nil, lowResLogits: nil)
    }
}
