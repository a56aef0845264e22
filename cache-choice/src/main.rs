//! Which concurrent cache crate backs the verified-token cache (issue 10)?
//!
//! Compares `quick_cache` 0.7, `moka` 0.12 and `mini-moka` 0.10 with the token cache's shapes:
//! keys are 800-byte JWT-like `String`s, values are `Arc<[u8; 64]>` (a cheap clone, like the
//! `Arc`-backed `AuthContext`), each entry weighs `2 * key_len + 512` bytes, and every cache is
//! bounded at 16 MiB of weight (sized for 10,000 entries; with 2,112-byte entries the weight
//! bound holds about 7,943).
//!
//! `cargo run --release --manifest-path cache-choice/Cargo.toml` prints one table per
//! measurement. Every table compares the crates within the same run; read the ratios. The
//! memory figures come from one child process per cache (this binary re-runs itself with
//! `--mem NAME`), so each cache starts from a fresh heap.
//!
//! moka and mini-moka apply admission and eviction in batches ("pending tasks"), run by the
//! calling threads when their logs fill or a timer passes. Where a figure is about the state of
//! the cache (sizes, memory), `run_pending_tasks()` (moka) or `sync()` (mini-moka) is called
//! first; in timed loops that call is inside the timed region, so its cost is counted.

// mini-moka looks keys up by `&String` only (`Arc<K>: Borrow<Q>`), so the trait takes one.
#![allow(clippy::ptr_arg)]

use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mini_moka::sync::ConcurrentCacheExt;

type Val = Arc<[u8; 64]>;

const KEY_LEN: usize = 800;
const MAX_ENTRIES: usize = 10_000;
const MAX_BYTES: u64 = 16 * 1024 * 1024;

fn weight_of(key: &str) -> u64 {
    2 * key.len() as u64 + 512
}

// ---------------------------------------------------------------------------------------------
// Keys: JWT-like, 800 bytes, distinct for distinct `i`.

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The base64url of `{"alg":"RS256","typ":"JWT"}`: every token shares it, as real ones do.
const HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";

/// The `i`-th token: header, a payload that starts with `i` (so tokens are distinct) and a
/// 342-character signature (an RS256 one), 800 bytes in all.
fn token(i: u64, seed: u64) -> String {
    let mut s = String::with_capacity(KEY_LEN);
    s.push_str(HEADER);
    s.push('.');
    s.push_str("eyJzdWIiOi");
    for shift in (0..11).rev() {
        s.push(B64[((i >> (shift * 6)) & 63) as usize] as char);
    }
    let payload_end = KEY_LEN - 343;
    let mut st = i ^ seed.rotate_left(17);
    let mut bits = 0u64;
    let mut left = 0;
    let mut next = |st: &mut u64| {
        if left == 0 {
            bits = splitmix(st);
            left = 10;
        }
        left -= 1;
        let c = B64[(bits & 63) as usize] as char;
        bits >>= 6;
        c
    };
    while s.len() < payload_end {
        s.push(next(&mut st));
    }
    s.push('.');
    while s.len() < KEY_LEN {
        s.push(next(&mut st));
    }
    debug_assert_eq!(s.len(), KEY_LEN);
    s
}

fn val(i: u64) -> Val {
    Arc::new([i as u8; 64])
}

// ---------------------------------------------------------------------------------------------
// The caches, behind one small trait (each call is monomorphised).

trait Bench: Send + Sync + 'static {
    fn get(&self, key: &String) -> Option<Val>;
    fn insert(&self, key: String, v: Val);
    /// Applies pending admission and eviction (moka, mini-moka); nothing for quick_cache.
    fn maintain(&self);
    fn entries(&self) -> u64;
    fn weight(&self) -> u64;
}

#[derive(Clone)]
struct Weigh;

impl quick_cache::Weighter<String, Val> for Weigh {
    fn weight(&self, key: &String, _: &Val) -> u64 {
        weight_of(key)
    }
}

type Quick = quick_cache::sync::Cache<String, Val, Weigh>;

fn quick() -> Quick {
    quick_cache::sync::Cache::with_weighter(MAX_ENTRIES, MAX_BYTES, Weigh)
}

