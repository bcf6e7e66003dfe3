(module
  (type (;0;) (func (param i32 i32 i32) (result i64)))
  (type (;1;) (func (param i32 i32 i32 i32 i32 i32) (result i64)))
  (type (;2;) (func (param i32 i32 i32 i32) (result i64)))
  (type (;3;) (func (param i32 i32) (result i64)))
  (type (;4;) (func (param i32 i32)))
  (type (;5;) (func (param i32 i32 i32) (result i32)))
  (type (;6;) (func (result i64)))
  (import "braid" "input" (func (;0;) (type 0)))
  (import "braid" "keccak_256" (func (;1;) (type 0)))
  (import "braid" "evm_storage_read" (func (;2;) (type 0)))
  (import "braid" "state_read" (func (;3;) (type 1)))
  (import "braid" "storage_write" (func (;4;) (type 2)))
  (import "braid" "storage_delete" (func (;5;) (type 3)))
  (import "braid" "revert" (func (;6;) (type 4)))
  (func (;7;) (type 5) (param i32 i32 i32) (result i32)
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
  (func (;8;) (type 5) (param i32 i32 i32) (result i32)
    (local i32 i32 i32)
    block  ;; label = @1
      local.get 2
      i32.eqz
      br_if 0 (;@1;)
      local.get 0
      local.set 3
      local.get 2
      local.set 4
      block  ;; label = @2
        local.get 2
        i32.const 7
        i32.and
        local.tee 5
        i32.eqz
        br_if 0 (;@2;)
        local.get 2
        i32.const -8
        i32.and
        local.set 4
        local.get 0
        local.set 3
        loop  ;; label = @3
          local.get 3
          local.get 1
          i32.store8
          local.get 3
          i32.const 1
          i32.add
          local.set 3
          local.get 5
          i32.const -1
          i32.add
          local.tee 5
          br_if 0 (;@3;)
        end
      end
      local.get 2
      i32.const 8
      i32.lt_u
      br_if 0 (;@1;)
      loop  ;; label = @2
        local.get 3
        local.get 1
        i32.store8 offset=7
        local.get 3
        local.get 1
        i32.store8 offset=6
        local.get 3
        local.get 1
        i32.store8 offset=5
        local.get 3
        local.get 1
        i32.store8 offset=4
        local.get 3
        local.get 1
        i32.store8 offset=3
        local.get 3
        local.get 1
        i32.store8 offset=2
        local.get 3
        local.get 1
        i32.store8 offset=1
        local.get 3
        local.get 1
        i32.store8
        local.get 3
        i32.const 8
        i32.add
        local.set 3
        local.get 4
        i32.const -8
        i32.add
        local.tee 4
        br_if 0 (;@2;)
      end
    end
    local.get 0)
  (func (;9;) (type 6) (result i64)
    (local i32 i32 i32 i32 i64 i64)
    global.get 0
    i32.const 112
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
                  i32.const 66656
                  i32.const 0
                  i32.const 0
                  call 0
                  i32.wrap_i64
                  local.tee 1
                  i32.const 66656
                  i32.add
                  local.tee 2
                  memory.size
                  i32.const 16
                  i32.shl
                  local.tee 3
                  i32.le_u
                  br_if 0 (;@7;)
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
                  br_if 1 (;@6;)
                end
                local.get 1
                i32.eqz
                br_if 1 (;@5;)
                i32.const 66656
                i32.const 0
                local.get 1
                call 0
                drop
                local.get 1
                i32.const 61
                i32.lt_u
                br_if 1 (;@5;)
                i32.const 66656
                i32.load8_u offset=60
                local.tee 2
                i32.const 61
                i32.add
                local.get 1
                i32.ne
                br_if 1 (;@5;)
                local.get 0
                i32.const 48
                i32.add
                i32.const 0
                i32.const 64
                call 8
                local.tee 1
                i32.const 12
                i32.add
                i32.const 66656
                i32.const 20
                i32.add
                i32.const 20
                call 7
                drop
                local.get 1
                i32.const 64
                local.get 0
                i32.const 16
                i32.add
                call 1
                drop
                i32.const 66656
                local.get 0
                i32.const 16
                i32.add
                i32.const 65600
                call 2
                drop
                local.get 0
                i32.const 2
                i32.const 66656
                i32.const 40
                i32.add
                i32.const 66656
                i32.const 61
                i32.add
                local.get 2
                i32.const 65632
                i32.const 1024
                call 3
                local.tee 4
                i64.const -1
                i64.ne
                i32.store8 offset=15
                block  ;; label = @7
                  block  ;; label = @8
                    local.get 4
                    i64.const -1
                    i64.eq
                    br_if 0 (;@8;)
                    local.get 4
                    i64.const 1025
                    i64.ge_u
                    br_if 4 (;@4;)
                    i32.const 65550
                    i32.const 3
                    i32.const 65600
                    i32.const 32
                    call 4
                    i64.eqz
                    i32.eqz
                    br_if 7 (;@1;)
                    local.get 4
                    i64.const 32
                    i64.add
                    local.set 5
                    i32.const 65546
                    i32.const 3
                    i32.const 65632
                    local.get 4
                    i32.wrap_i64
                    call 4
                    local.set 4
                    br 1 (;@7;)
                  end
                  i32.const 65550
                  i32.const 3
                  i32.const 65600
                  i32.const 32
                  call 4
                  i64.eqz
                  i32.eqz
                  br_if 6 (;@1;)
                  i64.const 32
                  local.set 5
                  i32.const 65546
                  i32.const 3
                  call 5
                  local.set 4
                end
                local.get 4
                i64.eqz
                i32.eqz
                br_if 3 (;@3;)
                i32.const 65587
                i32.const 9
                local.get 0
                i32.const 15
                i32.add
                i32.const 1
                call 4
                i64.eqz
                i32.eqz
                br_if 4 (;@2;)
                local.get 0
                i32.const 112
                i32.add
                global.set 0
                local.get 5
                i32.const 65600
                i64.extend_i32_u
                i64.const 32
                i64.shl
                i64.or
                return
              end
              unreachable
            end
            i32.const 65536
            i32.const 9
            call 10
            unreachable
          end
          i32.const 65567
          i32.const 19
          call 10
          unreachable
        end
        i32.const 65554
        i32.const 12
        call 10
        unreachable
      end
      i32.const 65554
      i32.const 12
      call 10
      unreachable
    end
    i32.const 65554
    i32.const 12
    call 10
    unreachable)
  (func (;10;) (type 4) (param i32 i32)
    local.get 0
    local.get 1
    call 6
    unreachable)
  (table (;0;) 1 1 funcref)
  (memory (;0;) 2 256)
  (global (;0;) (mut i32) (i32.const 65536))
  (export "memory" (memory 0))
  (export "call" (func 9))
  (data (;0;) (i32.const 65536) "bad input\00pvm\00evm\00storage full\00pvm value too large\00pvm_found\00"))
