//! The Rust definitions match `include/braid_plugin.h`: every size and offset
//! the header documents, and every constant it defines, parsed from the header.

use std::mem::{offset_of, size_of};

use braid_plugin_abi::{
    BRAID_IDENTITY_LEN, BRAID_PLUGIN_ABI_MAJOR, BRAID_PLUGIN_ABI_MINOR, BRAID_PLUGIN_HEADER_SIZE,
    BRAID_PLUGIN_MAGIC, BraidBytes, BraidHostVtable, BraidMessage, BraidPluginDescriptor,
    BraidSink, DESCRIPTOR_SYMBOL, host, status,
};

const HEADER: &str = include_str!("../include/braid_plugin.h");

/// The value of `#define NAME value` in the header, as an integer.
fn define(name: &str) -> u64 {
    let line = HEADER
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name) && l.starts_with("#define"))
        .unwrap_or_else(|| panic!("braid_plugin.h defines no {name}"));
    let value = line
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches('u');
    match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => value.parse().unwrap(),
    }
}

#[test]
fn header_struct_never_moves() {
    assert_eq!(offset_of!(BraidPluginDescriptor, magic), 0);
    assert_eq!(offset_of!(BraidPluginDescriptor, abi_major), 4);
    assert_eq!(offset_of!(BraidPluginDescriptor, abi_minor), 6);
    assert_eq!(offset_of!(BraidPluginDescriptor, struct_size), 8);
    assert_eq!(offset_of!(BraidPluginDescriptor, reserved), 12);
    assert_eq!(offset_of!(BraidPluginDescriptor, name), 16);
    assert_eq!(BRAID_PLUGIN_HEADER_SIZE as usize, 16);
}

#[cfg(target_pointer_width = "64")]
#[test]
fn sizes_and_offsets_match_the_c_header() {
    assert_eq!(size_of::<BraidBytes>(), 16);
    assert_eq!(offset_of!(BraidBytes, len), 8);
    assert_eq!(size_of::<BraidSink>(), 16);
    assert_eq!(offset_of!(BraidSink, write), 8);

    assert_eq!(size_of::<BraidPluginDescriptor>(), 48);
    assert_eq!(offset_of!(BraidPluginDescriptor, validate), 32);
    assert_eq!(offset_of!(BraidPluginDescriptor, call), 40);

    assert_eq!(size_of::<BraidMessage>(), 112);
    assert_eq!(offset_of!(BraidMessage, caller), 0);
    assert_eq!(offset_of!(BraidMessage, target), 20);
    assert_eq!(offset_of!(BraidMessage, value), 40);
    assert_eq!(offset_of!(BraidMessage, gas_limit), 72);
    assert_eq!(offset_of!(BraidMessage, input), 80);
    assert_eq!(offset_of!(BraidMessage, code), 96);

    assert_eq!(size_of::<BraidHostVtable>(), 64);
    assert_eq!(offset_of!(BraidHostVtable, reserved), 4);
    assert_eq!(offset_of!(BraidHostVtable, storage_get), 8);
    assert_eq!(offset_of!(BraidHostVtable, storage_set), 16);
    assert_eq!(offset_of!(BraidHostVtable, storage_delete), 24);
    assert_eq!(offset_of!(BraidHostVtable, state_read), 32);
    assert_eq!(offset_of!(BraidHostVtable, charge_gas), 40);
    assert_eq!(offset_of!(BraidHostVtable, gas_left), 48);
    assert_eq!(offset_of!(BraidHostVtable, log), 56);
}

