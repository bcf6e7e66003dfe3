(module
  (func (result v128) v128.const i64x2 0 0)
  (memory (export "memory") 1)
  (func (export "call") (result i64) i64.const 0))
