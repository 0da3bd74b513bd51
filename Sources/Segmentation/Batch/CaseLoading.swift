import Foundation
import MedicalImaging
import TensorRuntime

/// A case's state on its way from a reader through the encoder and decoder to a writer. The
/// reader fills in what it read; from then on only the writer thread that receives the case's
/// results changes it (the queues order those accesses).
final class CaseAssembly {
    let index: Int
    let batchCase: BatchCase
    let started = DispatchTime.now().uptimeNanoseconds
    var readMilliseconds: Double = 0
    /// The input's mapped volume (its geometry is the output's), nil for a 2-D input.
    var volume: Volume?
    var axis: SliceAxis = .axial
    /// The slice index of each image job, in job order (nil for a 2-D input).
    var slices: [Int?] = []
    /// The array-order slice's size (what the model sees).
    var height = 0, width = 0
    /// How the slices are shown: explicit prompts are on it, one-slice PNG/NPY outputs laid out on it.
    var display: SliceOrientation = .identity
    /// A challenge `.npz` case, inferred whole by the compute stage.
    var challenge: MedSAMCase?
    /// An Everything case's masks and the image (as displayed) they were generated on.
    var everything: EverythingOutputs?

    // Filled in by the writer from the results.
    var received = 0
    var maskVolume: Volume?
    var labels: [UInt8] = []
    var npyMasks: [Float] = []
    var prompts = 0
    var areas: [Int] = []
    var ious: [Float] = []
    /// Embedding files written for the case (`--save-embeddings`), by image slot.
    var embeddings: [Int: String] = [:]
    var encodeMilliseconds: Double = 0
    var decodeMilliseconds: Double = 0
    var error: String?
    var challengeResult: ChallengeResult?

    init(index: Int, batchCase: BatchCase) {
        self.index = index
        self.batchCase = batchCase
    }
}

/// One 2-D image (a slice, or a whole 2-D input) of a case with the prompts to decode on it.
final class ImageJob {
    let assembly: CaseAssembly
    let slot: Int
    let image: Image
    let prompts: [ImagePrompt]
    /// The label value each prompt's mask is written with.
    let labelValues: [UInt8]

    init(assembly: CaseAssembly, slot: Int, image: Image, prompts: [ImagePrompt], labelValues: [UInt8]) {
        self.assembly = assembly
        self.slot = slot
        self.image = image
        self.prompts = prompts
        self.labelValues = labelValues
    }
}

/// Reads a case's input (and label map) and hands out its images one at a time, so a reader
/// holding a large volume does not also hold every slice's copy.
struct LoadedCase {
    let assembly: CaseAssembly
    private let image: Image?
    private let labelSource: MedicalImage?

