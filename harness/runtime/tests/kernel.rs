//! The kernel counters of `harness_runtime::kernel` against real threads. The counters are
//! process-wide, so everything is one test: no other test's threads run in this process.

use std::time::{Duration, Instant};

use harness_runtime::kernel::{between, cpu_check, retire_thread, sample, Sources};

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; sets this thread's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

fn spin_for(d: Duration) {
    let t = Instant::now();
    let mut x = 1u64;
    while t.elapsed() < d {
        x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
    }
}

#[test]
fn phases_read_cpu_time_and_run_queue_wait_from_the_kernel() {
    let src = Sources::own();
    let cpu = harness_runtime::limits::affinity()[0];

    // One busy thread: CPU time close to, and never above, its wall time.
    let a = sample(&src);
    spin_for(Duration::from_millis(300));
    let b = sample(&src);
    let busy = between(&a, &b, 1);
    assert!(busy.wall_sec >= 0.3, "{busy:?}");
    assert!(
        busy.cpu_sec > 0.1 && busy.cpu_sec <= busy.wall_sec * 1.05 + 0.02,
        "one spinning thread gets at most its wall time: {busy:?}"
    );

    // Sleeping costs no CPU and waits for none.
    std::thread::sleep(Duration::from_millis(200));
    let c = sample(&src);
    let idle = between(&b, &c, 1);
    assert!(idle.cpu_sec < 0.05, "{idle:?}");
    assert!(idle.run_queue_wait_sec < 0.05, "{idle:?}");
    assert!(!idle.contended, "{idle:?}");

    // Three spinning threads on one CPU for 0.4 s: each is runnable the whole time and runs
    // about a third of it, so together they wait about 0.8 s — and that wait outlives them.
    // Nobody else ran there, so it is not contention.
    let one = Sources {
        cpu_stat: None,
        cpus: vec![cpu],
    };
    let d = sample(&one);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                pin(cpu);
                spin_for(Duration::from_millis(400));
                retire_thread();
            });
        }
    });
    let e = sample(&one);
    let shared = between(&d, &e, 1);
    assert!(
        shared.run_queue_wait_sec > 0.4,
        "the ended threads' run-queue wait is kept: {shared:?}"
    );
    assert!(shared.other_cpu_sec.unwrap() < 0.1, "{shared:?}");
    assert!(!shared.contended, "waiting behind itself: {shared:?}");

    // Another process spinning on the same CPU: it takes about half of it, and that is
    // contention.
    let mut other = std::process::Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    // SAFETY: cpu_set_t is plain data; pins the child process to `cpu`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(
            other.id() as i32,
            std::mem::size_of::<libc::cpu_set_t>(),
            &set,
        );
    }
    let (f, g) = std::thread::spawn(move || {
        pin(cpu);
        let f = sample(&one);
        spin_for(Duration::from_millis(800));
        (f, sample(&one))
    })
    .join()
    .unwrap();
    let _ = other.kill();
    let _ = other.wait();
    let loaded = between(&f, &g, 1);
    assert!(
        loaded.other_cpu_sec.unwrap() > 0.2 && loaded.contended,
        "another process took part of the CPU: {loaded:?}"
    );
    assert!(
        shared.cpu_sec < shared.wall_sec * 1.1 + 0.05,
        "three threads on one CPU get one CPU: {shared:?}"
    );

    // The CPU check: two threads on one CPU get half of it each, in every attempt.
    let pinned_check = |threads: u32| {
        std::thread::spawn(move || {
            pin(cpu);
            cpu_check(threads, 0.2, 3, 0.9)
        })
        .join()
        .unwrap()
    };
    let check = pinned_check(2);
    assert_eq!(check.ratios.len(), 3, "every attempt fails: {check:?}");
    assert!(
        check.ratios.iter().all(|r| *r < 0.6 && *r > 0.3),
        "{check:?}"
    );
    assert!(!check.passed(0.9));
    assert!((check.parallelism - 2.0 * check.ratio()).abs() < 1e-9);
    assert!(check.sec >= 0.6, "{check:?}");
    // One thread alone on its CPU passes at once.
    let alone = pinned_check(1);
    assert_eq!(alone.ratios.len(), 1, "{alone:?}");
    assert!(alone.passed(0.9) && alone.ratio() <= 1.01, "{alone:?}");
    // The rate is per CPU-second: two threads sharing the CPU each got half of it, and ran as
    // fast on it as one thread alone (per wall second they would show half).
    let speed = check.rate / alone.rate;
    assert!(
        alone.rate > 0.0 && (0.7..1.4).contains(&speed),
        "{check:?} {alone:?}"
    );
    let none = cpu_check(0, 1.0, 3, 0.9);
    assert!(none.ratios.is_empty() && none.parallelism == 0.0 && none.rate == 0.0);
}