impl Bench for Quick {
    fn get(&self, key: &String) -> Option<Val> {
        // Looks up by `&str`, as the layer does with the header's token.
        quick_cache::sync::Cache::get(self, key.as_str())
    }
    fn insert(&self, key: String, v: Val) {
        quick_cache::sync::Cache::insert(self, key, v)
    }
    fn maintain(&self) {}
    fn entries(&self) -> u64 {
        self.len() as u64
    }
    fn weight(&self) -> u64 {
        quick_cache::sync::Cache::weight(self)
    }
}

fn moka_with<S: BuildHasher + Clone + Send + Sync + 'static>(
    hasher: S,
) -> moka::sync::Cache<String, Val, S> {
    moka::sync::Cache::builder()
        .max_capacity(MAX_BYTES)
        .initial_capacity(MAX_ENTRIES)
        .weigher(|k: &String, _: &Val| weight_of(k) as u32)
        .build_with_hasher(hasher)
}

impl<S: BuildHasher + Clone + Send + Sync + 'static> Bench for moka::sync::Cache<String, Val, S> {
    fn get(&self, key: &String) -> Option<Val> {
        moka::sync::Cache::get(self, key.as_str())
    }
    fn insert(&self, key: String, v: Val) {
        moka::sync::Cache::insert(self, key, v)
    }
    fn maintain(&self) {
        self.run_pending_tasks()
    }
    fn entries(&self) -> u64 {
        self.entry_count()
    }
    fn weight(&self) -> u64 {
        self.weighted_size()
    }
}

fn mini_with<S: BuildHasher + Clone + Send + Sync + 'static>(
    hasher: S,
) -> mini_moka::sync::Cache<String, Val, S> {
    mini_moka::sync::Cache::builder()
        .max_capacity(MAX_BYTES)
        .initial_capacity(MAX_ENTRIES)
        .weigher(|k: &String, _: &Val| weight_of(k) as u32)
        .build_with_hasher(hasher)
}

impl<S: BuildHasher + Clone + Send + Sync + 'static> Bench
    for mini_moka::sync::Cache<String, Val, S>
{
    fn get(&self, key: &String) -> Option<Val> {
        // mini-moka needs `Arc<K>: Borrow<Q>`: a `&String`, not a `&str` (see the `&str` row).
        mini_moka::sync::Cache::get(self, key)
    }
    fn insert(&self, key: String, v: Val) {
        mini_moka::sync::Cache::insert(self, key, v)
    }
    fn maintain(&self) {
        self.sync()
    }
    fn entries(&self) -> u64 {
        self.entry_count()
    }
    fn weight(&self) -> u64 {
        self.weighted_size()
    }
}

/// mini-moka looked up as the layer would have to: the token is a `&str` borrowed from the
/// request, and mini-moka takes only `&String`, so each lookup copies it.
struct MiniFromStr(mini_moka::sync::Cache<String, Val, quick_cache::DefaultHashBuilder>);

impl Bench for MiniFromStr {
    fn get(&self, key: &String) -> Option<Val> {
        let borrowed: &str = black_box(key.as_str());
        self.0.get(&borrowed.to_owned())
    }
    fn insert(&self, key: String, v: Val) {
        self.0.insert(key, v)
    }
    fn maintain(&self) {
        self.0.sync()
    }
    fn entries(&self) -> u64 {
        self.0.entry_count()
    }
    fn weight(&self) -> u64 {
        self.0.weighted_size()
    }
}

type Fast = quick_cache::DefaultHashBuilder; // foldhash, quick_cache's default
type Sip = std::hash::RandomState; // SipHash-1-3, moka's and mini-moka's default

