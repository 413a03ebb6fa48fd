//! Support for the tests in `tests/`.

pub mod module_edges;
