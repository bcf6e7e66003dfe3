(module
  (import "braid" "memory" (memory 1))
  (func (export "call") (result i64) i64.const 0))
