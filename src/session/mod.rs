//! Session cookie formats: a plain JWT, or an iron-sealed (`Fe26.2`) cookie such as WorkOS
//! AuthKit's `wos-session`.

pub mod iron;
