//! The fast integration tests: one binary, organised by area. Run an area with
//! `cargo test -p falcon-users-tests --test integration -- client::`.

/// The generated client on the wire (httpmock): exact requests, decoded responses.
mod wire {
    mod aggregates;
    mod children;
    mod errors;
    mod fleet_groups;
    mod grants;
    mod legacy;
    mod oauth2;
    mod permissions_invitations;
    mod roles;
    mod sensor_download;
    mod users;
}

/// Decoding of realistic bodies into the generated types.
mod decode;

/// The ergonomic client: tokens, clouds, ids and paging, listings whatever the server does,
/// retries, secrets, bad input and broken servers.
mod client {
    mod access;
    mod answers;
    mod auth;
    mod bad_input;
    mod broken_servers;
    mod cloud;
    mod hostile;
    mod ids_paging;
    mod listings;
    mod pacing;
    mod raw;
    mod retry;
    mod security;
}

/// The simulator: every operation through the generated client (`ops`), the ergonomic client on
/// it (`e2e`, users named by login: `by_login`), injected faults (`faults`), FalconPy on it (`falconpy`), reads that lag writes (`lag`), hostile clients (`limits`), the everyday questions (`questions`), listings past the offset
/// ceiling (`listings`) and the workflows (`workflows`).
mod sim {
    mod access;
    mod answers;
    mod bulk;
    mod by_login;
    mod e2e;
    mod falconpy;
    mod faults;
    mod fleet_code;
    mod fql;
    mod lag;
    mod lag_workflows;
    mod limits;
    mod listings;
    mod ops;
    mod questions;
    mod roster;
    mod seeder;
    mod workflows;
}

/// Property tests (bounded, CPU only).
mod properties;

/// Module layering of the crates.
mod layers;

/// The spec's models are documented, and the docs reach the generated types.
mod spec;
