/// One node of an imported ONNX graph as `bulwark inspect` shows it: its operator and the
/// names and shapes of its inputs and outputs.
public struct ONNXNodeSummary: Equatable, Sendable, Encodable {
  /// A value a node reads or writes.
  public struct Value: Equatable, Sendable, Encodable {
    /// The value's name in the graph (empty for an omitted optional input).
    public var name: String
    /// The shape, `N x 6 x 28 x 28` (N is the batch), or the dims of a constant.
    public var shape: String
    /// True for constants: initializers, `Constant` outputs and folded shape computations.
    public var isConstant: Bool

    /// Creates a value description.
    /// - Parameters:
    ///   - name: The value's name.
    ///   - shape: Its shape as text.
    ///   - isConstant: Whether it is known at load time.
    public init(name: String, shape: String, isConstant: Bool) {
      self.name = name
      self.shape = shape
      self.isConstant = isConstant
    }
  }

  /// The node's name (may be empty).
  public var name: String
  /// The operator, e.g. `Conv`.
  public var op: String
  /// The inputs, in order.
  public var inputs: [Value]
  /// The outputs, in order.
  public var outputs: [Value]

  /// Creates a node description.
  /// - Parameters:
  ///   - name: The node's name.
  ///   - op: The operator.
  ///   - inputs: The inputs.
  ///   - outputs: The outputs.
  public init(name: String, op: String, inputs: [Value], outputs: [Value]) {
    self.name = name
    self.op = op
    self.inputs = inputs
    self.outputs = outputs
  }
}
