(module
  (type (;0;) (func (param i32 i32 i32) (result i64)))
  (type (;1;) (func (param i32 i32 i32 i32 i32) (result i64)))
  (type (;2;) (func (param i32 i32 i32 i32 i32 i32) (result i64)))
  (type (;3;) (func (param i32 i32 i32 i32) (result i64)))
  (type (;4;) (func (param i32 i32)))
  (type (;5;) (func (result i64)))
  (import "braid" "input" (func (;0;) (type 0)))
  (import "braid" "storage_read" (func (;1;) (type 1)))
  (import "braid" "state_read" (func (;2;) (type 2)))
  (import "braid" "evm_storage_read" (func (;3;) (type 0)))
  (import "braid" "storage_write" (func (;4;) (type 3)))
  (import "braid" "revert" (func (;5;) (type 4)))
  (func (;6;) (type 5) (result i64)
    (local i32 i32 i32 i64 i64 i32 i32)
    block  ;; label = @1
      block  ;; label = @2
        block  ;; label = @3
          block  ;; label = @4
            block  ;; label = @5
              block  ;; label = @6
                block  ;; label = @7
                  block  ;; label = @8
                    block  ;; label = @9
                      block  ;; label = @10
                        block  ;; label = @11
                          i32.const 65648
                          i32.const 0
                          i32.const 0
                          call 0
                          i32.wrap_i64
                          local.tee 0
                          i32.const 65648
                          i32.add
                          local.tee 1
                          memory.size
                          i32.const 16
                          i32.shl
                          local.tee 2
                          i32.le_u
                          br_if 0 (;@11;)
                          local.get 1
                          local.get 2
                          i32.sub
                          i32.const 65535
                          i32.add
                          i32.const 16
                          i32.shr_u
                          memory.grow
                          i32.const -1
                          i32.eq
                          br_if 1 (;@10;)
                        end
                        local.get 0
                        i32.eqz
                        br_if 1 (;@9;)
                        i32.const 65648
                        i32.const 0
                        local.get 0
                        call 0
                        drop
                        local.get 0
                        i32.const 4
                        i32.le_u
                        br_if 1 (;@9;)
                        local.get 0
                        i32.const -5
                        i32.add
                        local.set 2
                        i32.const 65648
                        i32.load offset=1 align=1
                        local.set 1
                        block  ;; label = @11
                          block  ;; label = @12
                            block  ;; label = @13
                              block  ;; label = @14
                                i32.const 0
                                i32.load8_u offset=65648
                                br_table 0 (;@14;) 1 (;@13;) 2 (;@12;) 3 (;@11;) 12 (;@2;)
                              end
                              i64.const 0
                              local.set 3
                              block  ;; label = @14
                                local.get 1
                                i32.eqz
                                br_if 0 (;@14;)
                                i32.const 65648
                                i32.const 5
                                i32.add
                                local.set 0
                                loop  ;; label = @15
                                  local.get 0
                                  local.get 2
                                  i32.const 65584
                                  i32.const 0
                                  i32.const 64
                                  call 1
                                  local.set 4
                                  local.get 1
                                  i32.const -1
                                  i32.add
                                  local.tee 1
                                  br_if 0 (;@15;)
                                end
                                local.get 4
                                i64.const -1
                                i64.eq
                                br_if 0 (;@14;)
                                local.get 4
                                i64.const -5
                                i64.ge_u
                                br_if 6 (;@8;)
                                local.get 4
                                i64.const 64
                                local.get 4
                                i64.const 64
                                i64.lt_u
                                select
                                local.set 3
                              end
                              local.get 3
                              i32.const 65584
                              i64.extend_i32_u
                              i64.const 32
                              i64.shl
                              i64.or
                              return
                            end
                            local.get 2
                            i32.const 20
                            i32.le_u
                            br_if 5 (;@7;)
                            i64.const 0
                            local.set 3
                            block  ;; label = @13
                              local.get 1
                              i32.eqz
                              br_if 0 (;@13;)
                              local.get 0
                              i32.const -26
                              i32.add
                              local.set 2
                              i32.const 65648
                              i32.load8_u offset=5
                              local.set 0
                              i32.const 65648
                              i32.const 26
                              i32.add
                              local.set 5
                              i32.const 65648
                              i32.const 6
                              i32.add
                              local.set 6
                              loop  ;; label = @14
                                local.get 0
                                local.get 6
                                local.get 5
                                local.get 2
                                i32.const 65584
                                i32.const 64
                                call 2
                                local.set 4
                                local.get 1
                                i32.const -1
                                i32.add
                                local.tee 1
                                br_if 0 (;@14;)
                              end
                              local.get 4
                              i64.const -1
                              i64.eq
                              br_if 0 (;@13;)
                              local.get 4
                              i64.const -5
                              i64.ge_u
                              br_if 7 (;@6;)
                              local.get 4
                              i64.const 64
                              local.get 4
                              i64.const 64
                              i64.lt_u
                              select
                              local.set 3
                            end
                            local.get 3
                            i32.const 65584
                            i64.extend_i32_u
                            i64.const 32
                            i64.shl
                            i64.or
                            return
                          end
                          local.get 2
                          i32.const 52
                          i32.ne
                          br_if 6 (;@5;)
                          block  ;; label = @12
                            local.get 1
                            br_if 0 (;@12;)
                            i64.const 0
                            local.set 4
                            br 11 (;@1;)
                          end
                          i32.const 65648
                          i32.const 25
                          i32.add
                          local.set 2
                          i32.const 65648
                          i32.const 5
                          i32.add
                          local.set 0
                          loop  ;; label = @12
                            local.get 0
                            local.get 2
                            i32.const 65584
                            call 3
                            drop
                            local.get 1
                            i32.const -1
                            i32.add
                            local.tee 1
                            br_if 0 (;@12;)
                          end
                          i64.const 32
                          local.set 4
                          br 10 (;@1;)
                        end
                        local.get 2
                        i32.eqz
                        br_if 6 (;@4;)
                        local.get 0
                        i32.const -6
                        i32.add
                        local.tee 2
                        i32.const 65648
                        i32.load8_u offset=5
                        local.tee 1
                        i32.lt_u
                        br_if 6 (;@4;)
                        i32.const 65648
                        i32.const 6
                        i32.add
                        local.tee 0
                        local.get 1
                        local.get 0
                        local.get 1
                        i32.add
                        local.get 2
                        local.get 1
                        i32.sub
                        call 4
                        i64.eqz
                        i32.eqz
                        br_if 7 (;@3;)
                        i32.const 65584
                        i64.extend_i32_u
                        i64.const 32
                        i64.shl
                        return
                      end
                      unreachable
                    end
                    i32.const 65536
                    i32.const 9
                    call 7
                    unreachable
                  end
                  i32.const 65559
                  i32.const 11
                  call 7
                  unreachable
                end
                i32.const 65536
                i32.const 9
                call 7
                unreachable
              end
              i32.const 65559
              i32.const 11
              call 7
              unreachable
            end
            i32.const 65536
            i32.const 9
            call 7
            unreachable
          end
          i32.const 65536
          i32.const 9
          call 7
          unreachable
        end
        i32.const 65546
        i32.const 12
        call 7
        unreachable
      end
      i32.const 65536
      i32.const 9
      call 7
      unreachable
    end
    local.get 4
    i32.const 65584
    i64.extend_i32_u
    i64.const 32
    i64.shl
    i64.or)
  (func (;7;) (type 4) (param i32 i32)
    local.get 0
    local.get 1
    call 5
    unreachable)
  (table (;0;) 1 1 funcref)
  (memory (;0;) 2 256)
  (global (;0;) (mut i32) (i32.const 65536))
  (export "memory" (memory 0))
  (export "call" (func 6))
  (data (;0;) (i32.const 65536) "bad input\00storage full\00read failed\00"))
