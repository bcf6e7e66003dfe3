(module
  (type (;0;) (func (param i32 i32 i32) (result i64)))
  (type (;1;) (func (param i32) (result i64)))
  (type (;2;) (func (param i32 i32 i32 i32) (result i64)))
  (type (;3;) (func (param i32 i32 i32 i32 i32 i32) (result i64)))
  (type (;4;) (func (param i32 i32)))
  (type (;5;) (func (param i32 i32 i32 i32 i32) (result i64)))
  (type (;6;) (func (param i32 i32 i32) (result i32)))
  (type (;7;) (func (result i64)))
  (type (;8;) (func (param i32 i64 i64) (result i64)))
  (import "braid" "input" (func (;0;) (type 0)))
  (import "braid" "caller" (func (;1;) (type 1)))
  (import "braid" "storage_write" (func (;2;) (type 2)))
  (import "braid" "state_read" (func (;3;) (type 3)))
  (import "braid" "revert" (func (;4;) (type 4)))
  (import "braid" "storage_read" (func (;5;) (type 5)))
  (func (;6;) (type 6) (param i32 i32 i32) (result i32)
    (local i32 i32 i32)
    block  ;; label = @1
      local.get 2
      i32.eqz
      br_if 0 (;@1;)
      block  ;; label = @2
        block  ;; label = @3
          local.get 2
          i32.const 7
          i32.and
          local.tee 3
          br_if 0 (;@3;)
          local.get 0
          local.set 4
          local.get 2
          local.set 5
          br 1 (;@2;)
        end
        local.get 2
        i32.const -8
        i32.and
        local.set 5
        local.get 0
        local.set 4
        loop  ;; label = @3
          local.get 4
          local.get 1
          i32.load8_u
          i32.store8
          local.get 4
          i32.const 1
          i32.add
          local.set 4
          local.get 1
          i32.const 1
          i32.add
          local.set 1
          local.get 3
          i32.const -1
          i32.add
          local.tee 3
          br_if 0 (;@3;)
        end
      end
      local.get 2
      i32.const 8
      i32.lt_u
      br_if 0 (;@1;)
      loop  ;; label = @2
        local.get 4
        local.get 1
        i32.load8_u
        i32.store8
        local.get 4
        local.get 1
        i32.load8_u offset=1
        i32.store8 offset=1
        local.get 4
        local.get 1
        i32.load8_u offset=2
        i32.store8 offset=2
        local.get 4
        local.get 1
        i32.load8_u offset=3
        i32.store8 offset=3
        local.get 4
        local.get 1
        i32.load8_u offset=4
        i32.store8 offset=4
        local.get 4
        local.get 1
        i32.load8_u offset=5
        i32.store8 offset=5
        local.get 4
        local.get 1
        i32.load8_u offset=6
        i32.store8 offset=6
        local.get 4
        local.get 1
        i32.load8_u offset=7
        i32.store8 offset=7
        local.get 4
        i32.const 8
        i32.add
        local.set 4
        local.get 1
        i32.const 8
        i32.add
        local.set 1
        local.get 5
        i32.const -8
        i32.add
        local.tee 5
        br_if 0 (;@2;)
      end
    end
    local.get 0)
  (func (;7;) (type 7) (result i64)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i64 i64)
    global.get 0
    i32.const 80
    i32.sub
    local.tee 0
    global.set 0
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
                          block  ;; label = @12
                            block  ;; label = @13
                              block  ;; label = @14
                                i32.const 65696
                                i32.const 0
                                i32.const 0
                                call 0
                                i32.wrap_i64
                                local.tee 1
                                i32.const 65696
                                i32.add
                                local.tee 2
                                memory.size
                                i32.const 16
                                i32.shl
                                local.tee 3
                                i32.le_u
                                br_if 0 (;@14;)
                                local.get 2
                                local.get 3
                                i32.sub
                                i32.const 65535
                                i32.add
                                i32.const 16
                                i32.shr_u
                                memory.grow
                                i32.const -1
                                i32.eq
                                br_if 1 (;@13;)
                              end
                              local.get 1
                              i32.eqz
                              br_if 1 (;@12;)
                              i32.const 65696
                              i32.const 0
                              local.get 1
                              call 0
                              drop
                              block  ;; label = @14
                                block  ;; label = @15
                                  block  ;; label = @16
                                    block  ;; label = @17
                                      block  ;; label = @18
                                        block  ;; label = @19
                                          block  ;; label = @20
                                            i32.const 0
                                            i32.load8_u offset=65696
                                            br_table 0 (;@20;) 1 (;@19;) 2 (;@18;) 3 (;@17;) 4 (;@16;) 5 (;@15;) 19 (;@1;)
                                          end
                                          local.get 1
                                          i32.const 9
                                          i32.ne
                                          br_if 8 (;@11;)
                                          i32.const 65664
                                          i32.const 12
                                          local.get 0
                                          i32.const 8
                                          i32.add
                                          call 8
                                          drop
                                          local.get 0
                                          i32.load offset=8
                                          br_if 9 (;@10;)
                                          i32.const 65696
                                          i32.load8_u offset=1
                                          local.set 1
                                          i32.const 65696
                                          i32.load8_u offset=2
                                          local.set 2
                                          i32.const 65696
                                          i32.load8_u offset=3
                                          local.set 3
                                          i32.const 65696
                                          i32.load8_u offset=4
                                          local.set 4
                                          i32.const 65696
                                          i32.load8_u offset=5
                                          local.set 5
                                          i32.const 65696
                                          i32.load8_u offset=6
                                          local.set 6
                                          i32.const 65696
                                          i32.load8_u offset=7
                                          local.set 7
                                          i32.const 65696
                                          i32.load8_u offset=8
                                          local.set 8
                                          local.get 0
                                          i32.const 48
                                          i32.add
                                          call 1
                                          drop
                                          local.get 0
                                          local.get 8
                                          i32.store8 offset=23
                                          local.get 0
                                          local.get 7
                                          i32.store8 offset=22
                                          local.get 0
                                          local.get 6
                                          i32.store8 offset=21
                                          local.get 0
                                          local.get 5
                                          i32.store8 offset=20
                                          local.get 0
                                          local.get 4
                                          i32.store8 offset=19
                                          local.get 0
                                          local.get 3
                                          i32.store8 offset=18
                                          local.get 0
                                          local.get 2
                                          i32.store8 offset=17
                                          local.get 0
                                          local.get 1
                                          i32.store8 offset=16
                                          i32.const 65664
                                          i32.const 12
                                          local.get 0
                                          i32.const 16
                                          i32.add
                                          i32.const 8
                                          call 2
                                          i64.eqz
                                          i32.eqz
                                          br_if 10 (;@9;)
                                          local.get 0
                                          local.get 8
                                          i32.store8 offset=23
                                          local.get 0
                                          local.get 7
                                          i32.store8 offset=22
                                          local.get 0
                                          local.get 6
                                          i32.store8 offset=21
                                          local.get 0
                                          local.get 5
                                          i32.store8 offset=20
                                          local.get 0
                                          local.get 4
                                          i32.store8 offset=19
                                          local.get 0
                                          local.get 3
                                          i32.store8 offset=18
                                          local.get 0
                                          local.get 2
                                          i32.store8 offset=17
                                          local.get 0
                                          local.get 1
                                          i32.store8 offset=16
                                          local.get 0
                                          i32.const 48
                                          i32.add
                                          i32.const 20
                                          local.get 0
                                          i32.const 16
                                          i32.add
                                          i32.const 8
                                          call 2
                                          i64.eqz
                                          i32.eqz
                                          br_if 11 (;@8;)
                                          i32.const 65676
                                          i64.extend_i32_u
                                          i64.const 32
                                          i64.shl
                                          local.set 9
                                          br 5 (;@14;)
                                        end
                                        local.get 1
                                        i32.const 29
                                        i32.ne
                                        br_if 11 (;@7;)
                                        i32.const 65696
                                        i64.load offset=21 align=1
                                        local.set 9
                                        local.get 0
                                        i32.const 48
                                        i32.add
                                        call 1
                                        drop
                                        local.get 0
                                        i32.const 16
                                        i32.add
                                        i32.const 65536
                                        i32.const 5
                                        call 6
                                        local.tee 1
                                        i32.const 5
                                        i32.add
                                        local.get 0
                                        i32.const 48
                                        i32.add
                                        i32.const 20
                                        call 6
                                        drop
                                        i32.const 0
                                        local.get 0
                                        i32.const 48
                                        i32.add
                                        local.get 9
                                        local.get 1
                                        i32.const 25
                                        i32.const 0
                                        call 8
                                        call 9
                                        i64.store offset=65676 align=1
                                        i32.const 65676
                                        i64.extend_i32_u
                                        i64.const 32
                                        i64.shl
                                        i64.const 8
                                        i64.or
                                        local.set 9
                                        br 4 (;@14;)
                                      end
                                      local.get 1
                                      i32.const 50
                                      i32.ne
                                      br_if 11 (;@6;)
                                      i32.const 65696
                                      i64.load offset=21 align=1
                                      local.set 10
                                      i32.const 65696
                                      i32.load8_u offset=29
                                      local.set 1
                                      local.get 0
                                      i32.const 48
                                      i32.add
                                      call 1
                                      drop
                                      local.get 0
                                      i32.const 16
                                      i32.add
                                      i32.const 65536
                                      i32.const 5
                                      call 6
                                      local.tee 2
                                      i32.const 5
                                      i32.add
                                      local.get 0
                                      i32.const 48
                                      i32.add
                                      i32.const 20
                                      call 6
                                      drop
                                      i64.const 0
                                      local.set 9
                                      local.get 0
                                      i64.const 0
                                      i64.store offset=8
                                      block  ;; label = @18
                                        block  ;; label = @19
                                          block  ;; label = @20
                                            local.get 1
                                            i32.const 65696
                                            i32.const 30
                                            i32.add
                                            local.get 2
                                            i32.const 25
                                            local.get 0
                                            i32.const 8
                                            i32.add
                                            i32.const 8
                                            call 3
                                            i64.const 1
                                            i64.add
                                            local.tee 11
                                            i64.const 9
                                            i64.gt_u
                                            br_if 0 (;@20;)
                                            local.get 11
                                            i32.wrap_i64
                                            br_table 2 (;@18;) 0 (;@20;) 0 (;@20;) 0 (;@20;) 0 (;@20;) 0 (;@20;) 0 (;@20;) 0 (;@20;) 0 (;@20;) 1 (;@19;) 2 (;@18;)
                                          end
                                          i32.const 65617
                                          i32.const 13
                                          call 10
                                          unreachable
                                        end
                                        local.get 0
                                        i64.load offset=8
                                        local.set 9
                                      end
                                      i32.const 0
                                      local.get 0
                                      i32.const 48
                                      i32.add
                                      local.get 10
                                      local.get 9
                                      call 9
                                      i64.store offset=65676 align=1
                                      i32.const 65676
                                      i64.extend_i32_u
                                      i64.const 32
                                      i64.shl
                                      i64.const 8
                                      i64.or
                                      local.set 9
                                      br 3 (;@14;)
                                    end
                                    local.get 1
                                    i32.const 29
                                    i32.ne
                                    br_if 11 (;@5;)
                                    local.get 0
                                    i32.const 16
                                    i32.add
                                    i32.const 65536
                                    i32.const 5
                                    call 6
                                    local.tee 1
                                    i32.const 5
                                    i32.add
                                    i32.const 65696
                                    i32.const 1
                                    i32.add
                                    i32.const 20
                                    call 6
                                    drop
                                    local.get 0
                                    i32.const 65696
                                    i64.load offset=21 align=1
                                    i64.store offset=48 align=1
                                    local.get 1
                                    i32.const 25
                                    local.get 0
                                    i32.const 48
                                    i32.add
                                    i32.const 8
                                    call 2
                                    i64.eqz
                                    i32.eqz
                                    br_if 12 (;@4;)
                                    i32.const 65676
                                    i64.extend_i32_u
                                    i64.const 32
                                    i64.shl
                                    local.set 9
                                    br 2 (;@14;)
                                  end
                                  local.get 1
                                  i32.const 21
                                  i32.ne
                                  br_if 12 (;@3;)
                                  i32.const 0
                                  i32.const 65696
                                  i32.const 1
                                  i32.add
                                  i32.const 20
                                  i32.const 0
                                  call 8
                                  i64.store offset=65676 align=1
                                  i32.const 65676
                                  i64.extend_i32_u
                                  i64.const 32
                                  i64.shl
                                  i64.const 8
                                  i64.or
                                  local.set 9
                                  br 1 (;@14;)
                                end
                                local.get 1
                                i32.const 21
                                i32.ne
                                br_if 12 (;@2;)
                                local.get 0
                                i32.const 16
                                i32.add
                                i32.const 65536
                                i32.const 5
                                call 6
                                local.tee 1
                                i32.const 5
                                i32.add
                                i32.const 65696
                                i32.const 1
                                i32.add
                                i32.const 20
                                call 6
                                drop
                                i32.const 0
                                local.get 1
                                i32.const 25
                                i32.const 0
                                call 8
                                i64.store offset=65676 align=1
                                i32.const 65676
                                i64.extend_i32_u
                                i64.const 32
                                i64.shl
                                i64.const 8
                                i64.or
                                local.set 9
                              end
                              local.get 0
                              i32.const 80
                              i32.add
                              global.set 0
                              local.get 9
                              return
                            end
                            unreachable
                          end
                          i32.const 65551
                          i32.const 9
                          call 10
                          unreachable
                        end
                        i32.const 65551
                        i32.const 9
                        call 10
                        unreachable
                      end
                      i32.const 65652
                      i32.const 11
                      call 10
                      unreachable
                    end
                    i32.const 65567
                    i32.const 12
                    call 10
                    unreachable
                  end
                  i32.const 65567
                  i32.const 12
                  call 10
                  unreachable
                end
                i32.const 65551
                i32.const 9
                call 10
                unreachable
              end
              i32.const 65551
              i32.const 9
              call 10
              unreachable
            end
            i32.const 65551
            i32.const 9
            call 10
            unreachable
          end
          i32.const 65567
          i32.const 12
          call 10
          unreachable
        end
        i32.const 65551
        i32.const 9
        call 10
        unreachable
      end
      i32.const 65551
      i32.const 9
      call 10
      unreachable
    end
    i32.const 65551
    i32.const 9
    call 10
    unreachable)
  (func (;8;) (type 0) (param i32 i32 i32) (result i64)
    (local i32 i64 i64)
    global.get 0
    i32.const 16
    i32.sub
    local.tee 3
    global.set 0
    i64.const 0
    local.set 4
    local.get 3
    i64.const 0
    i64.store offset=8
    local.get 0
    local.get 1
    local.get 3
    i32.const 8
    i32.add
    i32.const 0
    i32.const 8
    call 5
    local.set 5
    block  ;; label = @1
      local.get 2
      i32.eqz
      br_if 0 (;@1;)
      local.get 2
      local.get 5
      i64.const -1
      i64.ne
      i32.store
    end
    block  ;; label = @1
      block  ;; label = @2
        block  ;; label = @3
          local.get 5
          i64.const 1
          i64.add
          local.tee 5
          i64.const 9
          i64.gt_u
          br_if 0 (;@3;)
          local.get 5
          i32.wrap_i64
          br_table 2 (;@1;) 0 (;@3;) 0 (;@3;) 0 (;@3;) 0 (;@3;) 0 (;@3;) 0 (;@3;) 0 (;@3;) 0 (;@3;) 1 (;@2;) 2 (;@1;)
        end
        i32.const 65580
        i32.const 13
        call 10
        unreachable
      end
      local.get 3
      i64.load offset=8
      local.set 4
    end
    local.get 3
    i32.const 16
    i32.add
    global.set 0
    local.get 4)
  (func (;9;) (type 8) (param i32 i64 i64) (result i64)
    (local i32 i32 i64)
    global.get 0
    i32.const 48
    i32.sub
    local.tee 3
    global.set 0
    local.get 3
    i32.const 65561
    i32.const 5
    call 6
    local.tee 4
    i32.const 5
    i32.add
    local.get 0
    i32.const 20
    call 6
    drop
    block  ;; label = @1
      block  ;; label = @2
        block  ;; label = @3
          block  ;; label = @4
            block  ;; label = @5
              block  ;; label = @6
                local.get 2
                local.get 4
                i32.const 25
                i32.const 0
                call 8
                local.tee 5
                i64.lt_u
                br_if 0 (;@6;)
                local.get 2
                local.get 5
                i64.sub
                local.get 1
                i64.lt_u
                br_if 0 (;@6;)
                local.get 3
                local.get 5
                local.get 1
                i64.add
                i64.store offset=40 align=1
                local.get 4
                i32.const 25
                local.get 3
                i32.const 40
                i32.add
                i32.const 8
                call 2
                i64.eqz
                i32.eqz
                br_if 1 (;@5;)
                local.get 0
                i32.const 20
                i32.const 0
                call 8
                local.tee 2
                local.get 1
                i64.lt_u
                br_if 2 (;@4;)
                local.get 3
                local.get 2
                local.get 1
                i64.sub
                i64.store offset=40 align=1
                local.get 0
                i32.const 20
                local.get 3
                i32.const 40
                i32.add
                i32.const 8
                call 2
                i64.eqz
                i32.eqz
                br_if 3 (;@3;)
                i32.const 65696
                i32.const 1
                i32.add
                local.tee 4
                i32.const 20
                i32.const 0
                call 8
                local.tee 2
                local.get 1
                i64.add
                local.tee 1
                local.get 2
                i64.lt_u
                br_if 4 (;@2;)
                local.get 3
                local.get 1
                i64.store offset=40 align=1
                local.get 4
                i32.const 20
                local.get 3
                i32.const 40
                i32.add
                i32.const 8
                call 2
                i64.eqz
                i32.eqz
                br_if 5 (;@1;)
                local.get 0
                i32.const 20
                i32.const 0
                call 8
                local.set 1
                local.get 3
                i32.const 48
                i32.add
                global.set 0
                local.get 1
                return
              end
              i32.const 65594
              i32.const 22
              call 10
              unreachable
            end
            i32.const 65567
            i32.const 12
            call 10
            unreachable
          end
          i32.const 65631
          i32.const 20
          call 10
          unreachable
        end
        i32.const 65567
        i32.const 12
        call 10
        unreachable
      end
      i32.const 65542
      i32.const 8
      call 10
      unreachable
    end
    i32.const 65567
    i32.const 12
    call 10
    unreachable)
  (func (;10;) (type 4) (param i32 i32)
    local.get 0
    local.get 1
    call 4
    unreachable)
  (table (;0;) 1 1 funcref)
  (memory (;0;) 2 256)
  (global (;0;) (mut i32) (i32.const 65536))
  (export "memory" (memory 0))
  (export "call" (func 7))
  (data (;0;) (i32.const 65536) "allow\00overflow\00bad input\00spent\00storage full\00corrupt value\00insufficient allowance\00bad allowance\00insufficient balance\00initialized\00total_supply"))
