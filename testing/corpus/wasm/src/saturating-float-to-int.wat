(module
  (func (param f32) (result i32) local.get 0 i32.trunc_sat_f32_s)
  (memory (export "memory") 1)
  (func (export "call") (result i64) i64.const 0))
