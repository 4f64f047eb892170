//! sfcred's benchmark, run by `scripts/bench` on release builds. In one run, against
//! the Salesforce stand-in on loopback and a throwaway GNOME Keyring, it measures:
//! a cache hit beside the floor of process start, a cold mint beside the stand-in's own
//! answer time, 100 simultaneous callers on a cold cache, peak memory, and a fleet sharing
//! a Redis (Debian's redis-server on loopback): a machine's miss served from Redis beside a
//! mint, and N cold machines beside N that mint alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sfcred_stand_in::keyring::PrivateKeyring;
use sfcred_stand_in::{ConnectedApp, StandIn, key_and_certificate};

const HIT_RUNS: usize = 300;
const MINT_RUNS: usize = 60;
const CROWD: usize = 100;
const SPREAD_RUNS: usize = 40;
/// The fleet: machines, and simultaneous callers on each.
const FLEET_MACHINES: usize = 10;
const FLEET_CALLERS: usize = 10;
const FLEET_KEY: &str = "kOJOZz1x0Gq2b3Y8oK7b3q5b8n3m9F1pQ2r4S6t8V0w=";
const CONSUMER_KEY: &str = "3MVG9BENCHCONSUMERKEY";
const HSM_CONSUMER_KEY: &str = "3MVG9BENCHHSMCONSUMERKEY";
const USERNAME: &str = "bench@example.com";

/// One finished process: its wall time and peak resident memory.
struct Sample {
    wall: Duration,
    max_rss_kib: i64,
}

struct Bench {
    bin_dir: PathBuf,
    home: tempfile::TempDir,
    bus: PrivateKeyring,
}

impl Bench {
    fn command(&self, program: &str) -> Command {
        self.tool(self.bin_dir.join(program))
    }

