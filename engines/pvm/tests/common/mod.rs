//! Shared by the test crates: the per-backend stamp (STYLE.md point 6).

/// Stamps every listed test body, a `fn name(backend: braid_pvm::Backend)`,
/// once per PVM backend as `<backend>::name` (polkavm's `run_tests!`), so
/// every backend runs the same tests. The recompiler adds its backend with
/// one line, `run_tests!(@on compiler, Compiler, [$($test),*]);`.
macro_rules! run_tests {
    ($($test:ident),* $(,)?) => {
        run_tests!(@on interpreter, Interpreter, [$($test),*]);
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