// ---------------------------------------------------------------------------------------------
// Helpers.

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut st = seed;
    for i in (1..n).rev() {
        let j = (splitmix(&mut st) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A named cache under test.
struct Case {
    name: &'static str,
    cache: Arc<dyn DynBench>,
}

/// Object-safe wrapper: the timed loops are generic over the concrete type (see `run_*`), so the
/// dynamic call happens once per loop, not once per operation.
trait DynBench: Send + Sync {
    fn hit_loop(&self, keys: &[String], order: &[usize], ops: usize) -> Duration;
    fn miss_insert_loop(&self, fresh: Vec<String>) -> Duration;
    fn throughput(
        self: Arc<Self>,
        keys: Arc<Vec<String>>,
        threads: usize,
        one_key: bool,
        dur: Duration,
    ) -> f64;
    fn fill(&self, keys: &[String]);
}

trait BenchRef {
    fn get_ref(&self, key: &String) -> Option<Val>;
    fn insert_ref(&self, key: String, v: Val);
    fn maintain_ref(&self);
    fn entries_ref(&self) -> u64;
    fn weight_ref(&self) -> u64;
}

impl<C: Bench> BenchRef for C {
    fn get_ref(&self, key: &String) -> Option<Val> {
        self.get(key)
    }
    fn insert_ref(&self, key: String, v: Val) {
        self.insert(key, v)
    }
    fn maintain_ref(&self) {
        self.maintain()
    }
    fn entries_ref(&self) -> u64 {
        self.entries()
    }
    fn weight_ref(&self) -> u64 {
        self.weight()
    }
}

impl<C: Bench> DynBench for C {
    fn hit_loop(&self, keys: &[String], order: &[usize], ops: usize) -> Duration {
        let start = Instant::now();
        let mut found = 0usize;
        let mut j = 0usize;
        for _ in 0..ops {
            let k = &keys[order[j]];
            j += 1;
            if j == order.len() {
                j = 0;
            }
            if black_box(self.get(black_box(k))).is_some() {
                found += 1;
            }
        }
        let t = start.elapsed();
        assert!(found * 100 >= ops * 99, "hit loop found only {found} of {ops}");
        t
    }

    fn miss_insert_loop(&self, fresh: Vec<String>) -> Duration {
        let start = Instant::now();
        for (i, k) in fresh.into_iter().enumerate() {
            if black_box(self.get(&k)).is_none() {
                self.insert(k, val(i as u64));
            }
        }
        self.maintain();
        start.elapsed()
    }

    fn throughput(
        self: Arc<Self>,
        keys: Arc<Vec<String>>,
        threads: usize,
        one_key: bool,
        dur: Duration,
    ) -> f64 {
        let stop = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicU64::new(0));
        let barrier = Arc::new(Barrier::new(threads + 1));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (cache, keys, stop, total, barrier) =
                    (self.clone(), keys.clone(), stop.clone(), total.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let order = if one_key { vec![0] } else { shuffled(keys.len(), 77 + t as u64) };
                    barrier.wait();
                    let mut ops = 0u64;
                    let mut i = 0usize;
                    'run: loop {
                        for _ in 0..256 {
                            let k = &keys[order[i]];
                            i += 1;
                            if i == order.len() {
                                i = 0;
                            }
                            black_box(cache.get(black_box(k)));
                            ops += 1;
                        }
                        if stop.load(Ordering::Relaxed) {
                            break 'run;
                        }
                    }
                    total.fetch_add(ops, Ordering::Relaxed);
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        std::thread::sleep(dur);
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().unwrap();
        }
        let elapsed = start.elapsed();
        total.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
    }

    fn fill(&self, keys: &[String]) {
        for (i, k) in keys.iter().enumerate() {
            self.insert(k.clone(), val(i as u64));
            // Read each key again so every policy sees it as used (moka's TinyLFU admits by
            // frequency; S3-FIFO promotes what is read while on probation).
            self.get(k);
        }
        for k in keys {
            self.get(k);
        }
        self.maintain();
    }
}

