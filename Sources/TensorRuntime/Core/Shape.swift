/// The extents of a row-major (C order) tensor.
public struct Shape: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    public var rank: Int { dims.count }
    /// Number of elements (1 for a 0-d tensor).
    public var count: Int { dims.reduce(1, *) }
    public subscript(_ axis: Int) -> Int {
        get { dims[axis < 0 ? dims.count + axis : axis] }
        set { dims[axis < 0 ? dims.count + axis : axis] = newValue }
    }
    /// Row-major strides in elements.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= dims[i]
        }
        return s
    }
    public var description: String { "[" + dims.map(String.init).joined(separator: ",") + "]" }
}
