//! [`Clock`]: the one source of "now" for a layer: token times, seal expiry and policies.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a layer reads the current time. The system clock by default; tests and simulations
/// inject their own with [`Clock::from_fn`] and
/// [`AuthLayerBuilder::clock`](crate::AuthLayerBuilder::clock). Everything the layer does with
/// time (`exp`, `nbf`, `max_age`, AuthKit seal expiry) reads this one clock.
///
/// ```
/// use axum_session_mfa::Clock;
/// let frozen = Clock::from_fn(|| 1_700_000_000);
/// assert_eq!(frozen.now(), 1_700_000_000);
/// assert_eq!(frozen.now_millis(), 1_700_000_000_000);
/// ```
#[derive(Clone, Default)]
pub struct Clock(Source);

#[derive(Clone, Default)]
enum Source {
    #[default]
    System,
    Custom(Arc<dyn Fn() -> u64 + Send + Sync>),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock that reads `now` (seconds since the Unix epoch).
    pub fn from_fn(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Source::Custom(Arc::new(now)))
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        match &self.0 {
            Source::System => system_millis() / 1000,
            Source::Custom(f) => f(),
        }
    }

    /// Milliseconds since the Unix epoch (whole seconds for a [`from_fn`](Self::from_fn) clock).
    pub fn now_millis(&self) -> u64 {
        match &self.0 {
            Source::System => system_millis(),
            Source::Custom(f) => f().saturating_mul(1000),
        }
    }
}

fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Source::System => "Clock::system()",
            Source::Custom(_) => "Clock::from_fn(..)",
        })
    }
}