    /// Any program (from PATH, or a path), in the benchmark's home and keychain.
    fn tool(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let home = self.home.path();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus.bus_address())
            .env("SOFTHSM2_CONF", home.join("softhsm2.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        cmd
    }

    /// Runs a process to its end, reaping it with wait4 to read its peak memory.
    fn sample(&self, program: &str, args: &[&str]) -> Sample {
        let start = Instant::now();
        let child = self.command(program).args(args).spawn().expect("spawn");
        let (status, usage) = wait4(child);
        let wall = start.elapsed();
        assert!(status == 0, "{program} {args:?} failed with wait status {status}");
        Sample { wall, max_rss_kib: usage.ru_maxrss }
    }
}

/// Reaps `child` (std's wait cannot report memory use).
fn wait4(child: std::process::Child) -> (i32, libc::rusage) {
    let pid = child.id();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own unreaped child; both pointers are valid for writes.
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    (status, usage)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: i64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub fn main() {
    let bin_dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    for program in ["sfcred", "floor"] {
        assert!(bin_dir.join(program).exists(), "build first: cargo build --release --workspace --bins");
    }
    let home = tempfile::Builder::new().prefix("sfcred-bench-").tempdir().unwrap();
    for dir in ["config", "data", "run"] {
        std::fs::create_dir(home.path().join(dir)).unwrap();
    }
    set_private(&home.path().join("run"));
    let bus = PrivateKeyring::start(home.path(), &home.path().join("run"), &home.path().join("data"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (key, cert) = key_and_certificate("sfcred bench");
    let app = ConnectedApp {
        consumer_key: CONSUMER_KEY.into(),
        certificate_pem: cert,
        approved_users: vec![USERNAME.into()],
    };
    let stand_in = StandIn::start(0, vec![app]).unwrap();
    let bench = Bench { bin_dir, home, bus };

    let key_file = bench.home.path().join("bench.key");
    std::fs::write(&key_file, &key).unwrap();
    let login = [
        "login",
        "--profile",
        "bench",
        "--username",
        USERNAME,
        "--client-id",
        CONSUMER_KEY,
        "--key-file",
        key_file.to_str().unwrap(),
        "--login-url",
        stand_in.url(),
    ];
    bench.sample("sfcred", &login);
    std::fs::remove_file(&key_file).unwrap();

    let hit = ["token", "--profile", "bench", "--format", "token"];
    let mint = ["token", "--profile", "bench", "--format", "token", "--refresh"];
    for _ in 0..20 {
        bench.sample("sfcred", &hit);
        bench.sample("floor", &[]);
    }

    // a. Hits and the floor, interleaved so that drift in the machine hits both alike.
    let requests_before = stand_in.token_requests();
    let (mut hits, mut floors, mut hit_rss) = (Vec::new(), Vec::new(), 0);
    for _ in 0..HIT_RUNS {
        let sample = bench.sample("sfcred", &hit);
        hit_rss = hit_rss.max(sample.max_rss_kib);
        hits.push(sample.wall);
        floors.push(bench.sample("floor", &[]).wall);
    }
    assert_eq!(stand_in.token_requests(), requests_before, "hits made no request");
    let (hit_median, floor_median) = (median(hits), median(floors));

    // b. Cold mints: keychain read, sign, POST, cache write.
    let handled_before = stand_in.handling_times().len();
    let (mut mints, mut mint_rss) = (Vec::new(), 0);
    for _ in 0..MINT_RUNS {
        let sample = bench.sample("sfcred", &mint);
        mint_rss = mint_rss.max(sample.max_rss_kib);
        mints.push(sample.wall);
    }
    let handling = median(stand_in.handling_times()[handled_before..].to_vec());
    let mint_median = median(mints);

    // c. A crowd on a cold cache.
    bench.sample("sfcred", &["invalidate", "--profile", "bench"]);
    let before = stand_in.token_requests();
    let start = Instant::now();
    let crowd: Vec<_> = (0..CROWD).map(|_| bench.command("sfcred").args(hit).spawn().unwrap()).collect();
    for child in crowd {
        assert_eq!(wait4(child).0, 0, "a caller in the crowd failed");
    }
    let crowd_wall = start.elapsed();
    let crowd_requests = stand_in.token_requests() - before;

    // d. Cold mints with a key on a SoftHSM2 token, beside the keychain key's.
    let token_mint = softhsm_profile(&bench, &stand_in).map(|()| {
        let mint = ["token", "--profile", "hsm", "--format", "token", "--refresh"];
        let (mut mints, mut rss) = (Vec::new(), 0);
        for _ in 0..MINT_RUNS {
            let sample = bench.sample("sfcred", &mint);
            rss = rss.max(sample.max_rss_kib);
            mints.push(sample.wall);
        }
        (median(mints), rss)
    });

    // f. A fleet sharing a Redis, its machines environment profiles in homes of their own
    //    (before the rotation below replaces the app's certificate for another key).
    let fleet = fleet_figures(&bench, &stand_in, &key);

    // e. Mints while a rotation's certificate spreads: each request meets the old or the new
    //    certificate at random, and a mint tries both keys until one is accepted.
    let next_cert = bench.home.path().join("bench.next.crt");
    let start = ["rotate", "start", "--profile", "bench", "--cert-out", next_cert.to_str().unwrap()];
    bench.sample("sfcred", &start);
    let certificate = std::fs::read_to_string(&next_cert).unwrap();
    stand_in.upload_certificate_spreading(CONSUMER_KEY, &certificate, usize::MAX).unwrap();
    let mut attempts = Vec::new();
    let mut spread_mints = Vec::new();
    for _ in 0..SPREAD_RUNS {
        let before = stand_in.token_requests();
        // sample() fails the benchmark on a failed call.
        let sample = bench.sample("sfcred", &mint);
        attempts.push(stand_in.token_requests() - before);
        spread_mints.push(sample.wall);
    }
    let mean_attempts = attempts.iter().sum::<usize>() as f64 / attempts.len() as f64;
    let most_attempts = attempts.iter().max().copied().unwrap_or(0);

    let ratio = hit_median.as_secs_f64() / floor_median.as_secs_f64();
    let above = mint_median.saturating_sub(handling);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("sfcred benchmark on {}", machine());
    println!("| measure | value | target | |");
    println!("|---|---|---|---|");
    println!("| cache hit, whole process (median of {HIT_RUNS}) | {} | | |", ms(hit_median));
    println!(
        "| floor: minimal Rust binary printing a line (median of {HIT_RUNS}) | {} | | |",
        ms(floor_median)
    );
    println!("| hit / floor | {ratio:.2}x | <= 1.5x | {} |", verdict(ratio <= 1.5));
    println!("| cold mint, whole process (median of {MINT_RUNS}) | {} | | |", ms(mint_median));
    println!("| stand-in's own answer time (median) | {} | | |", ms(handling));
    println!(
        "| cold mint above the stand-in | {} | <= 25 ms | {} |",
        ms(above),
        verdict(above <= Duration::from_millis(25))
    );
    println!(
        "| {CROWD} callers at once, cold cache | {crowd_requests} token request(s), {} wall | 1 request | {} |",
        ms(crowd_wall),
        verdict(crowd_requests == 1)
    );
    match token_mint {
        Ok((median, rss)) => println!(
            "| cold mint with a SoftHSM2 key (PKCS#11), whole process (median of {MINT_RUNS}); peak RSS | {}; {} | | |",
            ms(median),
            mib(rss)
        ),
        Err(reason) => println!("| cold mint with a SoftHSM2 key | not measured: {reason} | | |"),
    }
    println!(
        "| mint during a random certificate spread ({SPREAD_RUNS} mints): attempts per call, mean / most; median wall | {mean_attempts:.2} / {most_attempts}; {} | 0 failed | met |",
        ms(median(spread_mints))
    );
    match fleet {
        Ok(fleet) => {
            println!(
                "| a machine's miss served from the fleet's Redis, whole process (median of {MINT_RUNS}) | {} | | |",
                ms(fleet.served)
            );
            println!(
                "| the same miss minted, no shared cache, whole process (median of {MINT_RUNS}) | {} | | |",
                ms(fleet.minted)
            );
            println!(
                "| {FLEET_MACHINES} cold machines x {FLEET_CALLERS} callers, one Redis | {} token request(s), {} wall | 1 request | {} |",
                fleet.shared_requests,
                ms(fleet.shared_wall),
                verdict(fleet.shared_requests == 1)
            );
            println!(
                "| {FLEET_MACHINES} cold machines x {FLEET_CALLERS} callers, each alone | {} token request(s), {} wall | | |",
                fleet.alone_requests,
                ms(fleet.alone_wall)
            );
        }
        Err(reason) => println!("| the fleet's Redis | not measured: {reason} | | |"),
    }
    println!(
        "| peak RSS, cache hit | {} | < 12 MB | {} |",
        mib(hit_rss),
        verdict(hit_rss * 1024 < 12_000_000)
    );
    println!(
        "| peak RSS, cold mint | {} | < 12 MB | {} |",
        mib(mint_rss),
        verdict(mint_rss * 1024 < 12_000_000)
    );
}

/// What a fleet sharing a Redis costs and saves.
struct Fleet {
    served: Duration,
    minted: Duration,
    shared_requests: usize,
    shared_wall: Duration,
    alone_requests: usize,
    alone_wall: Duration,
}

/// A redis-server on a free loopback port; killed when dropped.
struct RedisServer {
    url: String,
    process: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn start_redis() -> Result<RedisServer, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let process = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server: {e} (apt-get install redis-server)"))?;
    // Ready when it answers a PING.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let ping = Command::new("redis-cli").args(["-p", &port.to_string(), "ping"]).output();
        if ping.is_ok_and(|out| out.stdout.starts_with(b"PONG")) {
            return Ok(RedisServer { url: format!("redis://127.0.0.1:{port}"), process, _dir: dir });
        }
        std::thread::yield_now();
    }
    Err("redis-server did not answer within 10 s".into())
}

/// sfcred on a machine of the fleet: a home of its own under `machines`, the environment
/// its profile, sharing `redis` when given.
fn fleet_sfcred(
    bench: &Bench,
    machine: &Path,
    stand_in: &StandIn,
    key: &str,
    redis: Option<&str>,
) -> Command {
    let mut command = bench.command("sfcred");
    std::fs::create_dir_all(machine.join("run")).unwrap();
    set_private(&machine.join("run"));
    command
        .env("HOME", machine)
        .env("XDG_RUNTIME_DIR", machine.join("run"))
        .env("XDG_CONFIG_HOME", machine.join("config"))
        .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
        .env("SFCRED_USERNAME", USERNAME)
        .env("SFCRED_PRIVATE_KEY", key)
        .env("SFCRED_LOGIN_URL", stand_in.url())
        .args(["token", "--format", "token"]);
    if let Some(url) = redis {
        command.env("SFCRED_CACHE_URL", url).env("SFCRED_CACHE_KEY", FLEET_KEY);
    }
    command
}

fn fleet_figures(bench: &Bench, stand_in: &StandIn, key: &str) -> Result<Fleet, String> {
    let redis = start_redis()?;
    let machines = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut next = 0;
    let mut new_machine = || {
        next += 1;
        machines.path().join(format!("m{next}"))
    };
    let timed = |mut command: Command| {
        let start = Instant::now();
        let status = command.status().expect("spawn sfcred");
        assert!(status.success(), "a fleet call failed");
        start.elapsed()
    };
    // One machine mints for the fleet; each new machine's miss is then served from Redis.
    timed(fleet_sfcred(bench, &new_machine(), stand_in, key, Some(&redis.url)));
    let before = stand_in.token_requests();
    let served: Vec<Duration> = (0..MINT_RUNS)
        .map(|_| timed(fleet_sfcred(bench, &new_machine(), stand_in, key, Some(&redis.url))))
        .collect();
    assert_eq!(stand_in.token_requests(), before, "served from Redis, no mint");
    let minted: Vec<Duration> =
        (0..MINT_RUNS).map(|_| timed(fleet_sfcred(bench, &new_machine(), stand_in, key, None))).collect();
    // N cold machines of M callers each, with a fresh Redis entry (a new fleet key would
    // do; dropping the entry is simpler).
    let flush = Command::new("redis-cli").args(["-u", &redis.url, "flushall"]).output();
    assert!(flush.is_ok_and(|out| out.status.success()), "redis-cli flushall");
    let mut crowd = |redis: Option<&str>| {
        let homes: Vec<PathBuf> = (0..FLEET_MACHINES).map(|_| new_machine()).collect();
        let before = stand_in.token_requests();
        let start = Instant::now();
        let children: Vec<_> = homes
            .iter()
            .flat_map(|home| {
                (0..FLEET_CALLERS)
                    .map(move |_| fleet_sfcred(bench, home, stand_in, key, redis).spawn().unwrap())
            })
            .collect();
        for child in children {
            assert_eq!(wait4(child).0, 0, "a caller of the fleet failed");
        }
        (stand_in.token_requests() - before, start.elapsed())
    };
    let (shared_requests, shared_wall) = crowd(Some(&redis.url));
    let (alone_requests, alone_wall) = crowd(None);
    Ok(Fleet {
        served: median(served),
        minted: median(minted),
        shared_requests,
        shared_wall,
        alone_requests,
        alone_wall,
    })
}

/// A profile `hsm` whose key was made on a SoftHSM2 token and whose certificate went to a
/// second connected app.
fn softhsm_profile(bench: &Bench, stand_in: &StandIn) -> Result<(), String> {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    const PIN: &str = "246810";
    if !Path::new(MODULE).exists() {
        return Err(format!("{MODULE} is missing (apt-get install softhsm2)"));
    }
    let home = bench.home.path();
    std::fs::create_dir_all(home.join("softhsm")).unwrap();
    let config =
        format!("directories.tokendir = {}\nobjectstore.backend = file\n", home.join("softhsm").display());
    std::fs::write(home.join("softhsm2.conf"), config).unwrap();
    let init = ["--init-token", "--free", "--label", "bench", "--pin", PIN, "--so-pin", "13579111"];
    let status =
        bench.tool("softhsm2-util").args(init).status().map_err(|e| format!("softhsm2-util: {e}"))?;
    if !status.success() {
        return Err("softhsm2-util could not make a token".into());
    }
    // The PIN from a file: sfcred refuses one on its command line.
    let pin_file = home.join("pin");
    std::fs::write(&pin_file, PIN).unwrap();
    let uri = format!("pkcs11:token=bench;object=hsm?module-path={MODULE}&pin-source={}", pin_file.display());
    bench.sample(
        "sfcred",
        &[
            "keygen",
            "--profile",
            "hsm",
            "--pkcs11",
            &uri,
            "--cert-out",
            home.join("hsm.crt").to_str().unwrap(),
        ],
    );
    let certificate_pem = std::fs::read_to_string(home.join("hsm.crt")).unwrap();
    let app = ConnectedApp {
        consumer_key: HSM_CONSUMER_KEY.into(),
        certificate_pem,
        approved_users: vec![USERNAME.into()],
    };
    stand_in.add_app(app)?;
    let login = [
        "login",
        "--profile",
        "hsm",
        "--pkcs11",
        &uri,
        "--username",
        USERNAME,
        "--client-id",
        HSM_CONSUMER_KEY,
        "--login-url",
        stand_in.url(),
    ];
    bench.sample("sfcred", &login);
    Ok(())
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{} ({cores} cores), Linux {}", model.unwrap_or("unknown CPU"), kernel.trim())
}