#[test]
fn constants_match_the_c_header() {
    assert_eq!(define("BRAID_PLUGIN_MAGIC"), u64::from(BRAID_PLUGIN_MAGIC));
    assert_eq!(BRAID_PLUGIN_MAGIC.to_le_bytes(), *b"BRPL");
    assert_eq!(
        define("BRAID_PLUGIN_ABI_MAJOR"),
        u64::from(BRAID_PLUGIN_ABI_MAJOR)
    );
    assert_eq!(
        define("BRAID_PLUGIN_ABI_MINOR"),
        u64::from(BRAID_PLUGIN_ABI_MINOR)
    );
    assert_eq!(
        define("BRAID_PLUGIN_HEADER_SIZE"),
        u64::from(BRAID_PLUGIN_HEADER_SIZE)
    );
    assert_eq!(define("BRAID_IDENTITY_LEN"), BRAID_IDENTITY_LEN as u64);
    for (name, value) in [
        ("BRAID_STATUS_HALT", status::HALT),
        ("BRAID_STATUS_OK", status::OK),
        ("BRAID_STATUS_REVERT", status::REVERT),
        ("BRAID_STATUS_OUT_OF_GAS", status::OUT_OF_GAS),
        ("BRAID_STATUS_TRAP", status::TRAP),
        ("BRAID_STATUS_INVALID_CODE", status::INVALID_CODE),
        ("BRAID_STATUS_INTERNAL_ERROR", status::INTERNAL_ERROR),
        ("BRAID_STATUS_HOST_ERROR", status::HOST_ERROR),
        ("BRAID_STATUS_PANIC", status::PANIC),
        ("BRAID_HOST_OK", host::OK),
        ("BRAID_HOST_NOT_FOUND", host::NOT_FOUND),
        ("BRAID_HOST_OUT_OF_GAS", host::OUT_OF_GAS),
        ("BRAID_HOST_LIMIT", host::LIMIT),
        ("BRAID_HOST_ERROR", host::ERROR),
    ] {
        assert_eq!(define(name), u64::from(value), "{name}");
    }
    let symbol = std::str::from_utf8(&DESCRIPTOR_SYMBOL[..DESCRIPTOR_SYMBOL.len() - 1]).unwrap();
    assert!(HEADER.contains(&format!("BRAID_PLUGIN_DESCRIPTOR_SYMBOL \"{symbol}\"")));
}

#[test]
fn internal_statuses_are_not_outcomes() {
    for s in [
        status::HALT,
        status::REVERT,
        status::OUT_OF_GAS,
        status::TRAP,
        status::INVALID_CODE,
    ] {
        assert!(!status::is_internal(s));
    }
    for s in [
        status::INTERNAL_ERROR,
        status::HOST_ERROR,
        status::PANIC,
        5,
        0xFF,
    ] {
        assert!(status::is_internal(s));
    }
}

/// The C compiler agrees with the documented layout: the header compiles
/// (as C11 and as C++) and `offsetof`/`sizeof` match, checked with static
/// assertions. `cc` is the linker Rust uses on this platform, so it exists.
#[cfg(all(unix, target_pointer_width = "64"))]
#[test]
fn the_c_header_compiles_with_the_documented_layout() {
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    let checks = [
        ("sizeof(BraidBytes)", 16),
        ("sizeof(BraidSink)", 16),
        ("sizeof(BraidPluginDescriptor)", 48),
        ("offsetof(BraidPluginDescriptor, abi_major)", 4),
        ("offsetof(BraidPluginDescriptor, abi_minor)", 6),
        ("offsetof(BraidPluginDescriptor, struct_size)", 8),
        ("offsetof(BraidPluginDescriptor, name)", 16),
        ("offsetof(BraidPluginDescriptor, validate)", 32),
        ("offsetof(BraidPluginDescriptor, call)", 40),
        ("sizeof(BraidMessage)", 112),
        ("offsetof(BraidMessage, gas_limit)", 72),
        ("offsetof(BraidMessage, input)", 80),
        ("offsetof(BraidMessage, code)", 96),
        ("sizeof(BraidHostVtable)", 64),
        ("offsetof(BraidHostVtable, storage_get)", 8),
        ("offsetof(BraidHostVtable, state_read)", 32),
        ("offsetof(BraidHostVtable, log)", 56),
    ];
    let mut source = String::from("#include <stddef.h>\n#include \"braid_plugin.h\"\n");
    for (expr, value) in checks {
        source += &format!("_Static_assert({expr} == {value}, \"{expr}\");\n");
    }
    let dir = std::env::temp_dir().join(format!("braid-abi-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("layout.c");
    std::fs::write(&file, source).unwrap();
    let out = std::process::Command::new("cc")
        .args([
            "-std=c11",
            "-Wall",
            "-Werror",
            "-fsyntax-only",
            "-I",
            include,
        ])
        .arg(&file)
        .output()
        .expect("running `cc` (the C compiler Rust links with)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "braid_plugin.h disagrees with its documented layout:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
