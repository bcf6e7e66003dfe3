//! Shared by the test crates: the per-backend stamp (STYLE.md point 6).

/// Stamps every listed test body, a `fn name(backend: braid_pvm::Backend)`,
/// once per PVM backend as `<backend>::name` (polkavm's `run_tests!`), so
/// every backend runs the same tests: the interpreter everywhere, the x86-64
/// recompiler where it can run.
macro_rules! run_tests {
    ($($test:ident),* $(,)?) => {
        run_tests!(@on interpreter, Interpreter, [$($test),*]);
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        run_tests!(@on compiler, Compiler, [$($test),*]);
    };
    (@on $module:ident, $backend:ident, [$($test:ident),*]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test(braid_pvm::Backend::$backend);
                }
            )*
        }
    };
}
