//! `braid-testlib-no-descriptor`: a valid shared library that exports a
//! function, but not `braid_plugin_descriptor`; the loader must refuse it
//! naming the path.

#![deny(unsafe_code)]

/// Some export that is not the descriptor.
#[allow(unsafe_code, reason = "no_mangle: an exported symbol")]
#[unsafe(no_mangle)]
pub extern "C" fn braid_not_a_plugin() -> u32 {
    42
}
