//! `braid-benches`: measurement code shared by the criterion benches in
//! `benches/` and the `braid bench` command.
//!
//! What it is: [`cross_engine`], the cross-engine read benchmark of RFC 0004
//! (every ordered pair of engines, warm and cold, against the reading
//! engine's native read), with its Markdown table and SVG chart.
//!
//! What it does not do: it asserts no timings; figures go to
//! `benches/RESULTS.md`. It sits at the top of the layer graph and may
//! depend on every Braid crate.

pub mod cross_engine;
