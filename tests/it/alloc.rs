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
