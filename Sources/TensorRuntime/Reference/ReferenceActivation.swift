import Foundation

extension Activation {
    /// The activation evaluated in float64, as the reference applies it to a float64 accumulator.
    func apply(_ x: Double) -> Double {
        switch self {
        case .none: return x
        case .relu: return x > 0 ? x : 0
        case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .sigmoid: return 1 / (1 + exp(-x))
        }
    }
}
