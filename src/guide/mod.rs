//! Guides: the documentation beyond the crate page, one module per topic.
//!
//! These modules hold no items. Each one is the text of a file in the repository's `docs/`
//! folder (which is what GitHub shows), and its examples are compiled and run with the crate's
//! doc tests. Start with the crate page (the README): what the crate is, the quick start and
//! the BFF setups.
//!
//! A guide whose examples need a feature that this build does not have shows a note instead;
//! docs.rs builds with every feature.

// Every guide starts with `links.md`: the targets of its links on docs.rs. A guide's own link
// definitions (at its end) are the files on GitHub; CommonMark keeps the first definition of a
// label, so rustdoc takes these. `concat!` names the doc tests after this file, not links.md.

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/configuration.md")]
pub mod configuration {}

#[cfg_attr(
    feature = "jwks",
    doc = concat!(include_str!("links.md")),
    doc = include_str!("../../docs/providers.md")
)]
#[cfg_attr(
    not(feature = "jwks"),
    doc = "Identity providers and remote keys: this guide needs the `jwks` feature (on by default)."
)]
pub mod providers {}

#[cfg_attr(
    all(feature = "authkit", feature = "jwks"),
    doc = concat!(include_str!("links.md")),
    doc = include_str!("../../docs/authkit.md")
)]
#[cfg_attr(
    not(all(feature = "authkit", feature = "jwks")),
    doc = "WorkOS AuthKit sessions: this guide needs the `authkit` and `jwks` features (on by default)."
)]
pub mod authkit {}

#[cfg_attr(
    feature = "lifecycle",
    doc = concat!(include_str!("links.md")),
    doc = include_str!("../../docs/lifecycle.md")
)]
#[cfg_attr(
    not(feature = "lifecycle"),
    doc = "Session lifecycle: this guide needs the `lifecycle` feature (on by default)."
)]
pub mod lifecycle {}

#[cfg_attr(
    all(feature = "redis", feature = "lifecycle"),
    doc = concat!(include_str!("links.md")),
    doc = include_str!("../../docs/many_instances.md")
)]
#[cfg_attr(
    not(all(feature = "redis", feature = "lifecycle")),
    doc = "Many instances (Redis): this guide needs the `redis` and `lifecycle` features."
)]
pub mod many_instances {}

#[cfg_attr(
    all(feature = "revocation", feature = "lifecycle"),
    doc = concat!(include_str!("links.md")),
    doc = include_str!("../../docs/shared_signals.md")
)]
#[cfg_attr(
    not(all(feature = "revocation", feature = "lifecycle")),
    doc = "OpenID Shared Signals: this guide needs the `revocation` and `lifecycle` features (on by default)."
)]
pub mod shared_signals {}

#[cfg_attr(
    all(feature = "redis", feature = "lifecycle"),
    doc = concat!(include_str!("links.md")),
    doc = include_str!("../../docs/idp_events.md")
)]
#[cfg_attr(
    not(all(feature = "redis", feature = "lifecycle")),
    doc = "Revocation from the identity provider: this guide needs the `redis` and `lifecycle` features."
)]
pub mod idp_events {}

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/dpop.md")]
pub mod dpop {}

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/policies.md")]
pub mod policies {}

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/mcp.md")]
pub mod mcp {}

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/audit.md")]
pub mod audit {}

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/security.md")]
pub mod security {}

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/rejections.md")]
pub mod rejections {}

#[doc = concat!(include_str!("links.md"))]
#[doc = include_str!("../../docs/contributing.md")]
pub mod contributing {}

#[cfg(test)]
mod tests;
