//! One token for a fleet (issue 21): machines (each a home of its own, an environment
//! profile) share a real Redis (Debian's redis-server, started here on loopback; also a
//! Redis Cluster of three primaries), the token sealed under the fleet's key.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use sfcred_stand_in::Behaviour;

use crate::support::{CONSUMER_KEY, PipeReader, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, app_keys};

const FLEET_KEY: &str = "kOJOZz1x0Gq2b3Y8oK7b3q5b8n3m9F1pQ2r4S6t8V0w=";
const OTHER_FLEET_KEY: &str = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";
const PASSWORD: &str = "redis-pass-0451";

/// A redis-server on a free loopback port, in a directory of its own; killed when dropped.
pub struct Redis {
    port: u16,
    process: Child,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Redis {
    pub fn start(extra: &[&str]) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut process = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-server runs (scripts/test installs it)");
        PipeReader::new(process.stdout.take().unwrap()).read_until("Ready to accept connections", TIMEOUT);
        Redis { port, process, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// Every value Redis holds, raw.
    pub fn values(&self, password: Option<&str>) -> Vec<Vec<u8>> {
        let url = match password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => self.url(),
        };
        let mut redis = redis::Client::open(url).unwrap().get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut redis).unwrap();
        keys.iter()
            .filter_map(|key| redis::cmd("GET").arg(key).query::<Option<Vec<u8>>>(&mut redis).ok().flatten())
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three redis-servers made one cluster of three primaries with `redis-cli --cluster create`.
fn cluster() -> Vec<Redis> {
    let nodes: Vec<Redis> = (0..3)
        .map(|_| Redis::start(&["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]))
        .collect();
    let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output_within(TIMEOUT)
        .unwrap();
    assert!(out.status.success(), "redis-cli --cluster create: {}", String::from_utf8_lossy(&out.stdout));
    // The nodes agree on the slots a moment after: wait for that state, not for a time.
    let deadline = std::time::Instant::now() + TIMEOUT;
    for node in &nodes {
        loop {
            let info =
                Command::new("redis-cli").args(["-p", &node.port.to_string(), "cluster", "info"]).output();
            if String::from_utf8_lossy(&info.unwrap().stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the cluster never came up");
            std::thread::yield_now();
        }
    }
    nodes
}

/// A machine of the fleet: a home of its own, the environment as its profile.
struct Machine {
    home: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        Machine { home: tempfile::tempdir().unwrap() }
    }

    fn sfcred(&self, env: &TestEnv, cache_url: &str, cache_key: &str) -> Command {
        let home = self.home.path();
        let mut command = env.sfcred();
        command
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .current_dir(home)
            .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
            .env("SFCRED_USERNAME", USERNAME)
            .env("SFCRED_PRIVATE_KEY", &app_keys().0)
            .env("SFCRED_LOGIN_URL", env.stand_in.url())
            .env("SFCRED_CACHE_URL", cache_url)
            .env("SFCRED_CACHE_KEY", cache_key);
        command
    }

    fn cache_file(&self) -> PathBuf {
        let dir = self.home.path().join("run/sfcred");
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "token"))
            .expect("a cached token")
    }
}

/// `machines` × `callers` simultaneous `sfcred token --format token`; each caller's outcome.
fn crowd(
    env: &TestEnv,
    machines: &[Machine],
    callers: usize,
    url: &str,
    key: &str,
    during: impl FnOnce(),
) -> Vec<Run> {
    let children: Vec<Child> = machines
        .iter()
        .flat_map(|machine| {
            (0..callers).map(move |_| {
                machine
                    .sfcred(env, url, key)
                    .args(["token", "--format", "token"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
        })
        .collect();
    during();
    children.into_iter().map(|child| Run::of(child.output_within(TIMEOUT).unwrap())).collect()
}

/// Every caller got the one token.
fn one_token(runs: &[Run]) -> String {
    let first = runs[0].stdout.trim().to_owned();
    for run in runs {
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stdout.trim(), first, "one token for everyone: {run:?}");
    }
    first
}

fn gated_crowd(env: &TestEnv, machines: &[Machine], url: &str) -> Vec<Run> {
    // The first request waits until every caller has started and queued behind it.
    env.stand_in.queue_behaviours(&[Behaviour::Gated]);
    crowd(env, machines, 30, url, FLEET_KEY, || {
        env.stand_in.wait_for_token_requests(1, TIMEOUT);
        env.stand_in.open_gate();
    })
}

#[test]
fn three_machines_of_thirty_callers_cause_one_token_request() {
    let env = TestEnv::without_keychain();
    let redis = Redis::start(&[]);
    let machines: Vec<Machine> = (0..3).map(|_| Machine::new()).collect();
    let runs = gated_crowd(&env, &machines, &redis.url());
    let token = one_token(&runs);
    assert_eq!(env.stand_in.token_requests(), 1, "one request for the fleet");
    // Redis holds the token sealed: no token text, on any key.
    let values = redis.values(None);
    assert!(!values.is_empty());
    assert!(values.iter().all(|v| !String::from_utf8_lossy(v).contains(&token[..20])), "sealed");
    // Each machine keeps its own copy: a later call there asks no one.
    for machine in &machines {
        assert!(std::fs::read_to_string(machine.cache_file()).unwrap().contains(&token));
    }
}

#[test]
fn a_redis_cluster_serves_the_fleet_as_well() {
    let env = TestEnv::without_keychain();
    let nodes = cluster();
    let urls: Vec<String> = nodes.iter().map(Redis::url).collect();
    let machines: Vec<Machine> = (0..3).map(|_| Machine::new()).collect();
    let runs = gated_crowd(&env, &machines, &urls.join(","));
    one_token(&runs);
    assert_eq!(env.stand_in.token_requests(), 1, "one request through the cluster");
}

#[test]
fn redis_killed_in_the_middle_of_a_crowd_fails_no_caller() {
    let env = TestEnv::without_keychain();
    let mut redis = Redis::start(&[]);
    let machines: Vec<Machine> = (0..3).map(|_| Machine::new()).collect();
    env.stand_in.queue_behaviours(&[Behaviour::Gated]);
    let url = redis.url();
    let runs = crowd(&env, &machines, 30, &url, FLEET_KEY, || {
        env.stand_in.wait_for_token_requests(1, TIMEOUT);
        redis.kill();
        env.stand_in.open_gate();
    });
    for run in &runs {
        assert_eq!(run.code, 0, "every caller is served: {run:?}");
        assert!(run.stdout.starts_with("00DSTANDIN"), "{run:?}");
    }
    assert!(env.stand_in.token_requests() <= 3, "at most one per machine: {}", env.stand_in.token_requests());
    assert!(runs.iter().any(|r| r.stderr.contains("shared cache") && r.stderr.contains("warning")));
}

/// A Redis that takes connections and never answers: a mint waits out the shared cache's
/// timeout once, not again to count its login.
#[test]
fn a_silent_redis_is_waited_for_once_per_call() {
    let env = TestEnv::without_keychain();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (accepted, counted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream.unwrap());
            accepted.send(()).unwrap();
        }
    });
    let run =
        Run::of(Machine::new().sfcred(&env, &url, FLEET_KEY).args(["token"]).output_within(TIMEOUT).unwrap());
    let run = run.success();
    assert_eq!(run.stderr.matches("warning").count(), 1, "one warning: {run:?}");
    assert_eq!(env.stand_in.token_requests(), 1);
    assert_eq!(counted.try_iter().count(), 1, "one connection to the silent Redis");
}

#[test]
fn another_fleet_s_key_opens_nothing_and_passwords_never_show() {
    let env = TestEnv::without_keychain();
    let redis = Redis::start(&["--requirepass", PASSWORD]);
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port);
    let (first, second) = (Machine::new(), Machine::new());
    let run = |machine: &Machine, key: &str, args: &[&str]| {
        Run::of(machine.sfcred(&env, &url, key).args(args).output_within(TIMEOUT).unwrap())
    };
    run(&first, FLEET_KEY, &["-v", "token"]).success();
    let other = run(&second, OTHER_FLEET_KEY, &["-v", "token"]).success();
    assert!(
        other.stderr.contains("does not open with this SFCRED_CACHE_KEY"),
        "a miss, with a warning: {other:?}"
    );
    assert_eq!(env.stand_in.token_requests(), 2, "the other fleet minted its own");
    let short = run(&Machine::new(), "short", &["token"]).success();
    assert!(short.stderr.contains("32 at least"), "{short:?}");

    let doctor = run(&first, FLEET_KEY, &["doctor", "--offline", "--json"]).success();
    let checks = doctor.json();
    let shared = checks.as_array().unwrap().iter().find(|c| c["name"] == "shared cache").unwrap().clone();
    assert_eq!(shared["status"], "ok", "{checks}");
    assert!(shared["detail"].as_str().unwrap().contains("answers in"), "{shared}");
    let wrong = format!("redis://:not-{PASSWORD}@127.0.0.1:{}", redis.port);
    let refused = Run::of(
        first
            .sfcred(&env, &wrong, FLEET_KEY)
            .args(["-v", "token", "--refresh"])
            .output_within(TIMEOUT)
            .unwrap(),
    )
    .success();
    assert!(refused.stderr.contains("going on without it"), "{refused:?}");
    for said in [&other.stderr, &doctor.stdout, &refused.stderr, &short.stderr] {
        assert!(!said.contains(PASSWORD), "the password shows: {said}");
    }
    assert!(refused.stderr.contains("***@127.0.0.1"), "shown, without the password: {refused:?}");
}
