import Foundation

/// One op recorded from PyTorch by `scripts/reference/ops.py`: the op, its float32 inputs and
/// the output PyTorch computed in float64.
public struct FixtureCase: Sendable {
    /// The case's folder name, e.g. `attention_sam_relpos_7x7_2heads`.
    public var name: String
    public var op: Op
    public var inputs: [Tensor]
    public var expected: Tensor

    public init(name: String, op: Op, inputs: [Tensor], expected: Tensor) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.expected = expected
    }
}

/// A fixture folder that cannot be read; names the file and what is wrong with it.
public struct FixtureError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Loader for the op fixtures written by `scripts/reference/ops.py`.
///
/// Layout: `<directory>/<case>/meta.json` (`{"op": name, "params": {...}, "inputs": n}`, schema in
/// the script's docstring) with `in0.npy … in{n-1}.npy` and `out.npy`.
public enum PyTorchFixtures {
    /// Every case under `directory`, sorted by name. Throws `FixtureError` / `NPYError` naming the
    /// file for a bad meta.json or array, and a `FixtureError` when a case's expected shape does
    /// not match `Op.outputShape`.
    public static func load(directory: URL) throws -> [FixtureCase] {
        let fm = FileManager.default
        let entries: [String]
        do { entries = try fm.contentsOfDirectory(atPath: directory.path) } catch {
            throw FixtureError(path: directory.path, message: "cannot list fixture folder: \(error.localizedDescription)")
        }
        var cases: [FixtureCase] = []
        for name in entries.sorted() {
            let folder = directory.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue,
                  fm.fileExists(atPath: folder.appendingPathComponent("meta.json").path) else { continue }
            cases.append(try loadCase(folder))
        }
        return cases
    }

    /// One case folder.
    public static func loadCase(_ folder: URL) throws -> FixtureCase {
        let metaURL = folder.appendingPathComponent("meta.json")
        let meta = try readMeta(metaURL)
        let op = try parseOp(meta, path: metaURL.path)
        guard let count = meta["inputs"] as? Int, count >= 1 else {
            throw FixtureError(path: metaURL.path, message: "'inputs' must be a positive integer")
        }
        let inputs = try (0..<count).map { try NPY.read(folder.appendingPathComponent("in\($0).npy")).tensor }
        let outURL = folder.appendingPathComponent("out.npy")
        let expected = try NPY.read(outURL).tensor
        let shape: Shape
        do { shape = try op.outputShape(inputs: inputs.map(\.shape)) } catch {
            throw FixtureError(path: metaURL.path, message: "inputs do not fit the op: \(error)")
        }
        guard shape == expected.shape else {
            throw FixtureError(path: outURL.path, message: "expected output is \(expected.shape), the op gives \(shape)")
        }
        return FixtureCase(name: folder.lastPathComponent, op: op, inputs: inputs, expected: expected)
    }