fn all_cases() -> Vec<Case> {
    vec![
        Case { name: "quick_cache 0.7", cache: Arc::new(quick()) },
        Case {
            name: "moka 0.12 (SipHash, its default)",
            cache: Arc::new(moka_with(Sip::default())),
        },
        Case { name: "moka 0.12 (foldhash)", cache: Arc::new(moka_with(Fast::default())) },
        Case {
            name: "mini-moka 0.10 (SipHash, its default)",
            cache: Arc::new(mini_with(Sip::default())),
        },
        Case { name: "mini-moka 0.10 (foldhash)", cache: Arc::new(mini_with(Fast::default())) },
        Case {
            name: "mini-moka 0.10 (foldhash, lookup from &str)",
            cache: Arc::new(MiniFromStr(mini_with(Fast::default()))),
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// 1. Latency.

const PRESENT: usize = 5_000;

fn latency(cases: &[Case]) {
    let keys: Vec<String> = (0..PRESENT as u64).map(|i| token(i, 1)).collect();
    for c in cases {
        c.cache.fill(&keys);
    }
    let order = shuffled(PRESENT, 5);
    let one = [0usize];
    const OPS: usize = 1_000_000;
    const ROUNDS: usize = 7;
    let mut many = vec![Vec::new(); cases.len()];
    let mut single = vec![Vec::new(); cases.len()];
    // Warm-up, then rounds interleaved across the caches so drift in machine load hits all.
    for c in cases {
        c.cache.hit_loop(&keys, &order, OPS / 4);
    }
    for _ in 0..ROUNDS {
        for (i, c) in cases.iter().enumerate() {
            many[i].push(c.cache.hit_loop(&keys, &order, OPS).as_nanos() as f64 / OPS as f64);
            single[i].push(c.cache.hit_loop(&keys, &one, OPS).as_nanos() as f64 / OPS as f64);
        }
    }

    // Miss + insert at steady state: fill each cache past its bound first, so every insert
    // also evicts (or is refused admission).
    let filler: Vec<String> = (0..MAX_ENTRIES as u64).map(|i| token(i, 2)).collect();
    for c in cases {
        c.cache.fill(&filler);
    }
    const FRESH: usize = 20_000;
    let mut miss = vec![Vec::new(); cases.len()];
    let mut next = 0u64;
    for _ in 0..5 {
        for (i, c) in cases.iter().enumerate() {
            let fresh: Vec<String> = (0..FRESH as u64).map(|j| token(next + j, 3)).collect();
            next += FRESH as u64;
            let t = c.cache.miss_insert_loop(fresh);
            miss[i].push(t.as_nanos() as f64 / FRESH as f64);
        }
    }

    println!(
        "\n## 1. Latency, one thread (ns per operation; median of 7 rounds of 1,000,000 gets, 5 rounds of 20,000 miss+insert)\n"
    );
    println!(
        "| cache | hit, 5,000 keys in random order | vs quick_cache | hit, one key | vs quick_cache | miss + insert (full cache) | vs quick_cache |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (m0, s0, i0) =
        (median(many[0].clone()), median(single[0].clone()), median(miss[0].clone()));
    for (i, c) in cases.iter().enumerate() {
        let (m, s, x) =
            (median(many[i].clone()), median(single[i].clone()), median(miss[i].clone()));
        println!(
            "| {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} |",
            c.name,
            m,
            m / m0,
            s,
            s / s0,
            x,
            x / i0
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Throughput.

fn throughput(cases: &[Case]) {
    let keys = Arc::new((0..PRESENT as u64).map(|i| token(i, 11)).collect::<Vec<_>>());
    // Fresh caches, holding the same 5,000 keys.
    for c in cases {
        c.cache.fill(&keys);
    }
    let dur = Duration::from_millis(500);
    let shapes: [(usize, bool); 6] =
        [(1, false), (2, false), (64, false), (1, true), (2, true), (64, true)];
    let mut res = vec![vec![Vec::new(); shapes.len()]; cases.len()];
    for _ in 0..3 {
        for (s, &(threads, one)) in shapes.iter().enumerate() {
            for (i, c) in cases.iter().enumerate() {
                res[i][s].push(c.cache.clone().throughput(keys.clone(), threads, one, dur));
            }
        }
    }
    println!(
        "\n## 2. Hit throughput on one shared cache (million gets per second; median of 3 runs of 0.5 s; OS threads on 2 cores)\n"
    );
    println!(
        "| cache | 1 thread, 5,000 keys | 2 threads, 5,000 keys | 64 threads, 5,000 keys | 2 thr / 1 thr | 1 thread, one key | 2 threads, one key | 64 threads, one key | 2 thr / 1 thr |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, c) in cases.iter().enumerate() {
        let m: Vec<f64> = res[i].iter().map(|v| median(v.clone()) / 1e6).collect();
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            c.name,
            m[0],
            m[1],
            m[2],
            m[1] / m[0],
            m[3],
            m[4],
            m[5],
            m[4] / m[3]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Scan resistance.

const HOT: u64 = 8;
const FLOOD: u64 = 400_000;

struct ScanResult {
    during_hits: u64,
    during_total: u64,
    after_present: u64,
    peak_entries: u64,
    peak_weight: u64,
    final_entries: u64,
    final_weight: u64,
    secs: f64,
}

/// The layer's pattern: look the token up, and on a miss (verify and) insert it.
fn access<C: BenchRef + ?Sized>(c: &C, key: &String, i: u64) -> bool {
    if c.get_ref(key).is_some() {
        true
    } else {
        c.insert_ref(key.clone(), val(i));
        false
    }
}

fn scan(c: &dyn BenchRef, every: u64, maintain_at_checkpoints: bool) -> ScanResult {
    let hot: Vec<String> = (0..HOT).map(|i| token(1_000_000_000 + i, 21)).collect();
    for _ in 0..3 {
        for (i, k) in hot.iter().enumerate() {
            access(c, k, i as u64);
        }
    }
    let start = Instant::now();
    let (mut hits, mut total) = (0, 0);
    let (mut peak_entries, mut peak_weight) = (0, 0);
    for f in 0..FLOOD {
        let k = token(f, 22);
        if c.get_ref(&k).is_none() {
            c.insert_ref(k, val(f));
        }
        if (f + 1) % every == 0 {
            if maintain_at_checkpoints {
                c.maintain_ref();
            }
            for (i, k) in hot.iter().enumerate() {
                total += 1;
                if access(c, k, i as u64) {
                    hits += 1;
                }
            }
            peak_entries = peak_entries.max(c.entries_ref());
            peak_weight = peak_weight.max(c.weight_ref());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    c.maintain_ref();
    // Right after the flood: how many of the hot keys are still there?
    let after_present = hot.iter().filter(|k| c.get_ref(k).is_some()).count() as u64;
    c.maintain_ref();
    ScanResult {
        during_hits: hits,
        during_total: total,
        after_present,
        peak_entries,
        peak_weight,
        final_entries: c.entries_ref(),
        final_weight: c.weight_ref(),
        secs,
    }
}

fn scan_table() {
    println!(
        "\n## 3. Scan resistance: 8 hot keys read 3 times, then 400,000 distinct one-hit keys (get, miss, insert), each hot key read after every N flood keys (re-inserted on a miss)\n"
    );
    println!(
        "| cache | N | hot hits during flood | hot keys present after | peak entries / weight seen at checkpoints | final entries / weight | bound (weight) | flood time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for every in [1_000u64, 10_000] {
        let runs: Vec<(&str, Box<dyn BenchRef>, bool)> = vec![
            ("quick_cache 0.7", Box::new(quick()), false),
            ("moka 0.12", Box::new(moka_with(Fast::default())), false),
            (
                "moka 0.12, run_pending_tasks() at each checkpoint",
                Box::new(moka_with(Fast::default())),
                true,
            ),
            (
                "control: moka 0.12 with EvictionPolicy::lru() (no admission filter)",
                Box::new(
                    moka::sync::Cache::builder()
                        .max_capacity(MAX_BYTES)
                        .initial_capacity(MAX_ENTRIES)
                        .weigher(|k: &String, _: &Val| weight_of(k) as u32)
                        .eviction_policy(moka::policy::EvictionPolicy::lru())
                        .build_with_hasher(Fast::default()),
                ),
                false,
            ),
            ("mini-moka 0.10", Box::new(mini_with(Fast::default())), false),
            (
                "mini-moka 0.10, sync() at each checkpoint",
                Box::new(mini_with(Fast::default())),
                true,
            ),
        ];
        for (name, c, m) in runs {
            let r = scan(c.as_ref(), every, m);
            println!(
                "| {} | {} | {}/{} ({:.1} %) | {}/{} | {} / {:.2} MiB | {} / {:.2} MiB | {:.2} MiB | {:.2} s |",
                name,
                every,
                r.during_hits,
                r.during_total,
                100.0 * r.during_hits as f64 / r.during_total as f64,
                r.after_present,
                HOT,
                r.peak_entries,
                r.peak_weight as f64 / 1048576.0,
                r.final_entries,
                r.final_weight as f64 / 1048576.0,
                MAX_BYTES as f64 / 1048576.0,
                r.secs
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Memory: one child process per cache.

const MEM_KEYS: u64 = 1_000_000;

fn mem_child(which: &str) {
    let (rss0, _) = rss_kib();
    let c: Box<dyn BenchRef> = match which {
        "quick_cache" => Box::new(quick()),
        "moka" => Box::new(moka_with(Fast::default())),
        "mini-moka" => Box::new(mini_with(Fast::default())),
        "none" => Box::new(NoCache),
        _ => panic!("unknown cache {which}"),
    };
    let mut samples = Vec::new();
    let start = Instant::now();
    for i in 0..MEM_KEYS {
        let k = token(i, 31);
        if c.get_ref(&k).is_none() {
            c.insert_ref(k, val(i));
        }
        if (i + 1) % 250_000 == 0 {
            samples.push(rss_kib().0.saturating_sub(rss0));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let (before_maint, _) = rss_kib();
    c.maintain_ref();
    let (rss1, hwm) = rss_kib();
    println!(
        "{} {} {} {} {} {} {:.3} {}",
        rss1.saturating_sub(rss0),
        hwm.saturating_sub(rss0),
        c.entries_ref(),
        c.weight_ref(),
        before_maint.saturating_sub(rss0),
        rss0,
        secs,
        samples.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
    );
}

/// No cache at all: the same keys made and dropped, to show what the loop itself costs.
struct NoCache;

impl BenchRef for NoCache {
    fn get_ref(&self, _: &String) -> Option<Val> {
        None
    }
    fn insert_ref(&self, key: String, v: Val) {
        black_box((key, v));
    }
    fn maintain_ref(&self) {}
    fn entries_ref(&self) -> u64 {
        0
    }
    fn weight_ref(&self) -> u64 {
        0
    }
}

fn memory() {
    println!(
        "\n## 4. Memory: RSS growth over 1,000,000 distinct keys (get, miss, insert), one child process per cache, glibc malloc\n"
    );
    println!(
        "| cache | RSS growth at 250k / 500k / 750k / 1M keys | RSS growth at the end | peak RSS growth (VmHWM) | final entries / weight | time for 1M keys |"
    );
    println!("|---|---|---|---|---|---|");
    let exe = std::env::current_exe().unwrap();
    for which in ["none", "quick_cache", "moka", "mini-moka"] {
        let out = std::process::Command::new(&exe).args(["--mem", which]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let line = String::from_utf8(out.stdout).unwrap();
        let f: Vec<&str> = line.split_whitespace().collect();
        let kib = |s: &str| s.parse::<f64>().unwrap() / 1024.0;
        let samples: Vec<String> = f[7].split(',').map(|s| format!("{:.1}", kib(s))).collect();
        let name = if which == "none" { "no cache (keys made and dropped)" } else { which };
        println!(
            "| {} | {} MiB | {:.1} MiB (before pending tasks: {:.1}) | {:.1} MiB | {} / {:.2} MiB | {} s |",
            name,
            samples.join(" / "),
            kib(f[0]),
            kib(f[4]),
            kib(f[1]),
            f[2],
            f[3].parse::<f64>().unwrap() / 1048576.0,
            f[6]
        );
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "--mem" {
        mem_child(&args[2]);
        return;
    }
    let only = args.get(1).cloned().unwrap_or_default();
    let started = Instant::now();
    println!(
        "# cache-choice: {}-byte keys, weight 2*key_len+512 = {} bytes, bound {} MiB (sized for {} entries); load average at start {}",
        KEY_LEN,
        weight_of(&token(0, 0)),
        MAX_BYTES / 1048576,
        MAX_ENTRIES,
        loadavg()
    );
    if only.is_empty() || only == "latency" {
        latency(&all_cases());
    }
    if only.is_empty() || only == "throughput" {
        throughput(&all_cases());
    }
    if only.is_empty() || only == "scan" {
        scan_table();
    }
    if only.is_empty() || only == "memory" {
        memory();
    }
    println!("\nTotal {:.0} s; load average at end {}", started.elapsed().as_secs_f64(), loadavg());
}
