(module
  (func call 7)
  (memory (export "memory") 1)
  (func (export "call") (result i64) i64.const 0))