    private static func readMeta(_ url: URL) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FixtureError(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw FixtureError(path: url.path, message: "not a JSON object")
        }
        return dict
    }

    /// Builds the `Op` from meta.json's "op" and "params".
    static func parseOp(_ meta: [String: Any], path: String) throws -> Op {
        guard let name = meta["op"] as? String else { throw FixtureError(path: path, message: "missing string field 'op'") }
        let params = Params(values: meta["params"] as? [String: Any] ?? [:], path: path, op: name)
        switch name {
        case "matmul":
            return .matmul(MatMulParams(transposeA: try params.bool("transposeA"), transposeB: try params.bool("transposeB"),
                                        hasBias: try params.bool("hasBias"), activation: try params.activation()))
        case "conv2d":
            var p = Conv2DParams(groups: try params.int("groups"), hasBias: try params.bool("hasBias"),
                                 activation: try params.activation())
            p.strideY = try params.int("strideY"); p.strideX = try params.int("strideX")
            p.padY = try params.int("padY"); p.padX = try params.int("padX")
            return .conv2d(p)
        case "conv_transpose_2x2": return .convTranspose2x2
        case "layer_norm":
            let axisName = try params.string("axis")
            guard let axis = NormAxis(rawValue: axisName) else { throw params.bad("axis", "'last' or 'channels'", axisName) }
            return .layerNorm(axis: axis, eps: Float(try params.double("eps")))
        case "softmax": return .softmax
        case "attention":
            let layoutName = try params.string("layout")
            guard let layout = QKVLayout(rawValue: layoutName) else {
                throw params.bad("layout", "separate, packedSAM or packedTinyViT", layoutName)
            }
            return .attention(AttentionParams(heads: try params.int("heads"), headDim: try params.int("headDim"),
                                              scale: Float(try params.double("scale")), layout: layout,
                                              bias: try attentionBias(params)))
        case "unary": return .unary(try params.activation())
        case "binary":
            let kindName = try params.string("kind")
            guard let kind = BinaryKind(rawValue: kindName) else { throw params.bad("kind", "add, mul or greater", kindName) }
            return .binary(kind)
        case "permute": return .permute(try params.ints("perm"))
        case "broadcast": return .broadcast(Shape(try params.ints("shape")))
        case "reshape": return .reshape(Shape(try params.ints("shape")))
        case "window_partition": return .windowPartition(window: try params.int("window"))
        case "window_unpartition":
            return .windowUnpartition(window: try params.int("window"), height: try params.int("height"),
                                      width: try params.int("width"))
        case "pad": return .pad(before: try params.ints("before"), after: try params.ints("after"))
        case "slice": return .slice(start: try params.ints("start"), size: try params.ints("size"))
        case "resize_bilinear":
            return .resizeBilinear(height: try params.int("height"), width: try params.int("width"),
                                   antialias: try params.bool("antialias"))
        case "concat": return .concat(axis: try params.int("axis"))
        case "fourier_features": return .fourierFeatures
        default:
            throw FixtureError(path: path, message: "unknown op '\(name)'")
        }
    }

    private static func attentionBias(_ params: Params) throws -> AttentionBias {
        guard let raw = params.values["bias"] as? [String: Any] else { throw params.bad("bias", "an object", nil) }
        let bias = Params(values: raw, path: params.path, op: params.op + ".bias")
        let kind = try bias.string("kind")
        switch kind {
        case "none": return .none
        case "relativePosition": return .relativePosition(height: try bias.int("height"), width: try bias.int("width"))
        case "biasTable": return .biasTable(window: try bias.int("window"))
        default: throw bias.bad("kind", "none, relativePosition or biasTable", kind)
        }
    }

    /// Typed access to a params object, with errors naming the file and field.
    private struct Params {
        var values: [String: Any]
        var path: String
        var op: String

        func bad(_ key: String, _ expected: String, _ got: Any?) -> FixtureError {
            FixtureError(path: path, message: "\(op) param '\(key)' must be \(expected), got \(got.map { "\($0)" } ?? "nothing")")
        }
        func int(_ key: String) throws -> Int {
            guard let n = values[key] as? Int else { throw bad(key, "an integer", values[key]) }
            return n
        }
        func double(_ key: String) throws -> Double {
            guard let n = values[key] as? Double else { throw bad(key, "a number", values[key]) }
            return n
        }
        func bool(_ key: String) throws -> Bool {
            guard let b = values[key] as? Bool else { throw bad(key, "true or false", values[key]) }
            return b
        }
        func string(_ key: String) throws -> String {
            guard let s = values[key] as? String else { throw bad(key, "a string", values[key]) }
            return s
        }
        func ints(_ key: String) throws -> [Int] {
            guard let list = values[key] as? [Any] else { throw bad(key, "a list of integers", values[key]) }
            return try list.map { item in
                guard let n = item as? Int else { throw bad(key, "a list of integers", values[key]) }
                return n
            }
        }
        func activation() throws -> Activation {
            let name = try string("activation")
            guard let a = Activation(rawValue: name) else { throw bad("activation", "none, relu, gelu or sigmoid", name) }
            return a
        }
    }
}
