(module
  (func (export "call") (result i64) i64.const 0))
