//! `braid-testlib-wrong-major`: exports a well-formed descriptor whose ABI
//! major is one more than Braid's, which the loader must refuse naming both
//! versions. Its functions are never called.

#![deny(unsafe_code)]

use braid_plugin_abi::{
    BRAID_PLUGIN_ABI_MAJOR, BRAID_PLUGIN_MAGIC, BraidBytes, BraidPluginDescriptor, StaticDescriptor,
};

static DESCRIPTOR: StaticDescriptor = StaticDescriptor(BraidPluginDescriptor {
    magic: BRAID_PLUGIN_MAGIC,
    abi_major: BRAID_PLUGIN_ABI_MAJOR + 1,
    abi_minor: 0,
    struct_size: size_of::<BraidPluginDescriptor>() as u32,
    reserved: 0,
    name: BraidBytes {
        ptr: b"future".as_ptr(),
        len: 6,
    },
    validate: None,
    call: None,
});

/// The descriptor symbol, announcing ABI major `BRAID_PLUGIN_ABI_MAJOR + 1`.
#[allow(unsafe_code, reason = "no_mangle: the exported descriptor symbol")]
#[unsafe(no_mangle)]
pub extern "C" fn braid_plugin_descriptor() -> *const BraidPluginDescriptor {
    DESCRIPTOR.as_ptr()
}
