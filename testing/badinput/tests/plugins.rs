//! The plugin corpus through `braid_plugin_loader::load`: each library is
//! refused with a typed [`PluginError`] naming the path or the value, and
//! the process goes on (a refused library is never called).

use braid_badinput::{cases, plugin};
use braid_core::EngineId;
use braid_plugin_loader::{PluginError, load};

#[test]
fn plugin_corpus_is_refused_by_the_loader() {
    for case in cases("plugins") {
        let dir = tempfile::tempdir().unwrap();
        let pinned = plugin::materialize(&case, dir.path());
        let err: PluginError = load(&pinned.path, &pinned.sha256, EngineId(pinned.engine_id()))
            .map(|engine| panic!("{case}: loaded as {engine:?}"))
            .unwrap_err();
        let path = pinned.path.display().to_string();
        case.assert_named(&err.to_string(), &[("path", &path)]);
    }
}
