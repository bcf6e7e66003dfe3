(module
  (memory (export "memory") 1 1 shared)
  (func (export "call") (result i64) i64.const 0))
