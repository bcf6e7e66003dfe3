(module
  (memory (export "memory") 257)
  (func (export "call") (result i64) i64.const 0))
