//! The integration tests: one binary (one link step), a module per area.
//!
//! Plain `cargo test` runs every Rust-only test. The tests that drive the npm peers in
//! `tests/interop` (`oidc-provider`, `jose`, `iron-session`, `@workos-inc/node`) need the
//! private `__interop` feature (the README's test command enables it) and fail, with the install command,
//! when Node.js or the packages are missing.
#![allow(dead_code)]

mod common;
mod prerequisites;

mod alloc;
mod audit;
#[cfg(feature = "authkit")]
mod authkit;
#[cfg(feature = "authkit")]
mod authkit_fuzz;
mod cache;
mod context;
mod cross_origin;
#[cfg(feature = "jwks")]
mod demo;
mod dpop;
#[cfg(feature = "jwks")]
mod examples;
mod fuzz_parsing;
mod guard;
#[cfg(feature = "jwks")]
mod jwks;
mod mcp;
#[cfg(feature = "jwks")]
mod mcp_example;
#[cfg(feature = "redis")]
mod redis_tls;
mod resource;
#[cfg(feature = "revocation")]
mod revocation;
mod sources;
mod stepup;
mod verify;
#[cfg(feature = "lifecycle")]
mod workos_standin;

#[cfg(all(feature = "__interop", feature = "lifecycle"))]
mod browser;
#[cfg(all(feature = "__interop", feature = "lifecycle", feature = "redis"))]
mod cluster;
#[cfg(all(feature = "__interop", feature = "authkit"))]
mod interop_authkit;
#[cfg(feature = "__interop")]
mod interop_dpop;
#[cfg(all(feature = "__interop", feature = "jwks"))]
mod interop_jose;
#[cfg(all(feature = "__interop", feature = "jwks"))]
mod interop_mcp;
#[cfg(all(feature = "__interop", feature = "jwks"))]
mod interop_oidc;
#[cfg(feature = "__interop")]
mod interop_support;
#[cfg(all(feature = "__interop", feature = "lifecycle"))]
mod lifecycle_oidc;
#[cfg(feature = "lifecycle")]
mod lifecycle_support;
#[cfg(feature = "lifecycle")]
mod lifecycle_workos;
#[cfg(all(feature = "__interop", feature = "lifecycle", feature = "revocation"))]
mod shared_signals;
#[cfg(all(feature = "lifecycle", feature = "redis"))]
mod sign_out;
#[cfg(all(feature = "lifecycle", feature = "revocation"))]
mod workos_events;
