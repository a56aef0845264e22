//! Policy evaluation allocates nothing on the pass path (a counting global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use axum_session_mfa::MfaPolicy;
use jsonwebtoken::Algorithm;
use serde_json::json;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed)
}

#[tokio::test]
async fn policy_evaluation_allocates_nothing_on_pass() {
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let mut c = mfa_claims();
    c["acr"] = json!("phr");
    c["amr"] = json!(["pwd", "otp", "hwk", "mfa"]);
    let ctx = layer.verify_token(&hs256(&c)).await.unwrap();
    let policies = [
        MfaPolicy::new(),
        MfaPolicy::builder().any_of(["hwk", "swk"]).build(),
        MfaPolicy::builder().all_of(["pwd", "otp"]).build(),
        MfaPolicy::builder().any_of(["face"]).acr_values(["urn:x", "phr"]).build(),
        MfaPolicy::builder().max_age(Duration::from_secs(300)).build(),
        MfaPolicy::builder()
            .require("admin", |ctx| ctx.has_role("admin") && ctx.has_amr("mfa"))
            .build(),
    ];
    for policy in &policies {
        let n = allocations_during(|| {
            for _ in 0..100 {
                assert!(policy.evaluate(&ctx).is_ok());
            }
        });
        assert_eq!(n, 0, "{policy:?} allocated {n} times");
    }
    // The counter works: a Vec allocates, and a denial clones its owned rule name.
    let deny = MfaPolicy::builder().require(String::from("owned-rule"), |_| false).build();
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 16]))) > 0);
    assert!(allocations_during(|| assert!(deny.evaluate(&ctx).is_err())) > 0);
}

/// The per-request revocation check (`Revocations::check`: an `arc_swap` snapshot load and two
/// hash lookups) allocates nothing, on a set of 1,000 revoked sessions and 100 revoked users:
/// not on the pass path, and not on a refusal either (`AuthError::SessionRevoked` is a unit
/// variant), whether by `sid`, by `sub` or by a sign-out entry.
#[cfg(feature = "revocation")]
#[tokio::test]
async fn revocation_check_allocates_nothing() {
    use axum_session_mfa::store::MemoryStore;
    use axum_session_mfa::{AuthError, Revocations};

    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(revocations.keep_current());
    for i in 0..1_000 {
        revocations.revoke_session(&format!("session_{i}")).await.unwrap();
    }
    for i in 0..100 {
        revocations.revoke_user(&format!("user_{i}")).await.unwrap();
    }
    // A sign-out entry (tokens issued until now): its refusal also reads `iat`.
    revocations.sign_out_session("session_signed_out").await.unwrap();
    // claims(): sid "session_abc", sub "user_123": neither is revoked.
    let live = layer.verify_token(&hs256(&claims())).await.unwrap();
    let mut c = claims();
    c["sid"] = json!("session_517");
    let by_sid = layer.verify_token(&hs256(&c)).await.unwrap();
    let mut c = claims();
    c["sub"] = json!("user_42");
    c["sid"] = json!("session_not_revoked");
    let by_sub = layer.verify_token(&hs256(&c)).await.unwrap();
    let mut c = claims();
    c["sid"] = json!("session_signed_out");
    let signed_out = layer.verify_token(&hs256(&c)).await.unwrap();
    let mut c = claims();
    c.as_object_mut().unwrap().remove("sid");
    let no_sid = layer.verify_token(&hs256(&c)).await.unwrap();

    // The outcomes, outside the count (this also touches the thread's arc_swap slot, which the
    // revocations above already did).
    assert_eq!(revocations.check(&live), Ok(()));
    assert_eq!(revocations.check(&no_sid), Ok(()));
    assert_eq!(revocations.check(&by_sid), Err(AuthError::SessionRevoked));
    assert_eq!(revocations.check(&by_sub), Err(AuthError::SessionRevoked));
    assert_eq!(revocations.check(&signed_out), Err(AuthError::SessionRevoked));

    let n = allocations_during(|| {
        for _ in 0..100 {
            assert!(std::hint::black_box(revocations.check(&live)).is_ok());
            assert!(std::hint::black_box(revocations.check(&no_sid)).is_ok());
        }
    });
    assert_eq!(n, 0, "the pass path of Revocations::check allocated {n} times");
    for (name, ctx) in [("sid", &by_sid), ("sub", &by_sub), ("sign-out", &signed_out)] {
        let n = allocations_during(|| {
            for _ in 0..100 {
                let refused = std::hint::black_box(revocations.check(ctx));
                assert!(matches!(refused, Err(AuthError::SessionRevoked)));
            }
        });
        assert_eq!(n, 0, "a refusal by {name} allocated {n} times");
    }
    // The counter works here too: a revocation clones the snapshot, and a String allocates.
    assert!(allocations_during(|| drop(std::hint::black_box(String::from("x")))) > 0);
    let n = allocations_during(|| {
        let revoke = revocations.revoke_session("session_counted");
        // The in-memory backend never waits: one poll completes it.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut revoke = std::pin::pin!(revoke);
        assert!(revoke.as_mut().poll(&mut cx).is_ready());
    });
    assert!(n > 0);
}
