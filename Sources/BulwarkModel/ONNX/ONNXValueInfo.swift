/// A graph input or output of an ONNX model (`ValueInfoProto`): its name, element type and
/// shape, where each dimension is a number or a symbolic name (`batch`, `N`), or unknown.
struct ONNXValueInfo: Equatable, Sendable {
  /// A dimension: a fixed size, or nil when symbolic or absent.
  var name: String
  var elementType: Int?
  var dims: [Int?]?

  init(name: String, elementType: Int?, dims: [Int?]?) {
    self.name = name
    self.elementType = elementType
    self.dims = dims
  }

  init(reading reader: inout ProtobufReader) throws {
    name = ""
    while let key = try reader.nextField() {
      switch key.number {
      case 1: name = try reader.readString(key, "name")
      case 2:
        var type = try reader.readMessage(key, "type")
        while let typeKey = try type.nextField() {
          guard typeKey.number == 1 else {
            try type.skip(typeKey)
            continue
          }
          var tensor = try type.readMessage(typeKey, "tensor_type")
          while let tensorKey = try tensor.nextField() {
            switch tensorKey.number {
            case 1: elementType = try tensor.readInt(tensorKey, "elem_type")
            case 2:
              var shape = try tensor.readMessage(tensorKey, "shape")
              var dims: [Int?] = []
              while let shapeKey = try shape.nextField() {
                guard shapeKey.number == 1 else {
                  try shape.skip(shapeKey)
                  continue
                }
                var dim = try shape.readMessage(shapeKey, "dim")
                var value: Int?
                while let dimKey = try dim.nextField() {
                  if dimKey.number == 1 {
                    value = try dim.readInt(dimKey, "dim_value")
                  } else {
                    try dim.skip(dimKey)
                  }
                }
                dims.append(value)
              }
              self.dims = dims
            default: try tensor.skip(tensorKey)
            }
          }
        }
      default: try reader.skip(key)
      }
    }
  }
}