    /// Decodes the input (and label map) of `c`; errors name the case's row and field.
    init(_ c: BatchCase, index: Int, mapping: IntensityMapping?, display convention: DisplayConvention = .array) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let a = CaseAssembly(index: index, batchCase: c)
        assembly = a
        if c.prompts == .challenge {
            a.challenge = try MedSAMCase.read(URL(fileURLWithPath: c.input))
            image = nil
            labelSource = nil
            a.readMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            return
        }
        switch try MedicalImageFile.read(URL(fileURLWithPath: c.input)) {
        case .image(let img):
            guard c.selection == .image else {
                throw BatchError("\(c.origin), field 'slice': \(c.input) is a 2-D image; slices apply to 3-D inputs only")
            }
            let m = mapping ?? IntensityMapping.automatic(for: img)
            image = m.apply(img)
            a.slices = [nil]
            a.height = img.height
            a.width = img.width
        case .volume(let vol):
            let m = mapping ?? IntensityMapping.automatic(for: vol)
            let mapped = m.apply(vol)
            image = nil
            a.volume = mapped
            switch c.selection {
            case .image:
                a.axis = .axial
                a.slices = Array(0..<vol.sliceCount(.axial))
            case .slice(let axis, let k):
                a.axis = axis
                guard (0..<vol.sliceCount(axis)).contains(k) else {
                    throw BatchError("\(c.origin), field 'slice': \(k) is outside \(c.input): \(vol.sliceCount(axis)) \(axis.rawValue) slices (0...\(vol.sliceCount(axis) - 1))")
                }
                a.slices = [k]
            case .range(let axis, let r):
                a.axis = axis
                guard r.upperBound < vol.sliceCount(axis) else {
                    throw BatchError("\(c.origin), field 'slices': \(r.lowerBound)-\(r.upperBound) is outside \(c.input): \(vol.sliceCount(axis)) \(axis.rawValue) slices (0...\(vol.sliceCount(axis) - 1))")
                }
                a.slices = Array(r)
            case .volume(let axis):
                a.axis = axis
                a.slices = Array(0..<vol.sliceCount(axis))
            }
            let (ax, ay) = a.axis.inPlaneAxes
            a.width = vol.dims[ax]
            a.height = vol.dims[ay]
            a.display = SliceOrientation.display(convention, volume: vol, axis: a.axis)
            if c.prompts == .everything && a.slices.count != 1 {
                throw BatchError("\(c.origin), field 'slice': \(c.input) has \(a.slices.count) \(a.axis.rawValue) slices; Everything mode segments one slice per case: give a slice")
            }
            if a.slices.count > 1 && (c.format == .png || c.format == .npy) {
                throw BatchError("\(c.origin), field 'output': \(c.output) holds one slice, but \(c.input) has \(a.slices.count) \(a.axis.rawValue) slices; give a slice or a .nii/.nii.gz output")
            }
        }
        switch c.prompts {
        case .explicit(let prompts):
            // Prompts are given on the display.
            let (w, h) = a.display.displaySize(arrayWidth: a.width, arrayHeight: a.height)
            for p in prompts {
                if let b = p.box, b[2] > Float(w) || b[3] > Float(h) {
                    throw BatchError("\(c.origin), field 'box': box \(b.map { String(format: "%g", $0) }.joined(separator: ",")) lies outside the \(w)x\(h) image of \(c.input)")
                }
                for pt in p.points where pt.x > Float(w) || pt.y > Float(h) || pt.x < 0 || pt.y < 0 {
                    throw BatchError("\(c.origin), field 'point': point \(pt.x),\(pt.y) lies outside the \(w)x\(h) image of \(c.input)")
                }
            }
            labelSource = nil
        case .labels(let path, _):
            let labels = try MedicalImageFile.read(URL(fileURLWithPath: path))
            switch (labels, a.volume) {
            case (.image(let l), nil):
                guard l.height == a.height, l.width == a.width, l.channels == 1 else {
                    throw BatchError("\(c.origin), field 'labels': \(path) is \(l.height)x\(l.width)x\(l.channels), the image is \(a.height)x\(a.width) (expected one channel of the same size)")
                }
            case (.volume(let l), let v?):
                guard l.dims == v.dims else {
                    throw BatchError("\(c.origin), field 'labels': \(path) has dims \(l.dims), the input has \(v.dims)")
                }
            default:
                throw BatchError("\(c.origin), field 'labels': \(path) is not of the same kind (2-D image or volume) as \(c.input)")
            }
            labelSource = labels
        case .challenge, .everything:
            labelSource = nil
        }
        a.readMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    /// Calls `body` with each image job of the case in slice order.
    func forEachJob(_ body: (ImageJob) throws -> Void) throws {
        let a = assembly
        let c = a.batchCase
        for (slot, k) in a.slices.enumerated() {
            let img: Image
            if let k, let v = a.volume { img = try v.slice(a.axis, k) } else { img = image! }
            var prompts: [ImagePrompt] = []
            var values: [UInt8] = []
            switch c.prompts {
            case .explicit(let p):
                let (w, h) = a.display.displaySize(arrayWidth: a.width, arrayHeight: a.height)
                prompts = p.map { $0.inArrayOrder(from: a.display, displayWidth: w, displayHeight: h) }
                values = (0..<p.count).map { UInt8(min($0 + 1, 255)) }
            case .labels(_, let margin):
                let plane: [Float]
                switch labelSource! {
                case .image(let l): plane = l.pixels
                case .volume(let l): plane = try l.slice(a.axis, k!).pixels
                }
                for (label, box) in LabelBoxes.boxes(labels: plane, height: a.height, width: a.width, margin: margin,
                                                     key: "\(c.id)#\(k.map(String.init) ?? "2d")") {
                    prompts.append(ImagePrompt(box: box))
                    values.append(UInt8(min(label, 255)))
                }
            case .challenge, .everything:
                break
            }
            try body(ImageJob(assembly: a, slot: slot, image: img, prompts: prompts, labelValues: values))
        }
    }
}
